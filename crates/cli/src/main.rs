//! `lakeplane`: run the platform on one machine.
//!
//! - `lakeplane dev` starts the API (the same routers the Lambda functions serve) over an embedded
//!   state store in a data directory, and worker processes that run tasks against Delta tables there.
//! - `lakeplane worker` runs one worker process (what `dev` starts, and what an EC2 node will run).

mod demo;
mod dev;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lakeplane_control::Control;
use lakeplane_engine::access::AccessPolicy;
use lakeplane_engine::storage::StorageRoot;
use lakeplane_engine::Engine;
use lakeplane_store::embedded::EmbeddedStore;
use lakeplane_worker::{Worker, WorkerConfig};

#[derive(Parser)]
#[command(
    name = "lakeplane",
    version,
    about = "An open lakehouse platform for AWS, runnable on one machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole platform locally: the API plus worker processes.
    Dev(dev::DevArgs),
    /// Run one worker that claims and runs tasks from the state in a data directory.
    Worker(WorkerArgs),
}

/// What SQL may read, besides the data directory.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct AccessArgs {
    /// A local folder SQL may read (read_files, sql_task.file.path); repeatable. The data directory
    /// and this repository's examples/ are always readable; nothing else on the machine is.
    #[arg(long = "allow-path", value_name = "DIR")]
    pub allow_paths: Vec<PathBuf>,
    /// An S3 bucket SQL may read; repeatable. Without any, every bucket your AWS credentials reach.
    #[arg(long = "allow-bucket", value_name = "BUCKET")]
    pub allow_buckets: Vec<String>,
}

impl AccessArgs {
    /// The policy for a data directory.
    pub fn policy(&self, data_dir: &std::path::Path) -> AccessPolicy {
        let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let roots = [data_dir.to_path_buf(), examples]
            .into_iter()
            .chain(self.allow_paths.iter().cloned());
        let buckets = (!self.allow_buckets.is_empty()).then(|| self.allow_buckets.clone());
        AccessPolicy::local(roots).with_s3_buckets(buckets)
    }

    /// The same flags, for a worker process.
    pub fn to_args(&self) -> Vec<String> {
        let paths = self
            .allow_paths
            .iter()
            .flat_map(|p| ["--allow-path".to_string(), p.display().to_string()]);
        let buckets = self
            .allow_buckets
            .iter()
            .flat_map(|b| ["--allow-bucket".to_string(), b.clone()]);
        paths.chain(buckets).collect()
    }
}

#[derive(clap::Args, Clone)]
pub struct WorkerArgs {
    /// The data directory (state.db and warehouse/).
    #[arg(long, default_value = ".lakeplane")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub access: AccessArgs,
    /// This worker's id (unique among live workers).
    #[arg(long)]
    pub id: Option<String>,
    /// Tasks run at once.
    #[arg(long, default_value_t = 4)]
    pub slots: usize,
    /// Seconds a claimed task stays leased without a heartbeat.
    #[arg(long, default_value_t = 30)]
    pub lease_seconds: u64,
    /// Milliseconds between heartbeats.
    #[arg(long, default_value_t = 5000)]
    pub heartbeat_ms: u64,
    /// The longest wait, in milliseconds, between looks for due tasks while idle.
    #[arg(long, default_value_t = 100)]
    pub poll_ms: u64,
    /// The most memory, in MiB, one task's query may hold; past it a query spills what it can and
    /// otherwise fails cleanly.
    #[arg(long, default_value_t = 2048)]
    pub query_memory_mib: usize,
    /// Exit when the process with this id stops being this worker's parent (`lakeplane dev` passes
    /// its own id, so a worker orphaned even during its start-up exits).
    #[arg(long, value_name = "PID")]
    pub exit_with_parent: Option<u32>,
}

/// The state database and the warehouse inside a data directory.
pub struct Local {
    pub control: Control,
    pub engine: Engine,
}

/// The platform over a data directory: the embedded state store and the engine, with the one AWS
/// configuration (standard chain: environment, profile, SSO, instance role) for reading S3.
pub async fn open_local(data_dir: &std::path::Path, access: &AccessArgs) -> anyhow::Result<Local> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let store = EmbeddedStore::open(data_dir.join("state.db"))
        .await
        .with_context(|| format!("cannot open {}", data_dir.join("state.db").display()))?;
    let root = StorageRoot::local(&data_dir.join("warehouse"))?;
    let aws = local_aws_config().await;
    Ok(Local {
        control: Control::new(Arc::new(store)),
        engine: Engine::new(root, access.policy(data_dir), Some(aws))?,
    })
}

/// The AWS configuration of a local run: the standard chain, except that the region comes from the
/// environment or the profile (else `us-east-1`), never from EC2 instance metadata, which a laptop
/// does not have and would wait for at every start. Credentials are resolved when first used.
async fn local_aws_config() -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableRegionProvider;
    use aws_config::meta::region::RegionProviderChain;
    use aws_config::profile::ProfileFileRegionProvider;
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::new())
        .or_else("us-east-1");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region)
        .load()
        .await
}

async fn run_worker(args: WorkerArgs) -> anyhow::Result<()> {
    let local = tokio::select! {
        local = open_local(&args.data_dir, &args.access) => local?,
        _ = parent_gone(args.exit_with_parent) => return Ok(()),
    };
    let id = args.id.unwrap_or_else(|| {
        format!(
            "worker-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().to_string()[..8]
        )
    });
    let config = WorkerConfig {
        slots: args.slots,
        lease: Duration::from_secs(args.lease_seconds.max(1)),
        heartbeat: Duration::from_millis(args.heartbeat_ms.max(10)),
        poll: Duration::from_millis(args.poll_ms.max(1)),
        memory_budget: args.query_memory_mib.max(1) * 1024 * 1024,
        ..WorkerConfig::new(id)
    };
    let parent = args.exit_with_parent;
    let shutdown = async move {
        tokio::select! {
            _ = dev::shutdown_signal() => {}
            _ = parent_gone(parent) => {
                tracing::warn!("the parent process exited; stopping");
            }
        }
    };
    Worker::new(local.control, local.engine, config)
        .run(shutdown)
        .await;
    Ok(())
}

/// Completes when `parent` is no longer this process's parent (it exited and this process was
/// re-parented); never when `parent` is `None`.
async fn parent_gone(parent: Option<u32>) {
    #[cfg(unix)]
    if let Some(parent) = parent {
        while std::os::unix::process::parent_id() == parent {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        return;
    }
    std::future::pending::<()>().await
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(
            "warn,lakeplane=info,lakeplane_api=info,lakeplane_control=info,lakeplane_worker=info,lakeplane_engine=info",
        ));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    match Cli::parse().command {
        Command::Dev(args) => dev::run(args).await,
        Command::Worker(args) => run_worker(args).await,
    }
}

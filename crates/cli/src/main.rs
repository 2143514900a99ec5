//! `lakeplane`: run the platform on one machine.
//!
//! - `lakeplane dev` starts the API (the same routers the Lambda functions serve) over an embedded
//!   state store in a data directory, and worker processes that run tasks against Delta tables there.
//! - `lakeplane worker` runs one worker process (what `dev` starts, and what an EC2 node runs),
//!   over local state or over DynamoDB and S3 ([`platform`]).
//! - `lakeplane token create` adds an API token to a state store (how a deployed stack gets its
//!   first admin token).
//! - `lakeplane udf build` builds a UDF for WebAssembly and checks it against the UDF ABI.

/// Prints a line to stdout, never failing: a server whose stdout reader went away (`| head`, a closed
/// terminal) keeps serving instead of panicking on the broken pipe.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
pub(crate) use say;

mod demo;
mod dev;
mod platform;
mod supervise;
mod udf;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use lakeplane_control::DEFAULT_QUEUE;
use lakeplane_engine::access::AccessPolicy;
use lakeplane_worker::{Worker, WorkerConfig};
use platform::Locations;

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
    /// Run one worker that claims and runs tasks (local state, or DynamoDB and S3).
    Worker(WorkerArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Work with WebAssembly UDFs.
    #[command(subcommand)]
    Udf(UdfCommand),
}

#[derive(Subcommand)]
enum UdfCommand {
    /// Build a UDF crate (or one .rs file) into a .wasm module and check it.
    Build(udf::BuildArgs),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token (printed once; only its SHA-256 hash is stored) for a user.
    Create(TokenArgs),
}

#[derive(clap::Args)]
struct TokenArgs {
    /// The data directory (for the default local state).
    #[arg(long, default_value = ".lakeplane")]
    data_dir: PathBuf,
    #[command(flatten)]
    locations: Locations,
    /// The user the token authenticates.
    #[arg(long, default_value = "admin")]
    user: String,
    /// Use this token instead of a random one.
    #[arg(long, env = "LAKEPLANE_NEW_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Make the user an admin (a member of `admins`), who may do everything.
    #[arg(long)]
    admin: bool,
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
    /// The data directory (state.db and warehouse/ unless --state and --storage say otherwise).
    #[arg(long, default_value = ".lakeplane")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub locations: Locations,
    #[command(flatten)]
    pub access: AccessArgs,
    /// How many times a task may lose its worker (its lease expiring unrenewed) before it ends
    /// FAILED rather than running again.
    #[arg(long, default_value_t = lakeplane_core::run::MAX_LEASE_LOSSES)]
    pub max_lease_losses: u32,
    /// A work queue to claim from; repeatable, in order of preference.
    #[arg(long = "queue", value_name = "NAME", default_values_t = [DEFAULT_QUEUE.to_string()])]
    pub queues: Vec<String>,
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
    /// The size, in KiB, statement results are cut into chunks at.
    #[arg(long, default_value_t = 4096)]
    pub result_chunk_kib: usize,
    /// The cluster this worker is a node of (it serves the cluster's queue, reports in, and drains
    /// when told).
    #[arg(long, requires = "node_id")]
    pub cluster_id: Option<String>,
    /// This node's id (the EC2 instance id).
    #[arg(long, requires = "cluster_id")]
    pub node_id: Option<String>,
    /// Where a spot interruption notice appears: `imds` (the instance metadata service),
    /// `imds=URL`, `file://DIR` (`DIR/spot/instance-action`), or `none`.
    #[arg(long, default_value = "none")]
    pub interruption_notice: String,
    /// Whether this worker runs SQL warehouses' statements (a warehouse's own node always does).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub serve_warehouses: bool,
    /// Milliseconds between a node's reports (the interruption notice is read every 250 ms).
    #[arg(long, default_value_t = 5000)]
    pub report_ms: u64,
    /// Exit when the process with this id stops being this worker's parent (`lakeplane dev` passes
    /// its own id, so a worker orphaned even during its start-up exits).
    #[arg(long, value_name = "PID")]
    pub exit_with_parent: Option<u32>,
}

async fn run_worker(args: WorkerArgs) -> anyhow::Result<()> {
    let settings = lakeplane_control::Settings {
        max_lease_losses: args.max_lease_losses,
        ..Default::default()
    };
    let local = tokio::select! {
        local = platform::open(&args.data_dir, &args.locations, &args.access, settings) => local?,
        _ = parent_gone(args.exit_with_parent) => return Ok(()),
    };
    let id = args.id.unwrap_or_else(|| {
        format!(
            "worker-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().to_string()[..8]
        )
    });
    let results = args
        .locations
        .result_store(&args.data_dir, &local.engine, None)?;
    let node = match (&args.cluster_id, &args.node_id) {
        (Some(cluster_id), Some(node_id)) => Some(lakeplane_worker::NodeConfig {
            cluster_id: cluster_id.clone(),
            node_id: node_id.clone(),
            notice: lakeplane_worker::Notice::parse(&args.interruption_notice)
                .map_err(anyhow::Error::msg)?,
            report_every: Duration::from_millis(args.report_ms.max(50)),
            notice_every: Duration::from_millis(250),
        }),
        _ => None,
    };
    let config = WorkerConfig {
        // A cluster's node serves its cluster; warehouses are served by the platform's workers.
        results: node.is_none().then(|| {
            std::sync::Arc::new(results) as std::sync::Arc<dyn lakeplane_core::sql::ResultStore>
        }),
        node,
        chunk_bytes: args.result_chunk_kib.max(1) * 1024,
        slots: args.slots,
        lease: Duration::from_secs(args.lease_seconds.max(1)),
        heartbeat: Duration::from_millis(args.heartbeat_ms.max(10)),
        poll: Duration::from_millis(args.poll_ms.max(1)),
        memory_budget: args.query_memory_mib.max(1) * 1024 * 1024,
        queues: args
            .queues
            .iter()
            .filter(|q| !q.starts_with("warehouse:"))
            .cloned()
            .collect(),
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
    // Logs go to stderr (colored only on a terminal); stdout carries what the command prints for
    // its user.
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logging();
    match Cli::parse().command {
        Command::Dev(args) => dev::run(args).await,
        Command::Worker(args) => run_worker(args).await,
        Command::Token(TokenCommand::Create(args)) => create_token(args).await,
        Command::Udf(UdfCommand::Build(args)) => udf::build(args),
    }
}

async fn create_token(args: TokenArgs) -> anyhow::Result<()> {
    let aws = platform::local_aws_config().await;
    let store = args.locations.store(&args.data_dir, &aws).await?;
    let control = lakeplane_control::Control::new(store);
    let token = args
        .token
        .unwrap_or_else(|| format!("lp-{}", uuid::Uuid::new_v4().simple()));
    anyhow::ensure!(!token.trim().is_empty(), "the token must not be empty");
    control.tokens().add(&token, &args.user).await?;
    control.principals().ensure_user(&args.user).await?;
    if args.admin {
        control.principals().ensure_admin(&args.user).await?;
    }
    println!("{token}");
    eprintln!(
        "Token created for {}. It is shown once; only its SHA-256 hash is stored.",
        args.user
    );
    Ok(())
}

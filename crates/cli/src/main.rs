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
use lakeplane_engine::{location::Warehouse, Engine};
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

#[derive(clap::Args, Clone)]
pub struct WorkerArgs {
    /// The data directory (state.db and warehouse/).
    #[arg(long, default_value = ".lakeplane")]
    pub data_dir: PathBuf,
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
    /// Exit when the process that started this worker exits (`lakeplane dev` sets this).
    #[arg(long)]
    pub exit_with_parent: bool,
}

/// The state database and the warehouse inside a data directory.
pub struct Local {
    pub control: Control,
    pub engine: Engine,
}

pub async fn open_local(data_dir: &std::path::Path) -> anyhow::Result<Local> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let store = EmbeddedStore::open(data_dir.join("state.db"))
        .await
        .with_context(|| format!("cannot open {}", data_dir.join("state.db").display()))?;
    let warehouse = Warehouse::local(&data_dir.join("warehouse"))?;
    Ok(Local {
        control: Control::new(Arc::new(store)),
        engine: Engine::new(warehouse),
    })
}

async fn run_worker(args: WorkerArgs) -> anyhow::Result<()> {
    let local = open_local(&args.data_dir).await?;
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
        ..WorkerConfig::new(id)
    };
    let exit_with_parent = args.exit_with_parent;
    let shutdown = async move {
        tokio::select! {
            _ = dev::shutdown_signal() => {}
            _ = parent_gone(), if exit_with_parent => {
                tracing::warn!("the parent process exited; stopping");
            }
        }
    };
    Worker::new(local.control, local.engine, config)
        .run(shutdown)
        .await;
    Ok(())
}

/// Completes when this process is re-parented, i.e. the process that started it has exited.
async fn parent_gone() {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if std::os::unix::process::parent_id() != parent {
                return;
            }
        }
    }
    #[cfg(not(unix))]
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

//! `lakeplane dev`: the API in this process, workers as child processes, all state in one data directory.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use lakeplane_http::serve::{serve, ServeLimits};
use tokio::process::{Child, Command};

use crate::AccessArgs;

#[derive(clap::Args, Clone)]
pub struct DevArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The data directory: state.db (the embedded state store) and warehouse/ (Delta tables).
    #[arg(long, default_value = ".lakeplane")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub access: AccessArgs,
    /// The API token clients send as `Authorization: Bearer <token>`.
    #[arg(
        long,
        env = "LAKEPLANE_TOKEN",
        default_value = "dev-token",
        hide_env_values = true
    )]
    pub token: String,
    /// Worker processes to start.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Tasks each worker runs at once.
    #[arg(long, default_value_t = 4)]
    pub slots: usize,
    /// The most memory, in MiB, one task's query may hold.
    #[arg(long, default_value_t = 2048)]
    pub query_memory_mib: usize,
    /// Seconds a worker's claim lasts without a heartbeat.
    #[arg(long, default_value_t = 30)]
    pub lease_seconds: u64,
    /// Milliseconds between reconciler sweeps (lost leases filed, stuck runs moved on, run
    /// timeouts enforced).
    #[arg(long, default_value_t = 2000)]
    pub reconcile_ms: u64,
    /// Milliseconds after a run starts before the reconciler first looks at it (then a quarter of
    /// its age later, at most every 10 minutes, and at its deadline).
    #[arg(long, default_value_t = 10_000)]
    pub reconcile_after_ms: u64,
    /// Milliseconds a client has to send a request's headers (also how long an idle connection
    /// stays open).
    #[arg(long, default_value_t = 10_000)]
    pub header_timeout_ms: u64,
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// The size, in KiB, statement results are cut into chunks at.
    #[arg(long, default_value_t = 4096)]
    pub result_chunk_kib: usize,
    /// Seconds a cluster node may take to report in before it is replaced.
    #[arg(long, default_value_t = 60)]
    pub node_report_timeout_s: u64,
    /// What `autotermination_minutes` counts in, in milliseconds (tests shorten the minute).
    #[arg(long, default_value_t = 60_000, hide = true)]
    pub autotermination_minute_ms: u64,
    /// Run each SQL warehouse on a cluster of its own (as on AWS) instead of on the workers above.
    #[arg(long)]
    pub warehouses_on_clusters: bool,
    /// The Python whose environment has `mlflow` (and the models' libraries): serving endpoints
    /// run each model as an MLflow scoring server with it.
    #[arg(long, env = "LAKEPLANE_MODEL_PYTHON", default_value = "python3")]
    pub model_python: PathBuf,
    /// Seconds a model server gets to answer its health check before its deployment fails.
    #[arg(long, default_value_t = 300)]
    pub model_start_timeout_s: u64,
    /// Run the demo pipeline once the platform is up.
    #[arg(long)]
    pub demo: bool,
    /// With --demo: stop when the demo is done instead of serving on.
    #[arg(long, requires = "demo")]
    pub exit_after_demo: bool,
}

/// The admin `lakeplane dev`'s token authenticates.
pub const DEV_USER: &str = "dev@lakeplane.local";

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// How often a worker renews its lease: a quarter of the lease, within 10 ms – 5 s.
fn heartbeat_ms(args: &DevArgs) -> u64 {
    (args.lease_seconds.max(1) * 1000 / 4).clamp(10, 5000)
}

fn spawn_worker(args: &DevArgs, n: usize) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("cannot find the lakeplane binary")?;
    let heartbeat_ms = heartbeat_ms(args);
    Command::new(exe)
        .arg("worker")
        .arg("--data-dir")
        .arg(&args.data_dir)
        .arg("--id")
        .arg(format!("dev-worker-{n}"))
        .arg("--slots")
        .arg(args.slots.to_string())
        .arg("--lease-seconds")
        .arg(args.lease_seconds.to_string())
        .arg("--heartbeat-ms")
        .arg(heartbeat_ms.to_string())
        .arg("--query-memory-mib")
        .arg(args.query_memory_mib.to_string())
        .arg("--result-chunk-kib")
        .arg(args.result_chunk_kib.to_string())
        .arg("--exit-with-parent")
        .arg(std::process::id().to_string())
        .arg(format!(
            "--serve-warehouses={}",
            !args.warehouses_on_clusters
        ))
        .args(args.access.to_args())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start a worker process")
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    if args.token.trim().is_empty() {
        anyhow::bail!("the token must not be empty (--token or LAKEPLANE_TOKEN)");
    }
    let settings = lakeplane_control::Settings {
        first_check: std::time::Duration::from_millis(args.reconcile_after_ms),
        ..Default::default()
    };
    let local =
        crate::platform::open(&args.data_dir, &Default::default(), &args.access, settings).await?;
    local.control.tokens().add(&args.token, DEV_USER).await?;
    local.control.principals().ensure_admin(DEV_USER).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let mut background = tokio::task::JoinSet::new();
    let spawn_args = std::sync::Arc::new(args.clone());
    for n in 0..args.workers {
        let a = spawn_args.clone();
        background.spawn(crate::supervise::keep_running(n, move |n| {
            spawn_worker(&a, n)
        }));
    }
    let url = format!("http://{addr}");
    let signer = lakeplane_engine::results::LinkSigner::random();
    let results: std::sync::Arc<dyn lakeplane_core::sql::ResultStore> =
        std::sync::Arc::new(crate::platform::Locations::default().result_store(
            &args.data_dir,
            &local.engine,
            Some((url.clone(), signer.clone())),
        )?);
    let clusters = cluster_reconciler(&args, &local.control)?;
    let artifacts: std::sync::Arc<dyn lakeplane_core::mlflow::artifacts::ArtifactStore> =
        std::sync::Arc::new(lakeplane_engine::artifacts::ObjectArtifacts::under_root(
            &local.engine,
        )?);
    let serving = local
        .control
        .serving(model_serving(&args, artifacts.clone()));
    background.spawn(reconcile(
        local.control.clone(),
        results.clone(),
        clusters.clone(),
        serving.clone(),
        args.warehouses_on_clusters,
        std::time::Duration::from_millis(args.reconcile_ms.max(10)),
    ));
    crate::say!("lakeplane is running at {url}");
    crate::say!("  data directory: {}", args.data_dir.display());
    crate::say!("  workers:        {}", args.workers);
    crate::say!("  connect:        DATABRICKS_HOST={url} DATABRICKS_TOKEN=<your token>");
    let sql = lakeplane_api::sql::area(lakeplane_api::sql::SqlServices {
        results,
        signer: Some(signer),
        inline: None,
        moves_warehouses: false,
    });
    let app = lakeplane_api::shell(local.control.clone())
        .area(sql)
        .area(lakeplane_api::catalog::area(local.engine.clone()))
        .area(lakeplane_api::principals::area())
        .area(lakeplane_api::mlflow::area(
            lakeplane_api::mlflow::MlflowServices { artifacts },
        ))
        .area(lakeplane_api::serving::area(
            lakeplane_api::serving::ServingServices { endpoints: serving },
        ))
        .area(lakeplane_api::clusters::area(
            lakeplane_api::clusters::ClusterServices {
                reconciler: Some(clusters),
            },
        ))
        .into_router();
    let limits = ServeLimits {
        max_connections: args.max_connections,
        header_timeout: std::time::Duration::from_millis(args.header_timeout_ms.max(100)),
        ..ServeLimits::default()
    };
    let mut server = tokio::spawn(serve(listener, app, limits, shutdown_signal()));
    if args.demo {
        let demo = crate::demo::run(
            url.clone(),
            args.token.clone(),
            args.data_dir.clone(),
            local.engine.clone(),
        );
        tokio::select! {
            r = &mut server => return r?.context("the API server failed"),
            r = demo => r?,
        }
        if args.exit_after_demo {
            server.abort();
            return Ok(());
        }
        crate::say!("\nThe platform keeps running at {url}; press Ctrl-C to stop.");
    }
    server.await?.context("the API server failed")?;
    // Dropping the supervisors drops their children, which are killed.
    background.shutdown().await;
    Ok(())
}

/// Clusters in `lakeplane dev`: each node a `lakeplane worker` process, its interruption notice a
/// file under `DATA_DIR/nodes/<node>/spot/instance-action`.
fn cluster_reconciler(
    args: &DevArgs,
    control: &lakeplane_control::Control,
) -> anyhow::Result<lakeplane_control::ClusterReconciler> {
    let exe = std::env::current_exe().context("cannot find the lakeplane binary")?;
    let heartbeat_ms = heartbeat_ms(args);
    let mut worker_args: Vec<String> = vec![
        "--data-dir".into(),
        args.data_dir.display().to_string(),
        "--slots".into(),
        args.slots.to_string(),
        "--lease-seconds".into(),
        args.lease_seconds.to_string(),
        "--heartbeat-ms".into(),
        heartbeat_ms.to_string(),
        "--query-memory-mib".into(),
        args.query_memory_mib.to_string(),
        "--report-ms".into(),
        "1000".into(),
    ];
    worker_args.extend(args.access.to_args());
    let compute = lakeplane_compute::local::LocalProcesses::new(
        exe,
        worker_args,
        args.data_dir.join("nodes"),
    );
    let settings = lakeplane_control::ClusterSettings {
        slots_per_node: args.slots.max(1) as u32,
        report_timeout: std::time::Duration::from_secs(args.node_report_timeout_s.max(1)),
        silence_timeout: std::time::Duration::from_secs(args.node_report_timeout_s.max(1)),
        minute: std::time::Duration::from_millis(args.autotermination_minute_ms.max(1)),
        ..Default::default()
    };
    Ok(control.cluster_reconciler(std::sync::Arc::new(compute), settings))
}

/// Serving endpoints in `lakeplane dev`: each model an MLflow scoring server process.
fn model_serving(
    args: &DevArgs,
    artifacts: std::sync::Arc<dyn lakeplane_core::mlflow::artifacts::ArtifactStore>,
) -> std::sync::Arc<dyn lakeplane_core::serving::port::ModelServing> {
    let mut settings = lakeplane_serving::local::LocalSettings::new(
        args.model_python.clone(),
        args.data_dir.join("serving"),
    );
    settings.start_timeout = std::time::Duration::from_secs(args.model_start_timeout_s.max(1));
    std::sync::Arc::new(lakeplane_serving::local::LocalScoring::new(
        settings, artifacts,
    ))
}

/// Sweeps with the reconciler every `every`, for as long as the platform runs.
async fn reconcile(
    control: lakeplane_control::Control,
    results: std::sync::Arc<dyn lakeplane_core::sql::ResultStore>,
    clusters: lakeplane_control::ClusterReconciler,
    serving: lakeplane_control::serving::ServingEndpoints,
    warehouses_on_clusters: bool,
    every: std::time::Duration,
) {
    let queues = vec![lakeplane_control::DEFAULT_QUEUE.to_string()];
    loop {
        tokio::time::sleep(every).await;
        if warehouses_on_clusters {
            if let Err(e) = clusters.serve_warehouses().await {
                tracing::warn!(error = %e, "serving the warehouses' clusters failed; trying again");
            }
        }
        if let Err(e) = clusters.sweep().await {
            tracing::warn!(error = %e, "cluster sweep failed; trying again");
        }
        if let Err(e) = serving.sync_all().await {
            tracing::warn!(error = %e, "serving endpoint sweep failed; trying again");
        }
        if let Err(e) = control.reconciler().sweep(&queues).await {
            tracing::warn!(error = %e, "reconciler sweep failed; trying again");
        }
        // Ended statements go after a day, with their result chunks.
        let before = lakeplane_control::time::now_ms()
            - lakeplane_core::sql::statement::STATEMENT_RETENTION_MS;
        match control.statements().expire(before, 100).await {
            Ok(ids) => {
                for id in ids {
                    if let Err(e) = results.delete(&id).await {
                        tracing::warn!(statement = %id, error = %e, "could not delete an expired result");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "expiring statements failed; trying again"),
        }
    }
}

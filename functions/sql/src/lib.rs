//! The `sql` Lambda function: the Statement Execution API, the SQL connector's sessions and SQL
//! warehouses behind API Gateway (HTTP API), state in DynamoDB, results on S3 (links are
//! presigned URLs). A statement that finishes within `LAKEPLANE_INLINE_SECONDS` runs right here;
//! a longer one goes back to its warehouse's queue for the workers, and a re-run writes nothing
//! twice.

use std::sync::Arc;
use std::time::Duration;

use lakeplane_api::sql::{InlineRunner, SqlServices};
use lakeplane_control::Control;
use lakeplane_core::sql::ResultStore;
use lakeplane_engine::results::ObjectResults;
use lakeplane_engine::Engine;
pub use lakeplane_lambda::{bootstrap, control, engine, Config, ConfigError, ADMIN_USER};
use lakeplane_worker::{Worker, WorkerConfig};

/// Runs statements inside the function, as a worker of one slot would.
#[derive(Debug)]
struct Inline {
    worker: Worker,
    results: Arc<dyn ResultStore>,
    budget: Duration,
}

#[async_trait::async_trait]
impl InlineRunner for Inline {
    async fn run_inline(&self, statement_id: &str, budget: Duration) {
        self.worker
            .run_inline(statement_id, self.results.as_ref(), budget)
            .await;
    }

    fn max_budget(&self) -> Duration {
        self.budget
    }
}

/// The function's HTTP application: the SQL area in the shared shell.
pub fn app(control: Control, engine: Engine, config: &Config) -> Result<axum::Router, ConfigError> {
    let results = config.require(&config.results, "LAKEPLANE_RESULTS")?;
    let url =
        url::Url::parse(results).map_err(|e| ConfigError(format!("LAKEPLANE_RESULTS: {e}")))?;
    let results: Arc<dyn ResultStore> = Arc::new(
        ObjectResults::s3(&engine, &url)
            .map_err(|e| ConfigError(format!("LAKEPLANE_RESULTS: {e}")))?,
    );
    let inline = (config.inline_seconds > 0).then(|| {
        let worker_config = WorkerConfig {
            slots: 1,
            results: Some(results.clone()),
            ..WorkerConfig::new("sql-function")
        };
        Arc::new(Inline {
            worker: Worker::new(control.clone(), engine, worker_config),
            results: results.clone(),
            budget: Duration::from_secs(config.inline_seconds),
        }) as Arc<dyn InlineRunner>
    });
    let mut shell = lakeplane_api::shell(control).area(lakeplane_api::sql::area(SqlServices {
        results,
        signer: None,
        moves_warehouses: inline.is_some() && !config.warehouse_clusters,
        inline,
    }));
    if let Some(w) = &config.workspace_id {
        shell = shell.workspace_id(w.clone());
    }
    Ok(shell.into_router())
}

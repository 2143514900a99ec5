//! The `scheduler` Lambda function, invoked by an EventBridge rate rule (`template.yaml`): one
//! reconciler sweep per invocation over the state table. It files the attempts of workers whose
//! leases expired, moves on runs whose last write failed part-way, stops runs past their
//! `timeout_seconds` and carries cancellations on (`lakeplane_control::reconciler`). A sweep is
//! idempotent, so EventBridge's at-least-once delivery and Lambda's retries are harmless.

use std::sync::Arc;

use lakeplane_control::{Control, Sweep, DEFAULT_QUEUE};
use lakeplane_store::dynamodb::DynamoStore;
use serde_json::{json, Value};

/// What the function needs from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `LAKEPLANE_TABLE`: the DynamoDB state table.
    pub table: String,
    /// `LAKEPLANE_QUEUES`: comma-separated work queues to sweep (default: `default`).
    pub queues: Vec<String>,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let table = get("LAKEPLANE_TABLE")
            .filter(|t| !t.trim().is_empty())
            .ok_or("LAKEPLANE_TABLE must name the DynamoDB state table")?;
        let queues: Vec<String> = get("LAKEPLANE_QUEUES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Config {
            table,
            queues: match queues.is_empty() {
                true => vec![DEFAULT_QUEUE.to_string()],
                false => queues,
            },
        })
    }
}

/// The DynamoDB-backed control plane, over the binary's one AWS configuration.
pub fn control(aws: &aws_config::SdkConfig, config: &Config) -> Control {
    Control::new(Arc::new(DynamoStore::new(aws, config.table.clone())))
}

/// Handles one invocation (the EventBridge event's content does not matter): one sweep, and what
/// it did, as the function's result.
pub async fn handle(control: &Control, config: &Config, event: &Value) -> Result<Value, String> {
    tracing::debug!(source = ?event.get("source"), "sweep requested");
    let Sweep {
        leases_expired,
        runs_checked,
        runs_failed,
    } = control
        .reconciler()
        .sweep(&config.queues)
        .await
        .map_err(|e| format!("sweep failed: {e}"))?;
    // Ended statements go after a day (their results expire with the bucket's lifecycle rule).
    let before =
        lakeplane_control::time::now_ms() - lakeplane_core::sql::statement::STATEMENT_RETENTION_MS;
    let statements_expired = control
        .statements()
        .expire(before, 1000)
        .await
        .map_err(|e| format!("expiring statements failed: {e}"))?
        .len();
    tracing::info!(
        leases_expired,
        runs_checked,
        runs_failed,
        statements_expired,
        "sweep done"
    );
    Ok(json!({
        "leases_expired": leases_expired,
        "runs_checked": runs_checked,
        "runs_failed": runs_failed,
        "statements_expired": statements_expired,
    }))
}

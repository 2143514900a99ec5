//! The `cluster-events` Lambda function, on EventBridge:
//!
//! - `EC2 Spot Instance Interruption Warning`: the node drains at once (its worker stops claiming
//!   and hands its tasks back) and its cluster launches the replacement;
//! - `EC2 Instance State-change Notification` (stopping, stopped, shutting-down, terminated): the
//!   node is marked gone and replaced;
//! - `Scheduled Event` (every minute): the cluster sweep — autoscaling, auto-termination, job
//!   clusters whose run ended, nodes that never reported in — and, with
//!   `LAKEPLANE_WAREHOUSE_COMPUTE=clusters`, SQL warehouses' clusters started and stopped with them.
//!
//! Events about instances lakeplane did not launch are ignored.

use lakeplane_control::{ClusterReconciler, Control};
use serde_json::{json, Value};

pub use lakeplane_lambda::{cluster_reconciler as reconciler, control, Config};

/// Handles one EventBridge event; the answer says what was done.
pub async fn handle(
    control: &Control,
    reconciler: &ClusterReconciler,
    config: &Config,
    event: &Value,
) -> Result<Value, String> {
    let kind = event
        .get("detail-type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let instance = event.pointer("/detail/instance-id").and_then(Value::as_str);
    let cluster = match (kind, instance) {
        ("EC2 Spot Instance Interruption Warning", Some(id)) => control
            .clusters()
            .interrupt(id, "eventbridge: EC2 Spot Instance Interruption Warning")
            .await
            .map_err(|e| e.to_string())?,
        ("EC2 Instance State-change Notification", Some(id)) => {
            let state = event
                .pointer("/detail/state")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !matches!(
                state,
                "stopping" | "stopped" | "shutting-down" | "terminated"
            ) {
                return Ok(json!({"ignored": format!("instance {id} is {state}")}));
            }
            control
                .clusters()
                .node_gone(id, &format!("EC2 says the instance is {state}"))
                .await
                .map_err(|e| e.to_string())?
        }
        ("Scheduled Event", _) => {
            let warehouses = match config.warehouse_clusters {
                true => reconciler
                    .serve_warehouses()
                    .await
                    .map_err(|e| e.to_string())?,
                false => 0,
            };
            let n = reconciler.sweep().await.map_err(|e| e.to_string())?;
            return Ok(json!({"swept": n, "warehouses_running": warehouses}));
        }
        _ => return Ok(json!({"ignored": kind})),
    };
    match cluster {
        Some(c) => {
            reconciler.reconcile(&c).await.map_err(|e| e.to_string())?;
            Ok(json!({"cluster_id": c, "instance_id": instance, "handled": kind}))
        }
        None => {
            Ok(json!({"ignored": format!("{} is not a lakeplane node", instance.unwrap_or("?"))}))
        }
    }
}

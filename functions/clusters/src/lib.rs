//! The `clusters` Lambda function: the Clusters API behind API Gateway, state in DynamoDB, nodes
//! on EC2. Each change is reconciled before the answer (instances launched or terminated), so the
//! SDK's waiters see states move; `cluster-events` sweeps every minute for the rest.

use lakeplane_control::{ClusterReconciler, Control};
pub use lakeplane_lambda::{
    bootstrap, cluster_reconciler as reconciler, control, Config, ConfigError, ADMIN_USER,
};

/// The function's HTTP application: the clusters area in the shared shell.
pub fn app(control: Control, reconciler: ClusterReconciler, config: &Config) -> axum::Router {
    let mut shell = lakeplane_api::shell(control).area(lakeplane_api::clusters::area(
        lakeplane_api::clusters::ClusterServices {
            reconciler: Some(reconciler),
        },
    ));
    if let Some(w) = &config.workspace_id {
        shell = shell.workspace_id(w.clone());
    }
    shell.into_router()
}

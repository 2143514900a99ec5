//! The `jobs` Lambda function: the Jobs and Queries API behind API Gateway (HTTP API), state in
//! DynamoDB. Configuration is read once at cold start, and the one AWS configuration and the clients
//! made from it are built once and shared by every invocation. Links no DataFusion: runs are queued
//! here and executed by workers.

use lakeplane_control::Control;
pub use lakeplane_lambda::{bootstrap, control, Config, ADMIN_USER};

/// The function's HTTP application: the jobs and queries areas in the shared shell.
pub fn app(control: Control, config: &Config) -> axum::Router {
    let mut shell = lakeplane_api::shell(control);
    if let Some(w) = &config.workspace_id {
        shell = shell.workspace_id(w.clone());
    }
    shell.into_router()
}

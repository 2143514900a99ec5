//! The `catalog` Lambda function: the Unity Catalog REST API (catalogs, schemas, tables and views,
//! permissions), principals (SCIM) and personal access tokens behind API Gateway (HTTP API), state
//! in DynamoDB. The engine reads tables' columns from their Delta logs on S3.

use lakeplane_control::Control;
use lakeplane_engine::Engine;
pub use lakeplane_lambda::{bootstrap, control, engine, Config, ConfigError, ADMIN_USER};

/// The function's HTTP application: the catalog and principals areas in the shared shell.
pub fn app(control: Control, engine: Engine, config: &Config) -> axum::Router {
    let mut shell = lakeplane_api::shell(control)
        .area(lakeplane_api::catalog::area(engine))
        .area(lakeplane_api::principals::area());
    if let Some(w) = &config.workspace_id {
        shell = shell.workspace_id(w.clone());
    }
    shell.into_router()
}

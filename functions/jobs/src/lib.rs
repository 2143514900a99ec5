//! The `jobs` Lambda function: the Jobs and Queries API behind API Gateway (HTTP API), state in
//! DynamoDB. Configuration is read once at cold start, and the one AWS configuration and the clients
//! made from it are built once and shared by every invocation. Links no DataFusion: runs are queued
//! here and executed by workers.

use std::sync::Arc;

use lakeplane_control::Control;
use lakeplane_store::dynamodb::DynamoStore;

/// What the function needs from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `LAKEPLANE_TABLE`: the DynamoDB state table.
    pub table: String,
    /// `LAKEPLANE_WORKSPACE_ID`: returned by `/.well-known/databricks-config`.
    pub workspace_id: Option<String>,
    /// `LAKEPLANE_ADMIN_TOKEN_SHA256`: the SHA-256 (hex) of the deployment's first admin token,
    /// from the `AdminTokenSha256` SAM parameter; stored at cold start if absent.
    pub admin_token_sha256: Option<String>,
}

impl Config {
    /// Reads the configuration; a missing or empty `LAKEPLANE_TABLE` is an error that says so.
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let table = get("LAKEPLANE_TABLE")
            .filter(|t| !t.trim().is_empty())
            .ok_or("LAKEPLANE_TABLE must name the DynamoDB state table")?;
        Ok(Config {
            table,
            workspace_id: get("LAKEPLANE_WORKSPACE_ID").filter(|w| !w.trim().is_empty()),
            admin_token_sha256: get("LAKEPLANE_ADMIN_TOKEN_SHA256")
                .filter(|w| !w.trim().is_empty()),
        })
    }
}

/// The function's HTTP application: the jobs and queries areas in the shared shell.
pub fn app(control: Control, config: &Config) -> axum::Router {
    let mut shell = lakeplane_api::shell(control);
    if let Some(w) = &config.workspace_id {
        shell = shell.workspace_id(w.clone());
    }
    shell.into_router()
}

/// The user the SAM-provided admin token authenticates.
pub const ADMIN_USER: &str = "admin";

/// Cold-start bootstrap: stores the admin token's hash if the stack was given one.
pub async fn bootstrap(control: &Control, config: &Config) -> Result<(), String> {
    if let Some(hash) = &config.admin_token_sha256 {
        control
            .tokens()
            .ensure_hashed(hash, ADMIN_USER)
            .await
            .map_err(|e| format!("cannot store the admin token (AdminTokenSha256): {e}"))?;
        control
            .principals()
            .ensure_admin(ADMIN_USER)
            .await
            .map_err(|e| format!("cannot make {ADMIN_USER} an admin: {e}"))?;
    }
    Ok(())
}

/// The DynamoDB-backed control plane, over the binary's one AWS configuration.
pub fn control(aws: &aws_config::SdkConfig, config: &Config) -> Control {
    Control::new(Arc::new(DynamoStore::new(aws, config.table.clone())))
}

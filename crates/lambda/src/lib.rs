//! What every Lambda function shares: [`Config`] read once at cold start, the control plane over
//! the DynamoDB state table, the [`bootstrap`] that makes the stack's admin token work, and (with
//! feature `engine`) the SQL engine over the S3 storage root.

use std::sync::Arc;

use lakeplane_control::Control;
use lakeplane_store::dynamodb::DynamoStore;

/// The user the SAM-provided admin token authenticates.
pub const ADMIN_USER: &str = "admin";

/// A configuration a function cannot start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// What a function needs from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `LAKEPLANE_TABLE`: the DynamoDB state table.
    pub table: String,
    /// `LAKEPLANE_WORKSPACE_ID`: returned by `/.well-known/databricks-config`.
    pub workspace_id: Option<String>,
    /// `LAKEPLANE_ADMIN_TOKEN_SHA256`: the SHA-256 (hex) of the deployment's first admin token,
    /// from the `AdminTokenSha256` SAM parameter; stored at cold start if absent.
    pub admin_token_sha256: Option<String>,
    /// `LAKEPLANE_STORAGE`: where managed tables live (`s3://bucket/prefix`); the functions that
    /// touch data need it.
    pub storage: Option<String>,
    /// `LAKEPLANE_RESULTS`: where statement results go (`s3://bucket/prefix`).
    pub results: Option<String>,
    /// `LAKEPLANE_INLINE_SECONDS`: how long the `sql` function runs a statement itself before
    /// handing it to a warehouse's workers (0: never).
    pub inline_seconds: u64,
    /// `LAKEPLANE_WAREHOUSE_COMPUTE=clusters`: every SQL warehouse runs on an EC2 cluster of its
    /// own (started and stopped by `cluster-events`); otherwise the `sql` function is their compute.
    pub warehouse_clusters: bool,
}

impl Config {
    /// Reads the configuration; a missing or empty `LAKEPLANE_TABLE` is an error that says so.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let some = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let table = some("LAKEPLANE_TABLE").ok_or_else(|| {
            ConfigError("LAKEPLANE_TABLE must name the DynamoDB state table".into())
        })?;
        let inline_seconds = match some("LAKEPLANE_INLINE_SECONDS") {
            None => 0,
            Some(s) => s.trim().parse().map_err(|_| {
                ConfigError(format!(
                    "LAKEPLANE_INLINE_SECONDS must be a number of seconds, got '{s}'"
                ))
            })?,
        };
        Ok(Config {
            table,
            workspace_id: some("LAKEPLANE_WORKSPACE_ID"),
            admin_token_sha256: some("LAKEPLANE_ADMIN_TOKEN_SHA256"),
            storage: some("LAKEPLANE_STORAGE"),
            results: some("LAKEPLANE_RESULTS"),
            inline_seconds,
            warehouse_clusters: some("LAKEPLANE_WAREHOUSE_COMPUTE")
                .is_some_and(|v| v.eq_ignore_ascii_case("clusters")),
        })
    }

    /// A setting the function cannot do without.
    pub fn require<'a>(
        &self,
        value: &'a Option<String>,
        name: &str,
    ) -> Result<&'a str, ConfigError> {
        value
            .as_deref()
            .ok_or_else(|| ConfigError(format!("{name} must be set (s3://bucket/prefix)")))
    }
}

/// The DynamoDB-backed control plane, over the binary's one AWS configuration.
pub fn control(aws: &aws_config::SdkConfig, config: &Config) -> Control {
    Control::new(Arc::new(DynamoStore::new(aws, config.table.clone())))
}

/// Cold-start bootstrap: stores the admin token's hash, if the stack was given one, for
/// [`ADMIN_USER`], who is made an admin.
pub async fn bootstrap(control: &Control, config: &Config) -> Result<(), ConfigError> {
    if let Some(hash) = &config.admin_token_sha256 {
        control
            .tokens()
            .ensure_hashed(hash, ADMIN_USER)
            .await
            .map_err(|e| {
                ConfigError(format!(
                    "cannot store the admin token (AdminTokenSha256): {e}"
                ))
            })?;
        control
            .principals()
            .ensure_admin(ADMIN_USER)
            .await
            .map_err(|e| ConfigError(format!("cannot make {ADMIN_USER} an admin: {e}")))?;
    }
    Ok(())
}

/// The SQL engine over the storage root on S3, reading S3 only in the storage bucket (and the
/// results bucket).
#[cfg(feature = "engine")]
pub fn engine(
    aws: &aws_config::SdkConfig,
    control: &Control,
    config: &Config,
) -> Result<lakeplane_engine::Engine, ConfigError> {
    use lakeplane_engine::{access::AccessPolicy, storage::StorageRoot, Engine};
    let storage = config.require(&config.storage, "LAKEPLANE_STORAGE")?;
    let url = url::Url::parse(storage)
        .ok()
        .filter(|u| u.scheme() == "s3" && u.host_str().is_some_and(|h| !h.is_empty()))
        .ok_or_else(|| {
            ConfigError(format!(
                "LAKEPLANE_STORAGE must be s3://bucket/prefix, got '{storage}'"
            ))
        })?;
    let buckets = [
        Some(url.clone()),
        config
            .results
            .as_deref()
            .and_then(|r| url::Url::parse(r).ok()),
    ]
    .into_iter()
    .flatten()
    .filter_map(|u| u.host_str().map(str::to_string))
    .collect();
    Engine::new(
        StorageRoot::new(url),
        Arc::new(control.catalogs().clone()),
        AccessPolicy::s3_only(buckets),
        Some(aws.clone()),
    )
    .map(|engine| match udf_runtime() {
        Some(udfs) => engine.with_udfs(udfs),
        None => engine,
    })
    .map_err(|e| ConfigError(format!("cannot start the SQL engine: {e}")))
}

/// The UDF runtime of a Lambda: compiled modules kept in `/tmp` (`LAKEPLANE_UDF_CACHE`), which
/// outlives one invocation, so a warm function does not compile a module again; without a
/// writable folder, compiled in memory only.
#[cfg(feature = "engine")]
fn udf_runtime() -> Option<Arc<lakeplane_udf_host::UdfRuntime>> {
    let dir = std::env::var_os("LAKEPLANE_UDF_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("lakeplane-udfs"));
    match lakeplane_udf_host::UdfRuntime::new(Default::default(), Some(dir)) {
        Ok(rt) => Some(rt),
        Err(e) => {
            tracing::warn!(error = %e, "no disk cache for compiled UDFs");
            None
        }
    }
}

/// The cluster reconciler over EC2, configured from the environment (see
/// `lakeplane_compute::ec2::Ec2Config::from_lookup`).
#[cfg(feature = "clusters")]
pub fn cluster_reconciler(
    aws: &aws_config::SdkConfig,
    control: &Control,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<lakeplane_control::ClusterReconciler, ConfigError> {
    let config = lakeplane_compute::ec2::Ec2Config::from_lookup(lookup).map_err(ConfigError)?;
    let slots = config.boot.slots;
    let compute = lakeplane_compute::ec2::Ec2Compute::new(aws_sdk_ec2::Client::new(aws), config);
    Ok(control.cluster_reconciler(
        std::sync::Arc::new(compute),
        lakeplane_control::ClusterSettings {
            slots_per_node: slots,
            ..Default::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_is_checked_at_cold_start() {
        assert!(Config::from_lookup(|_| None)
            .unwrap_err()
            .0
            .contains("LAKEPLANE_TABLE"));
        let bad = Config::from_lookup(|k| match k {
            "LAKEPLANE_TABLE" => Some("t".into()),
            "LAKEPLANE_INLINE_SECONDS" => Some("soon".into()),
            _ => None,
        });
        assert!(bad.unwrap_err().0.contains("LAKEPLANE_INLINE_SECONDS"));
    }
}

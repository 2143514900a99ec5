//! Where the platform keeps its state and its tables, from flags or the environment: the same
//! binary runs on a laptop (an embedded store and a folder) and on AWS (a DynamoDB table and an S3
//! prefix).
//!
//! | flag | environment | values |
//! |---|---|---|
//! | `--state` | `LAKEPLANE_STATE` | `dynamodb://TABLE`, or a SQLite file path (`sqlite://PATH` too) |
//! | `--storage` | `LAKEPLANE_STORAGE` | `s3://BUCKET/PREFIX`, or a local folder |
//!
//! Without them, both live in the data directory (`state.db`, `warehouse/`). AWS clients come from
//! the standard configuration chain (environment, profile, SSO, instance role); `AWS_ENDPOINT_URL`
//! points them at an emulator in tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use lakeplane_control::{Control, Settings};
use lakeplane_engine::storage::StorageRoot;
use lakeplane_engine::Engine;
use lakeplane_store::dynamodb::DynamoStore;
use lakeplane_store::embedded::EmbeddedStore;
use lakeplane_store::StateStore;

use crate::AccessArgs;

/// Where the state and the tables are.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Locations {
    /// The state store: `dynamodb://TABLE` or a SQLite file [default: DATA_DIR/state.db].
    #[arg(long, env = "LAKEPLANE_STATE", value_name = "URL")]
    pub state: Option<String>,
    /// Where tables live: `s3://BUCKET/PREFIX` or a local folder [default: DATA_DIR/warehouse].
    #[arg(long, env = "LAKEPLANE_STORAGE", value_name = "URL")]
    pub storage: Option<String>,
    /// Where statement results go: `s3://BUCKET/PREFIX` (links are presigned URLs) or a local
    /// folder (links are served by `lakeplane dev`) [default: DATA_DIR/results].
    #[arg(long, env = "LAKEPLANE_RESULTS", value_name = "URL")]
    pub results: Option<String>,
}

/// A parsed `--state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateUrl {
    Dynamo { table: String },
    Sqlite(PathBuf),
}

impl StateUrl {
    pub fn parse(value: &str) -> anyhow::Result<StateUrl> {
        if let Some(table) = value.strip_prefix("dynamodb://") {
            let table = table.trim_end_matches('/');
            anyhow::ensure!(
                !table.is_empty() && !table.contains('/'),
                "--state dynamodb://TABLE names one table, got '{value}'"
            );
            return Ok(StateUrl::Dynamo {
                table: table.to_string(),
            });
        }
        let path = value.strip_prefix("sqlite://").unwrap_or(value);
        anyhow::ensure!(
            !path.contains("://"),
            "--state takes dynamodb://TABLE or a SQLite file path, got '{value}'"
        );
        Ok(StateUrl::Sqlite(PathBuf::from(path)))
    }
}

impl Locations {
    /// The state store these locations name.
    pub async fn store(
        &self,
        data_dir: &Path,
        aws: &aws_config::SdkConfig,
    ) -> anyhow::Result<Arc<dyn StateStore>> {
        let url = match &self.state {
            Some(s) => StateUrl::parse(s)?,
            None => StateUrl::Sqlite(data_dir.join("state.db")),
        };
        Ok(match url {
            StateUrl::Dynamo { table } => Arc::new(DynamoStore::new(aws, table)),
            StateUrl::Sqlite(path) => Arc::new(
                EmbeddedStore::open(&path)
                    .await
                    .with_context(|| format!("cannot open {}", path.display()))?,
            ),
        })
    }

    /// The storage root these locations name.
    pub fn storage_root(&self, data_dir: &Path) -> anyhow::Result<StorageRoot> {
        match self.storage.as_deref() {
            Some(s) if s.starts_with("s3://") => {
                let url = url::Url::parse(s).with_context(|| format!("--storage {s}"))?;
                anyhow::ensure!(
                    url.host_str().is_some_and(|b| !b.is_empty()),
                    "--storage s3://BUCKET/PREFIX needs a bucket, got '{s}'"
                );
                Ok(StorageRoot::new(url))
            }
            Some(s) => {
                anyhow::ensure!(
                    !s.contains("://"),
                    "--storage takes s3://BUCKET/PREFIX or a local folder, got '{s}'"
                );
                Ok(StorageRoot::local(Path::new(s))?)
            }
            None => Ok(StorageRoot::local(&data_dir.join("warehouse"))?),
        }
    }
}

impl Locations {
    /// The result store these locations name; `serve` is the base URL and signer of the process
    /// that hands out local links.
    pub fn result_store(
        &self,
        data_dir: &Path,
        engine: &Engine,
        serve: Option<(String, lakeplane_engine::results::LinkSigner)>,
    ) -> anyhow::Result<lakeplane_engine::results::ObjectResults> {
        use lakeplane_engine::results::ObjectResults;
        match self.results.as_deref() {
            Some(s) if s.starts_with("s3://") => {
                let url = url::Url::parse(s).with_context(|| format!("--results {s}"))?;
                Ok(ObjectResults::s3(engine, &url)?)
            }
            Some(s) => {
                anyhow::ensure!(
                    !s.contains("://"),
                    "--results takes s3://BUCKET/PREFIX or a local folder, got '{s}'"
                );
                Ok(ObjectResults::local(Path::new(s), serve)?)
            }
            None => Ok(ObjectResults::local(&data_dir.join("results"), serve)?),
        }
    }
}

/// The control plane and the engine over a data directory and these locations.
pub struct Platform {
    pub control: Control,
    pub engine: Engine,
}

/// Opens the platform: the state store and the engine, with the one AWS configuration.
pub async fn open(
    data_dir: &Path,
    locations: &Locations,
    access: &AccessArgs,
    settings: Settings,
) -> anyhow::Result<Platform> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let aws = local_aws_config().await;
    let store = locations.store(data_dir, &aws).await?;
    let root = locations.storage_root(data_dir)?;
    let control = Control::with_settings(store, settings);
    let catalog = Arc::new(control.catalogs().clone());
    // Compiled UDF modules are kept on disk, so a restarted worker does not compile them again.
    let udfs = lakeplane_udf_host::UdfRuntime::new(
        lakeplane_udf_host::Limits::default(),
        Some(data_dir.join("cache").join("udfs")),
    )?;
    let engine =
        Engine::new(root, catalog, access.policy(data_dir), Some(aws.clone()))?.with_udfs(udfs);
    let serving = control.serving(model_serving(data_dir, &engine, &aws)?);
    Ok(Platform {
        engine: engine.with_models(Arc::new(serving)),
        control,
    })
}

/// Where `ai_query` reaches models: SageMaker when a serving image is configured
/// (`LAKEPLANE_SAGEMAKER_IMAGE`, as on AWS), else the scoring servers `lakeplane dev` started
/// (found by their port files under `DATA_DIR/serving`).
pub fn model_serving(
    data_dir: &Path,
    engine: &Engine,
    aws: &aws_config::SdkConfig,
) -> anyhow::Result<Arc<dyn lakeplane_core::serving::port::ModelServing>> {
    let artifacts: Arc<dyn lakeplane_core::mlflow::artifacts::ArtifactStore> = Arc::new(
        lakeplane_engine::artifacts::ObjectArtifacts::under_root(engine)?,
    );
    let lookup = |k: &str| std::env::var(k).ok();
    if let Some(settings) = lakeplane_serving::sagemaker::SageMakerSettings::from_lookup(lookup)
        .map_err(anyhow::Error::msg)?
    {
        return Ok(Arc::new(
            lakeplane_serving::sagemaker::SageMakerServing::new(aws, artifacts, settings),
        ));
    }
    let python = std::env::var_os("LAKEPLANE_MODEL_PYTHON").unwrap_or_else(|| "python3".into());
    let settings =
        lakeplane_serving::local::LocalSettings::new(python.into(), data_dir.join("serving"));
    Ok(Arc::new(lakeplane_serving::local::LocalScoring::new(
        settings, artifacts,
    )))
}

/// The AWS configuration of a local run: the standard chain, except that the region comes from the
/// environment or the profile (else `us-east-1`), never from EC2 instance metadata, which a laptop
/// does not have and would wait for at every start. Credentials are resolved when first used.
pub async fn local_aws_config() -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableRegionProvider;
    use aws_config::meta::region::RegionProviderChain;
    use aws_config::profile::ProfileFileRegionProvider;
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::new())
        .or_else("us-east-1");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region)
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_urls_parse_or_say_what_is_wrong() {
        assert_eq!(
            StateUrl::parse("dynamodb://lakeplane-state").unwrap(),
            StateUrl::Dynamo {
                table: "lakeplane-state".into()
            }
        );
        assert_eq!(
            StateUrl::parse("/var/x/state.db").unwrap(),
            StateUrl::Sqlite("/var/x/state.db".into())
        );
        assert_eq!(
            StateUrl::parse("sqlite://rel/state.db").unwrap(),
            StateUrl::Sqlite("rel/state.db".into())
        );
        assert!(StateUrl::parse("dynamodb://").is_err());
        assert!(StateUrl::parse("postgres://db").is_err());
        let l = Locations {
            storage: Some("s3:///nobucket".into()),
            ..Locations::default()
        };
        assert!(l.storage_root(Path::new("/tmp")).is_err());
        let l = Locations {
            storage: Some("s3://bucket/tables".into()),
            ..Locations::default()
        };
        assert_eq!(
            l.storage_root(Path::new("/tmp")).unwrap().url().as_str(),
            "s3://bucket/tables/"
        );
    }
}

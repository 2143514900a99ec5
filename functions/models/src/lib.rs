//! The `models` Lambda function (model deploy): the MLflow tracking server and model registry
//! (`/api/2.0/mlflow/…`), its artifact proxy (files under the storage root on S3), and serving
//! endpoints deployed to SageMaker (`/api/2.0/serving-endpoints…`, `/serving-endpoints/…/invocations`).
//! State in DynamoDB; an endpoint moves on when it is read (the SDK's waiters poll it).

use std::sync::Arc;

use lakeplane_control::Control;
use lakeplane_core::mlflow::artifacts::ArtifactStore;
use lakeplane_core::serving::port::ModelServing;
use lakeplane_engine::Engine;
pub use lakeplane_lambda::{bootstrap, control, engine, Config, ConfigError, ADMIN_USER};
use lakeplane_serving::sagemaker::{SageMakerServing, SageMakerSettings};

/// The artifact store under the storage root (`LAKEPLANE_STORAGE`).
pub fn artifacts(engine: &Engine) -> Result<Arc<dyn ArtifactStore>, ConfigError> {
    lakeplane_engine::artifacts::ObjectArtifacts::under_root(engine)
        .map(|a| Arc::new(a) as Arc<dyn ArtifactStore>)
        .map_err(|e| ConfigError(format!("cannot open the artifact store: {e}")))
}

/// SageMaker settings from the environment (see [`SageMakerSettings::from_lookup`]); an error
/// when no serving image is configured.
pub fn sagemaker_settings(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<SageMakerSettings, ConfigError> {
    SageMakerSettings::from_lookup(lookup)
        .map_err(ConfigError)?
        .ok_or_else(|| {
            ConfigError(
                "LAKEPLANE_SAGEMAKER_IMAGE must name the MLflow serving image (ECR URI)".into(),
            )
        })
}

/// Serving on SageMaker.
pub fn sagemaker(
    aws: &aws_config::SdkConfig,
    artifacts: Arc<dyn ArtifactStore>,
    settings: SageMakerSettings,
) -> SageMakerServing {
    SageMakerServing::new(aws, artifacts, settings)
}

/// The function's HTTP application: the MLflow and serving areas in the shared shell.
pub fn app(
    control: Control,
    artifacts: Arc<dyn ArtifactStore>,
    serving: Arc<dyn ModelServing>,
    config: &Config,
) -> axum::Router {
    let endpoints = control.serving(serving);
    let mut shell = lakeplane_api::shell(control)
        .area(lakeplane_api::mlflow::area(
            lakeplane_api::mlflow::MlflowServices { artifacts },
        ))
        .area(lakeplane_api::serving::area(
            lakeplane_api::serving::ServingServices { endpoints },
        ));
    if let Some(w) = &config.workspace_id {
        shell = shell.workspace_id(w.clone());
    }
    shell.into_router()
}

//! What every SageMaker deployment uses (image, role, instance defaults, read from the
//! environment), and how an endpoint is moved to a new config.

use async_trait::async_trait;
use lakeplane_core::serving::port::BoxError;

/// What every deployment uses.
#[derive(Debug, Clone)]
pub struct SageMakerSettings {
    /// The MLflow pyfunc serving image (`mlflow sagemaker build-and-push-container`), in ECR.
    pub image: String,
    /// The role SageMaker assumes to pull the image and read the model data.
    pub execution_role_arn: String,
    /// The instance type of a served model that names none (`ml.m5.large`).
    pub default_instance_type: String,
    /// Serverless endpoints (`scale_to_zero_enabled`): memory and concurrency.
    pub serverless_memory_mb: i32,
    pub serverless_max_concurrency: i32,
}

impl SageMakerSettings {
    /// From the environment: `LAKEPLANE_SAGEMAKER_IMAGE` (the MLflow pyfunc serving image in ECR),
    /// `LAKEPLANE_SAGEMAKER_ROLE_ARN` (the execution role), optionally
    /// `LAKEPLANE_SAGEMAKER_INSTANCE_TYPE`. `None` when no image is set; an error says what is wrong.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<SageMakerSettings>, String> {
        let some = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let Some(image) = some("LAKEPLANE_SAGEMAKER_IMAGE") else {
            return Ok(None);
        };
        let role = some("LAKEPLANE_SAGEMAKER_ROLE_ARN")
            .filter(|r| r.starts_with("arn:"))
            .ok_or("LAKEPLANE_SAGEMAKER_ROLE_ARN must be the ARN of SageMaker's execution role")?;
        let mut settings = SageMakerSettings::new(image, role);
        if let Some(t) = some("LAKEPLANE_SAGEMAKER_INSTANCE_TYPE") {
            settings.default_instance_type = t;
        }
        Ok(Some(settings))
    }

    pub fn new(image: String, execution_role_arn: String) -> SageMakerSettings {
        SageMakerSettings {
            image,
            execution_role_arn,
            default_instance_type: "ml.m5.large".into(),
            serverless_memory_mb: 2048,
            serverless_max_concurrency: 5,
        }
    }
}

/// How an endpoint is moved to a new config: `UpdateEndpoint` on AWS. Tests against an emulator
/// that lacks it give their own.
#[async_trait]
pub trait EndpointUpdater: Send + Sync + std::fmt::Debug + 'static {
    async fn update(
        &self,
        sm: &aws_sdk_sagemaker::Client,
        endpoint: &str,
        config: &str,
    ) -> Result<(), BoxError>;
}

/// `UpdateEndpoint`.
#[derive(Debug)]
pub struct UpdateEndpoint;

#[async_trait]
impl EndpointUpdater for UpdateEndpoint {
    async fn update(
        &self,
        sm: &aws_sdk_sagemaker::Client,
        endpoint: &str,
        config: &str,
    ) -> Result<(), BoxError> {
        sm.update_endpoint()
            .endpoint_name(endpoint)
            .endpoint_config_name(config)
            .send()
            .await?;
        Ok(())
    }
}

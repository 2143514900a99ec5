//! SageMaker serving: one SageMaker endpoint per lakeplane endpoint; each config version is a
//! SageMaker endpoint config (one production variant per served model, weighted by its traffic)
//! over SageMaker models (the configured MLflow pyfunc serving image, the model version's files
//! packed as `model.tar.gz` beside them in the artifact store, the execution role). The first
//! version creates the endpoint; later ones update it, which SageMaker does blue/green (the old
//! config serves until the new one is in service, and stays if the new one fails). Every resource
//! is tagged with lakeplane's ids, which the function's IAM policy requires.

mod resources;
mod settings;

pub use resources::resource_name;
use resources::{config_name, endpoint_name, exists, fail, missing, model_name};
pub use settings::{EndpointUpdater, SageMakerSettings, UpdateEndpoint};

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::types::{
    ContainerDefinition, EndpointStatus, ProductionVariant, ProductionVariantInstanceType,
    ProductionVariantServerlessConfig, Tag,
};
use lakeplane_core::mlflow::artifacts::ArtifactStore;
use lakeplane_core::serving::port::{
    Answer, DeployStatus, DeployedModel, Deployment, ModelServing, ServingError,
};

/// The largest model (all its files) packed for SageMaker, in bytes.
pub const MAX_MODEL_BYTES: u64 = 1024 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct SageMakerServing {
    sm: aws_sdk_sagemaker::Client,
    runtime: aws_sdk_sagemakerruntime::Client,
    artifacts: Arc<dyn ArtifactStore>,
    settings: SageMakerSettings,
    updater: Arc<dyn EndpointUpdater>,
}

impl SageMakerServing {
    pub fn new(
        config: &aws_config::SdkConfig,
        artifacts: Arc<dyn ArtifactStore>,
        settings: SageMakerSettings,
    ) -> SageMakerServing {
        SageMakerServing {
            sm: aws_sdk_sagemaker::Client::new(config),
            runtime: aws_sdk_sagemakerruntime::Client::new(config),
            artifacts,
            settings,
            updater: Arc::new(UpdateEndpoint),
        }
    }

    /// The same, moving endpoints to new configs with `updater`.
    pub fn with_updater(mut self, updater: Arc<dyn EndpointUpdater>) -> SageMakerServing {
        self.updater = updater;
        self
    }

    fn tags(d: &Deployment, extra: Option<&DeployedModel>) -> Vec<Tag> {
        let mut tags = vec![
            ("lakeplane:endpoint", d.endpoint.clone()),
            ("lakeplane:endpoint-id", d.endpoint_id.clone()),
            ("lakeplane:config-version", d.version.to_string()),
        ];
        if let Some(m) = extra {
            tags.push((
                "lakeplane:model",
                format!("{}/{}", m.model_name, m.model_version),
            ));
        }
        tags.into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    }

    fn variant(&self, d: &Deployment, m: &DeployedModel) -> ProductionVariant {
        let v = ProductionVariant::builder()
            .variant_name(resource_name(&[&m.name]))
            .model_name(model_name(d, m))
            .initial_variant_weight(m.traffic_percentage.max(1) as f32);
        if m.serverless {
            v.serverless_config(
                ProductionVariantServerlessConfig::builder()
                    .memory_size_in_mb(self.settings.serverless_memory_mb)
                    .max_concurrency(self.settings.serverless_max_concurrency)
                    .build(),
            )
            .build()
        } else {
            let kind = m
                .instance_type
                .clone()
                .unwrap_or_else(|| self.settings.default_instance_type.clone());
            v.instance_type(ProductionVariantInstanceType::from(kind.as_str()))
                .initial_instance_count(m.instance_count.max(1) as i32)
                .build()
        }
    }
}

#[async_trait]
impl ModelServing for SageMakerServing {
    async fn deploy(&self, d: &Deployment) -> Result<(), ServingError> {
        for m in &d.models {
            let data = self.pack(d, m).await?;
            let mut container = ContainerDefinition::builder()
                .image(&self.settings.image)
                .model_data_url(data);
            for (k, v) in &m.environment {
                container = container.environment(k, v);
            }
            let created = self
                .sm
                .create_model()
                .model_name(model_name(d, m))
                .primary_container(container.build())
                .execution_role_arn(&self.settings.execution_role_arn)
                .set_tags(Some(Self::tags(d, Some(m))))
                .send()
                .await;
            if let Err(e) = created {
                if !exists(&e) {
                    return Err(fail(
                        &d.endpoint,
                        "CreateModel",
                        aws_sdk_sagemaker::Error::from(e.into_service_error()),
                    ));
                }
            }
        }
        let variants: Vec<ProductionVariant> =
            d.models.iter().map(|m| self.variant(d, m)).collect();
        let config = self
            .sm
            .create_endpoint_config()
            .endpoint_config_name(config_name(d))
            .set_production_variants(Some(variants))
            .set_tags(Some(Self::tags(d, None)))
            .send()
            .await;
        if let Err(e) = config {
            if !exists(&e) {
                return Err(fail(
                    &d.endpoint,
                    "CreateEndpointConfig",
                    aws_sdk_sagemaker::Error::from(e.into_service_error()),
                ));
            }
        }
        let name = endpoint_name(&d.endpoint);
        match self
            .sm
            .describe_endpoint()
            .endpoint_name(&name)
            .send()
            .await
        {
            Err(e) if missing(&e) => {
                let created = self
                    .sm
                    .create_endpoint()
                    .endpoint_name(&name)
                    .endpoint_config_name(config_name(d))
                    .set_tags(Some(Self::tags(d, None)))
                    .send()
                    .await;
                match created {
                    Ok(_) => Ok(()),
                    Err(e) if exists(&e) => Ok(()),
                    Err(e) => Err(fail(
                        &d.endpoint,
                        "CreateEndpoint",
                        aws_sdk_sagemaker::Error::from(e.into_service_error()),
                    )),
                }
            }
            Err(e) => Err(fail(
                &d.endpoint,
                "DescribeEndpoint",
                aws_sdk_sagemaker::Error::from(e.into_service_error()),
            )),
            Ok(ep) if ep.endpoint_config_name() == Some(config_name(d).as_str()) => Ok(()),
            Ok(ep)
                if matches!(
                    ep.endpoint_status(),
                    Some(EndpointStatus::Updating | EndpointStatus::Creating)
                ) =>
            {
                Ok(())
            }
            Ok(_) => self
                .updater
                .update(&self.sm, &name, &config_name(d))
                .await
                .map_err(|e| fail(&d.endpoint, "UpdateEndpoint", e)),
        }
    }

    async fn status(&self, d: &Deployment) -> Result<DeployStatus, ServingError> {
        let ep = match self
            .sm
            .describe_endpoint()
            .endpoint_name(endpoint_name(&d.endpoint))
            .send()
            .await
        {
            Ok(ep) => ep,
            Err(e) if missing(&e) => return Ok(DeployStatus::Absent),
            Err(e) => {
                return Err(fail(
                    &d.endpoint,
                    "DescribeEndpoint",
                    aws_sdk_sagemaker::Error::from(e.into_service_error()),
                ))
            }
        };
        let ours = ep.endpoint_config_name() == Some(config_name(d).as_str());
        let reason = ep.failure_reason().unwrap_or("no reason given").to_string();
        Ok(match ep.endpoint_status() {
            Some(EndpointStatus::InService) if ours => DeployStatus::Ready,
            Some(EndpointStatus::Failed) if ours => DeployStatus::Failed(reason),
            // An update that failed rolls back: the old config serves, with the reason given.
            Some(EndpointStatus::InService) if ep.failure_reason().is_some() => {
                DeployStatus::Failed(reason)
            }
            Some(EndpointStatus::InService | EndpointStatus::Failed) => DeployStatus::Absent,
            _ => DeployStatus::Starting,
        })
    }

    async fn invoke(
        &self,
        d: &Deployment,
        model: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Answer, ServingError> {
        use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError as E;
        let sent = self
            .runtime
            .invoke_endpoint()
            .endpoint_name(endpoint_name(&d.endpoint))
            .target_variant(resource_name(&[model]))
            .content_type(content_type)
            .accept("application/json")
            .body(aws_sdk_sagemakerruntime::primitives::Blob::new(body))
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Answer {
                status: 200,
                content_type: out.content_type().unwrap_or("application/json").to_string(),
                body: out.body().map(|b| b.as_ref().to_vec()).unwrap_or_default(),
            }),
            Err(e) => match e.into_service_error() {
                // The model answered with an error: passed through.
                E::ModelError(m) => Ok(Answer {
                    status: m.original_status_code().unwrap_or(500) as u16,
                    content_type: "application/json".into(),
                    body: m.original_message().unwrap_or_default().as_bytes().to_vec(),
                }),
                e if e.code() == Some("ThrottlingException") => Err(ServingError::Throttled {
                    endpoint: d.endpoint.clone(),
                }),
                e => Err(fail(
                    &d.endpoint,
                    "InvokeEndpoint",
                    aws_sdk_sagemakerruntime::Error::from(e),
                )),
            },
        }
    }

    async fn retire(&self, d: &Deployment) -> Result<(), ServingError> {
        match self
            .sm
            .delete_endpoint_config()
            .endpoint_config_name(config_name(d))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if missing(&e) => {}
            Err(e) => {
                return Err(fail(
                    &d.endpoint,
                    "DeleteEndpointConfig",
                    aws_sdk_sagemaker::Error::from(e.into_service_error()),
                ))
            }
        }
        for m in &d.models {
            match self
                .sm
                .delete_model()
                .model_name(model_name(d, m))
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if missing(&e) => {}
                Err(e) => {
                    return Err(fail(
                        &d.endpoint,
                        "DeleteModel",
                        aws_sdk_sagemaker::Error::from(e.into_service_error()),
                    ))
                }
            }
        }
        Ok(())
    }

    async fn delete(&self, endpoint: &str, deployments: &[Deployment]) -> Result<(), ServingError> {
        match self
            .sm
            .delete_endpoint()
            .endpoint_name(endpoint_name(endpoint))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if missing(&e) => {}
            Err(e) => {
                return Err(fail(
                    endpoint,
                    "DeleteEndpoint",
                    aws_sdk_sagemaker::Error::from(e.into_service_error()),
                ))
            }
        }
        for d in deployments {
            self.retire(d).await?;
        }
        Ok(())
    }
}

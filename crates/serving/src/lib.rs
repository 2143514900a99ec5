//! Adapters of the serving port ([`lakeplane_core::serving::port::ModelServing`]):
//! [`local::LocalScoring`] runs each served model as its own MLflow scoring server (the server the
//! SageMaker MLflow image runs), started from a configured Python environment and proxied;
//! [`sagemaker::SageMakerServing`] deploys models, endpoint configs and endpoints on SageMaker and
//! invokes them through the SageMaker runtime.

#[cfg(feature = "local")]
pub mod local;
#[cfg(feature = "sagemaker")]
pub mod sagemaker;

/// The last `n` lines of a log file, for failure messages.
pub fn tail(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Serving where none is configured (no serving image given): the registry works, and every
/// deploy or invocation is refused with the reason.
#[derive(Debug, Clone)]
pub struct Unconfigured(pub String);

impl Unconfigured {
    fn refuse(&self, endpoint: &str) -> lakeplane_core::serving::port::ServingError {
        lakeplane_core::serving::port::ServingError::Backend {
            endpoint: endpoint.to_string(),
            action: "serving",
            source: self.0.clone().into(),
        }
    }
}

#[async_trait::async_trait]
impl lakeplane_core::serving::port::ModelServing for Unconfigured {
    async fn deploy(
        &self,
        d: &lakeplane_core::serving::port::Deployment,
    ) -> Result<(), lakeplane_core::serving::port::ServingError> {
        Err(self.refuse(&d.endpoint))
    }
    async fn status(
        &self,
        _: &lakeplane_core::serving::port::Deployment,
    ) -> Result<
        lakeplane_core::serving::port::DeployStatus,
        lakeplane_core::serving::port::ServingError,
    > {
        Ok(lakeplane_core::serving::port::DeployStatus::Failed(
            self.0.clone(),
        ))
    }
    async fn invoke(
        &self,
        d: &lakeplane_core::serving::port::Deployment,
        _: &str,
        _: &str,
        _: Vec<u8>,
    ) -> Result<lakeplane_core::serving::port::Answer, lakeplane_core::serving::port::ServingError>
    {
        Err(self.refuse(&d.endpoint))
    }
    async fn retire(
        &self,
        _: &lakeplane_core::serving::port::Deployment,
    ) -> Result<(), lakeplane_core::serving::port::ServingError> {
        Ok(())
    }
    async fn delete(
        &self,
        _: &str,
        _: &[lakeplane_core::serving::port::Deployment],
    ) -> Result<(), lakeplane_core::serving::port::ServingError> {
        Ok(())
    }
}

//! The serving port: where an endpoint's models run. Each config version is deployed on its own
//! (blue/green) and retired once another serves or it failed. Adapters: SageMaker (models,
//! endpoint configs, endpoints; `lakeplane-serving`) and local MLflow scoring-server processes.

use async_trait::async_trait;

/// A backend's error, kept as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum ServingError {
    /// The version asked for is not deployed here (retired, or this process restarted).
    #[error("config {version} of serving endpoint {endpoint} is not deployed")]
    NotDeployed { endpoint: String, version: u64 },
    /// The backend refused or failed a call.
    #[error("serving endpoint {endpoint}: {action} failed: {source}")]
    Backend {
        endpoint: String,
        action: &'static str,
        #[source]
        source: BoxError,
    },
    /// The backend asks callers to slow down.
    #[error("serving endpoint {endpoint} is throttling requests")]
    Throttled { endpoint: String },
}

/// One model of a deployment, resolved from the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedModel {
    /// The served entity's name (a SageMaker production variant).
    pub name: String,
    /// The registered model and version it serves.
    pub model_name: String,
    pub model_version: String,
    /// Where the MLflow model's files are, below the artifact store's root.
    pub artifact_path: String,
    pub instance_type: Option<String>,
    pub workload_type: String,
    pub instance_count: u32,
    /// Serverless (scale to zero) instead of instances.
    pub serverless: bool,
    pub environment: Vec<(String, String)>,
    /// Share of requests, in percent.
    pub traffic_percentage: u32,
}

/// One config version of one endpoint, as the backend deploys it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub endpoint: String,
    pub endpoint_id: String,
    pub version: u64,
    pub models: Vec<DeployedModel>,
}

/// How far a deployment is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployStatus {
    /// Nothing of it exists here: deploy it (again).
    Absent,
    Starting,
    Ready,
    /// It cannot start; why, with the model server's last log lines where there are some.
    Failed(String),
}

/// An invocation's answer, passed through to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

#[async_trait]
pub trait ModelServing: Send + Sync + std::fmt::Debug + 'static {
    /// Starts bringing `d` up. Idempotent: a deployment already started is left as it is.
    async fn deploy(&self, d: &Deployment) -> Result<(), ServingError>;
    async fn status(&self, d: &Deployment) -> Result<DeployStatus, ServingError>;
    /// Sends one request to model `model` of deployment `d` (whose `models` may be left empty:
    /// the endpoint and version name it).
    async fn invoke(
        &self,
        d: &Deployment,
        model: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Answer, ServingError>;
    /// Removes what `d` alone uses, once requests in flight to it are answered. Idempotent.
    async fn retire(&self, d: &Deployment) -> Result<(), ServingError>;
    /// Removes the endpoint and everything of `deployments`. Idempotent.
    async fn delete(&self, endpoint: &str, deployments: &[Deployment]) -> Result<(), ServingError>;
}

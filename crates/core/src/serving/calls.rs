//! Calling an endpoint from SQL (`ai_query`): the engine's port. The control plane's adapter
//! checks that the caller may query the endpoint and sends the request to the config that serves.

use async_trait::async_trait;

use crate::catalog::Identity;

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("serving endpoint '{endpoint}' does not exist")]
    NotFound { endpoint: String },
    #[error("{user} may not query serving endpoint '{endpoint}' (it needs CAN_QUERY)")]
    Denied { endpoint: String, user: String },
    #[error("serving endpoint '{endpoint}' is throttling requests")]
    Throttled { endpoint: String },
    #[error("serving endpoint '{endpoint}' failed: {message}")]
    Failed { endpoint: String, message: String },
}

#[async_trait]
pub trait EndpointCalls: Send + Sync + std::fmt::Debug + 'static {
    /// Sends one JSON request to `endpoint` for `who`; the model's JSON answer.
    async fn call(
        &self,
        endpoint: &str,
        who: &Identity,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, CallError>;
}

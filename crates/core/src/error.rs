//! The domain's error: a user's request that the domain refuses, or a transition a state machine forbids.

/// What the domain refuses. Adapters map these to their own protocols (the API to Databricks error JSON).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input is malformed or breaks a rule (an unknown dependency, a cycle, a bad id).
    #[error("{0}")]
    InvalidParameter(String),
    /// The object is not in a state that allows the operation.
    #[error("{0}")]
    InvalidState(String),
}

impl DomainError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        DomainError::InvalidParameter(msg.into())
    }

    pub fn state(msg: impl Into<String>) -> Self {
        DomainError::InvalidState(msg.into())
    }
}

/// The domain's result alias.
pub type DomainResult<T> = Result<T, DomainError>;

use lakeplane_core::DomainError;
use lakeplane_store::StoreError;

/// What a control-plane use case can fail with. The API maps each to a Databricks error code.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// Concurrent writers kept colliding; the caller may retry.
    #[error("{0}")]
    Conflict(String),
    /// The state store is throttling or unreachable; the caller may retry.
    #[error("{0}")]
    Unavailable(String),
    /// The worker no longer holds the task's lease.
    #[error("{0}")]
    LeaseLost(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ControlResult<T> = Result<T, ControlError>;

impl From<DomainError> for ControlError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidParameter(m) => ControlError::InvalidParameter(m),
            DomainError::InvalidState(m) => ControlError::InvalidState(m),
        }
    }
}

impl From<StoreError> for ControlError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ControlError::NotFound(m),
            StoreError::AlreadyExists(m) => ControlError::AlreadyExists(m),
            StoreError::Conflict(m) => ControlError::Conflict(m),
            StoreError::Invalid(m) => ControlError::InvalidParameter(m),
            StoreError::Throttled(m) | StoreError::Unavailable(m) => ControlError::Unavailable(m),
        }
    }
}

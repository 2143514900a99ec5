//! The control plane's error: the object a use case could not act on, or the domain or store error
//! underneath, kept as the source.

use lakeplane_core::{DomainError, RunId};
use lakeplane_store::StoreError;

/// What a control-plane use case can fail with. The API maps each to a Databricks error code.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No such object (`kind` is "Job", "Run", "Query", ...).
    #[error("{kind} {name} does not exist.")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} {name} already exists.")]
    AlreadyExists { kind: &'static str, name: String },
    /// Concurrent writers kept changing the object; the caller may try again.
    #[error("{kind} {name} is being changed concurrently; try again.")]
    Conflict { kind: &'static str, name: String },
    /// A request the control plane refuses (beyond the domain's own rules).
    #[error("{0}")]
    InvalidParameter(String),
    /// The object is not in a state that allows the request.
    #[error("{0}")]
    InvalidState(String),
    /// The domain refused the request or a transition.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The worker no longer holds the task run's lease: another worker took it over, or it ended.
    #[error("the lease on task run {task_run} is lost: {source}")]
    LeaseLost {
        task_run: RunId,
        #[source]
        source: DomainError,
    },
    /// A stored document does not decode (a bug or a foreign writer).
    #[error("stored {kind} {item} is unreadable: {source}")]
    Corrupt {
        kind: &'static str,
        item: String,
        #[source]
        source: serde_json::Error,
    },
    /// The state store failed (throttling, unavailable, a bad page token).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The compute provider (EC2, local processes) failed.
    #[error(transparent)]
    Compute(#[from] lakeplane_core::cluster::compute::ComputeError),
    /// Where models run (SageMaker, local scoring servers) failed.
    #[error(transparent)]
    Serving(#[from] lakeplane_core::serving::port::ServingError),
}

impl ControlError {
    /// A version conflict that a read-modify-write may retry.
    pub(crate) fn is_conflict(&self) -> bool {
        matches!(self, ControlError::Store(StoreError::Conflict { .. }))
    }

    /// A store failure that may not recur (throttling, a timeout, an unreachable store).
    pub(crate) fn is_transient_store(&self) -> bool {
        matches!(self, ControlError::Store(e) if e.is_transient())
    }

    /// Whether the caller may succeed by trying again later.
    pub fn is_transient(&self) -> bool {
        match self {
            ControlError::Conflict { .. } => true,
            ControlError::Store(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// The control plane's result alias.
pub type ControlResult<T> = Result<T, ControlError>;

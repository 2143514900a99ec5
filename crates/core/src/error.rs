//! The domain's error: a request the domain refuses, or a transition a state machine forbids.

use crate::ids::RunId;

/// What the domain refuses. Adapters map these to their own protocols (the API to Databricks error JSON).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input is malformed or breaks a rule (an unknown dependency, a cycle, a bad id).
    #[error("{0}")]
    InvalidParameter(String),
    /// A state machine refused a transition: `object` cannot `action` while in `state`.
    #[error("cannot {action} {object}: it is {state}")]
    InvalidTransition {
        object: String,
        action: &'static str,
        state: String,
    },
    /// A worker acted on a task run whose lease it no longer holds (the lease expired and another
    /// worker claimed the task, or the task ended).
    #[error("task run {task_run} is no longer held by worker {worker}")]
    NotHolder { task_run: RunId, worker: String },
}

impl DomainError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        DomainError::InvalidParameter(msg.into())
    }
}

/// The domain's result alias.
pub type DomainResult<T> = Result<T, DomainError>;

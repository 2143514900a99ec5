//! What use cases hand back that is not a single stored record.

use std::collections::BTreeMap;

use lakeplane_core::run::{Run, TaskRun};

/// A run with its task runs, as `runs/get` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub run: Run,
    /// In the order of the job's tasks.
    pub tasks: Vec<TaskRun>,
}

/// A task run a worker has claimed, with what it needs to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub worker: String,
    /// This claim's lease token: every write the worker makes for the task is fenced by it.
    pub token: String,
    pub task: TaskRun,
    /// The version of the task run item this worker last wrote.
    pub version: u64,
    /// The parameters the task's SQL sees, resolved by precedence (`lakeplane_core::params`).
    pub parameters: BTreeMap<String, String>,
    /// When the attempt must stop (epoch ms), from the task's and the run's `timeout_seconds`.
    pub deadline: Option<Deadline>,
    /// Who the task runs as (`Run::runs_as`).
    pub run_as: String,
}

/// An attempt's time limit and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// Epoch milliseconds.
    pub at: i64,
    /// What the task's end says: "Task timed out after 5 seconds (timeout_seconds)".
    pub message: String,
}

/// What a heartbeat tells the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    Continue,
    /// The run was cancelled: stop and report the task as cancelled.
    Cancel,
}

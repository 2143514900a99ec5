//! Control-plane records that are not part of the job/run domain, and the views use cases return.

use lakeplane_core::run::{Run, TaskRun};
use serde::{Deserialize, Serialize};

/// A saved SQL query (the Queries API object a `sql_task` references by `query_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedQuery {
    pub id: String,
    pub display_name: String,
    pub query_text: String,
    #[serde(default)]
    pub warehouse_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub owner_user_name: String,
    /// Epoch milliseconds.
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_name: String,
}

/// A run with its task runs, as `runs/get` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub run: Run,
    /// In the order of the job's tasks.
    pub tasks: Vec<TaskRun>,
}

/// A page of results and the token for the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

/// A task run a worker has claimed, with what it needs to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub worker: String,
    pub task: TaskRun,
    /// The version of the task run item this worker last wrote.
    pub version: u64,
    /// The run's resolved job parameters, for `{{name}}` references.
    pub job_parameters: std::collections::BTreeMap<String, String>,
}

/// What a heartbeat tells the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    Continue,
    /// The run was cancelled: stop and report the task as cancelled.
    Cancel,
}

//! A task's run within a run: `Blocked → Queued → Running → Terminated(result)`, with a worker's lease.

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult};
use crate::ids::{RunId, TaskKey};
use crate::job::Task;

/// A task run's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "life_cycle",
    content = "result",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum TaskState {
    /// Waiting for its dependencies.
    Blocked,
    /// Ready; waiting for a worker to claim it.
    Queued,
    /// Claimed by a worker under a lease.
    Running,
    Terminated(TaskResult),
}

/// How a task run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskResult {
    Success,
    Failed,
    Canceled,
    /// Not run because a dependency failed.
    UpstreamFailed,
    /// Not run because its `run_if` condition was not met.
    Excluded,
}

impl TaskResult {
    pub(crate) fn is_failure(self) -> bool {
        matches!(self, TaskResult::Failed | TaskResult::UpstreamFailed)
    }
}

/// A worker's hold on a running task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: String,
    /// Epoch milliseconds after which another worker may claim the task.
    pub expires_at: i64,
}

/// What a finished task leaves behind for `runs/get-output`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskOutput {
    /// How many statements ran.
    pub statements: usize,
    /// Rows written or returned by the last statement.
    pub rows: u64,
    /// The first rows of the last statement's result, as JSON objects, when it returned rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample: Vec<serde_json::Value>,
}

/// One task's run within a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRun {
    /// This task run's own id (what `runs/get-output` takes).
    pub run_id: RunId,
    pub parent_run_id: RunId,
    pub task: Task,
    pub state: TaskState,
    #[serde(default)]
    pub state_message: String,
    #[serde(default)]
    pub attempt_number: u32,
    /// How many times a worker has claimed it (more than one after a lease expired).
    #[serde(default)]
    pub executions: u32,
    #[serde(default)]
    pub queued_at: Option<i64>,
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub lease: Option<Lease>,
    #[serde(default)]
    pub cancel_requested: bool,
    #[serde(default)]
    pub output: Option<TaskOutput>,
}

impl TaskRun {
    /// A new task run: blocked if it has dependencies, queued otherwise.
    pub fn new(run_id: RunId, parent_run_id: RunId, task: Task, now: i64) -> TaskRun {
        let queued = task.depends_on.is_empty();
        TaskRun {
            run_id,
            parent_run_id,
            task,
            state: if queued {
                TaskState::Queued
            } else {
                TaskState::Blocked
            },
            state_message: String::new(),
            attempt_number: 0,
            executions: 0,
            queued_at: queued.then_some(now),
            start_time: None,
            end_time: None,
            lease: None,
            cancel_requested: false,
            output: None,
        }
    }

    pub fn key(&self) -> &TaskKey {
        &self.task.task_key
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.state, TaskState::Terminated(_))
    }

    /// When a worker may claim it: a queued task at once, a running one when its lease expires.
    pub fn due_at(&self) -> Option<i64> {
        match self.state {
            TaskState::Queued => Some(self.queued_at.unwrap_or(0)),
            TaskState::Running => self.lease.as_ref().map(|l| l.expires_at),
            _ => None,
        }
    }

    /// `Blocked → Queued`.
    pub fn unblock(&mut self, now: i64) -> DomainResult<()> {
        if self.state != TaskState::Blocked {
            return Err(self.refuse("queue"));
        }
        self.state = TaskState::Queued;
        self.queued_at = Some(now);
        Ok(())
    }

    /// `Queued → Running`, or takes over a running task whose lease expired.
    pub fn claim(&mut self, worker: &str, now: i64, lease_ms: i64) -> DomainResult<()> {
        match (&self.state, &self.lease) {
            (TaskState::Queued, _) => {}
            (TaskState::Running, Some(l)) if l.expires_at <= now => {}
            _ => return Err(self.refuse("claim")),
        }
        self.state = TaskState::Running;
        self.executions += 1;
        if self.start_time.is_none() {
            self.start_time = Some(now);
        }
        self.lease = Some(Lease {
            owner: worker.to_string(),
            expires_at: now + lease_ms,
        });
        Ok(())
    }

    /// Renews the lease of the worker that holds it.
    pub fn heartbeat(&mut self, worker: &str, now: i64, lease_ms: i64) -> DomainResult<()> {
        self.check_holder(worker)?;
        self.lease = Some(Lease {
            owner: worker.to_string(),
            expires_at: now + lease_ms,
        });
        Ok(())
    }

    /// `Running → Terminated`, by the worker that holds the lease.
    pub fn finish(
        &mut self,
        worker: &str,
        now: i64,
        result: TaskResult,
        message: String,
        output: Option<TaskOutput>,
    ) -> DomainResult<()> {
        self.check_holder(worker)?;
        self.state = TaskState::Terminated(result);
        self.state_message = message;
        self.end_time = Some(now);
        self.lease = None;
        self.output = output;
        Ok(())
    }

    /// `Blocked | Queued → Terminated` without running (upstream failed, excluded, cancelled).
    pub fn skip(&mut self, result: TaskResult, message: String, now: i64) -> DomainResult<()> {
        if !matches!(self.state, TaskState::Blocked | TaskState::Queued) {
            return Err(self.refuse("skip"));
        }
        self.state = TaskState::Terminated(result);
        self.state_message = message;
        self.end_time = Some(now);
        Ok(())
    }

    fn check_holder(&self, worker: &str) -> DomainResult<()> {
        match (&self.state, &self.lease) {
            (TaskState::Running, Some(l)) if l.owner == worker => Ok(()),
            _ => Err(DomainError::NotHolder {
                task_run: self.run_id,
                worker: worker.to_string(),
            }),
        }
    }

    fn refuse(&self, action: &'static str) -> DomainError {
        DomainError::InvalidTransition {
            object: format!("task run {}", self.run_id),
            action,
            state: format!("{:?}", self.state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leases_expire_and_only_the_holder_may_finish() {
        let task: Task = serde_json::from_value(
            json!({"task_key": "a", "sql_task": {"file": {"path": "/q.sql"}}}),
        )
        .unwrap();
        let t = &mut TaskRun::new(RunId(2), RunId(1), task, 0);
        t.claim("w1", 0, 1000).unwrap();
        assert_eq!(t.due_at(), Some(1000));
        assert!(t.claim("w2", 999, 1000).is_err(), "lease still held");
        t.claim("w2", 1000, 1000).unwrap();
        assert_eq!(t.executions, 2);
        assert!(matches!(
            t.heartbeat("w1", 1001, 1000),
            Err(DomainError::NotHolder { .. })
        ));
        assert!(t
            .finish("w1", 1001, TaskResult::Success, String::new(), None)
            .is_err());
        t.finish("w2", 1001, TaskResult::Success, String::new(), None)
            .unwrap();
        assert_eq!(t.due_at(), None);
        let err = t.claim("w3", 5000, 1000).unwrap_err().to_string();
        assert!(err.contains("cannot claim task run 2"), "{err}");
    }
}

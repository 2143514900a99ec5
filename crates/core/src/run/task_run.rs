//! A task's run within a run: `Blocked → Queued → Running → Terminated(result)`, with a worker's lease.

use serde::{Deserialize, Serialize};

use super::lease::{Lease, MAX_CLOCK_SKEW_MS};
use super::record::{bound_message, Attempt, TaskOutput, MAX_ATTEMPTS_KEPT};
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
    /// Ready (or waiting for its retry interval); waiting for a worker to claim it.
    Queued,
    /// Claimed by a worker under a lease.
    Running,
    Terminated(TaskResult),
}

/// How a task run (or one attempt of it) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskResult {
    Success,
    Failed,
    /// Ran past its own or its run's `timeout_seconds`.
    #[serde(rename = "TIMEDOUT")]
    TimedOut,
    Canceled,
    /// Not run because a dependency failed.
    UpstreamFailed,
    /// Not run because its `run_if` condition was not met.
    Excluded,
}

impl TaskResult {
    pub(crate) fn is_failure(self) -> bool {
        matches!(
            self,
            TaskResult::Failed | TaskResult::TimedOut | TaskResult::UpstreamFailed
        )
    }
}

/// One task's run within a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRun {
    /// The current attempt's run id (what `runs/get-output` takes); each attempt gets its own.
    pub run_id: RunId,
    /// The first attempt's run id. Task runs are created with consecutive ids in the job's task
    /// order, so this keeps that order however many attempts follow. `None` in task runs stored
    /// before attempts had ids of their own, whose `run_id` never changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_attempt_run_id: Option<RunId>,
    pub parent_run_id: RunId,
    pub task: Task,
    pub state: TaskState,
    #[serde(default)]
    pub state_message: String,
    /// The current attempt: 0 first, then one more for each retry and each take-over.
    #[serde(default)]
    pub attempt_number: u32,
    /// Retries used by `max_retries`.
    #[serde(default)]
    pub retries: u32,
    /// How many times the task lost its worker (see [`MAX_LEASE_LOSSES`]).
    #[serde(default)]
    pub lease_losses: u32,
    /// Earlier attempts, oldest first (at most [`MAX_ATTEMPTS_KEPT`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// When it was queued, or when its retry may start.
    #[serde(default)]
    pub queued_at: Option<i64>,
    /// When the current attempt started.
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub lease: Option<Lease>,
    /// The token of the claim that recorded the last attempt's end, so that a retried completion
    /// whose first write succeeded is recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_by: Option<String>,
    #[serde(default)]
    pub cancel_requested: bool,
    #[serde(default)]
    pub output: Option<TaskOutput>,
    /// The cluster it runs on (its queue is that cluster's); the default queue when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// The worker that claimed the current (or last) attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// How many times a draining worker handed the task back (an interrupted spot node).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub handbacks: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What recording an attempt's end did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The task run ended with this result.
    Ended(TaskResult),
    /// The attempt failed and the task is queued again as a retry.
    Retrying,
    /// This claim had recorded its end already (a retried write); nothing changed.
    AlreadyRecorded,
}

impl TaskRun {
    /// A new task run: blocked if it has dependencies, queued otherwise.
    pub fn new(run_id: RunId, parent_run_id: RunId, task: Task, now: i64) -> TaskRun {
        let queued = task.depends_on.is_empty();
        TaskRun {
            run_id,
            original_attempt_run_id: Some(run_id),
            parent_run_id,
            task,
            state: if queued {
                TaskState::Queued
            } else {
                TaskState::Blocked
            },
            state_message: String::new(),
            attempt_number: 0,
            retries: 0,
            lease_losses: 0,
            attempts: Vec::new(),
            queued_at: queued.then_some(now),
            start_time: None,
            end_time: None,
            lease: None,
            completed_by: None,
            cancel_requested: false,
            output: None,
            cluster_id: None,
            worker: None,
            handbacks: 0,
        }
    }

    /// Where the task stands in its job's order: its first attempt's run id.
    pub fn position(&self) -> RunId {
        self.original_attempt_run_id.unwrap_or(self.run_id)
    }

    pub fn key(&self) -> &TaskKey {
        &self.task.task_key
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.state, TaskState::Terminated(_))
    }

    /// When a worker may claim it (by any host's clock): a queued task from `queued_at`, a running
    /// one once its lease has expired by more than the clock skew tolerated.
    pub fn due_at(&self) -> Option<i64> {
        match self.state {
            TaskState::Queued => Some(self.queued_at.unwrap_or(0)),
            TaskState::Running => self
                .lease
                .as_ref()
                .map(|l| l.expires_at.saturating_add(MAX_CLOCK_SKEW_MS)),
            _ => None,
        }
    }

    /// Whether its worker's lease has run out (by this host's clock, allowing for skew).
    pub fn lease_expired(&self, now: i64) -> bool {
        self.state == TaskState::Running && self.due_at().is_some_and(|d| d <= now)
    }

    /// Whether a worker may claim it at `now`: queued, and past any retry interval.
    pub fn claimable(&self, now: i64) -> bool {
        self.state == TaskState::Queued && self.queued_at.is_none_or(|q| q <= now)
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

    /// `Queued → Running` under a fresh lease identified by `token`.
    pub fn claim(
        &mut self,
        worker: &str,
        token: &str,
        now: i64,
        lease_ms: i64,
    ) -> DomainResult<()> {
        if !self.claimable(now) {
            return Err(self.refuse("claim"));
        }
        self.state = TaskState::Running;
        self.start_time = Some(now);
        self.worker = Some(worker.to_string());
        self.lease = Some(Lease {
            token: token.to_string(),
            owner: worker.to_string(),
            expires_at: now + lease_ms,
        });
        Ok(())
    }

    /// Ends the attempt of a worker that stopped renewing its lease: the task is queued again as
    /// attempt `next_id`, or ends FAILED after `max_losses` losses (see [`MAX_LEASE_LOSSES`]), or
    /// CANCELED if its run was being cancelled.
    pub fn expire(&mut self, now: i64, next_id: RunId, max_losses: u32) -> DomainResult<()> {
        if !self.lease_expired(now) {
            return Err(self.refuse("expire the lease of"));
        }
        self.lease_losses += 1;
        let owner = self.lease.take().map(|l| l.owner).unwrap_or_default();
        let lost = format!(
            "The worker running this attempt ({owner}) stopped renewing its lease: it died or lost \
             the state store."
        );
        if self.cancel_requested {
            self.end(TaskResult::Canceled, "Run was cancelled".into(), now);
        } else if self.lease_losses >= max_losses {
            let message = format!(
                "Task {} lost its worker {} times (each time its lease expired without a \
                 heartbeat) and was not run again. The task itself may be what stops its workers, \
                 for example by exhausting their memory.",
                self.key(),
                self.lease_losses
            );
            self.end(TaskResult::Failed, message, now);
        } else {
            self.requeue(next_id, TaskResult::Failed, lost, now, now);
        }
        Ok(())
    }

    /// Renews the lease of the claim `token`.
    pub fn heartbeat(&mut self, token: &str, now: i64, lease_ms: i64) -> DomainResult<()> {
        self.check_holder(token)?;
        if let Some(l) = &mut self.lease {
            l.expires_at = now + lease_ms;
        }
        Ok(())
    }

    /// Whether the task runs again after an attempt that ended with `result` (its retry policy).
    pub fn retries_after(&self, result: TaskResult) -> bool {
        !self.cancel_requested
            && matches!(result, TaskResult::Failed | TaskResult::TimedOut)
            && self
                .task
                .retry
                .retries_after(self.retries, result == TaskResult::TimedOut)
    }

    /// Records how the attempt of claim `token` ended. A failed attempt with retries left is queued
    /// again as attempt `retry_id` after the retry interval (`retry_id` must then be given).
    pub fn finish(
        &mut self,
        token: &str,
        now: i64,
        result: TaskResult,
        message: String,
        output: Option<TaskOutput>,
        retry_id: Option<RunId>,
    ) -> DomainResult<Finished> {
        if self.completed_by.as_deref() == Some(token) {
            return Ok(Finished::AlreadyRecorded);
        }
        self.check_holder(token)?;
        self.completed_by = Some(token.to_string());
        self.lease = None;
        match retry_id {
            Some(id) if self.retries_after(result) => {
                self.retries += 1;
                let at = now.saturating_add(self.task.retry.interval_ms());
                self.requeue(id, result, message, now, at);
                Ok(Finished::Retrying)
            }
            _ => {
                self.end(result, message, now);
                self.output = output.map(|mut o| {
                    o.bound();
                    o
                });
                Ok(Finished::Ended(result))
            }
        }
    }

    /// `Blocked | Queued → Terminated` without running (upstream failed, excluded, cancelled).
    pub fn skip(&mut self, result: TaskResult, message: String, now: i64) -> DomainResult<()> {
        if !matches!(self.state, TaskState::Blocked | TaskState::Queued) {
            return Err(self.refuse("skip"));
        }
        self.end(result, message, now);
        Ok(())
    }

    pub(super) fn end(&mut self, result: TaskResult, message: String, now: i64) {
        self.state = TaskState::Terminated(result);
        self.state_message = bound_message(message);
        self.end_time = Some(now);
        self.lease = None;
    }

    /// Files the current attempt under `attempts` and queues attempt `next_id` from `at`.
    pub(super) fn requeue(
        &mut self,
        next_id: RunId,
        result: TaskResult,
        message: String,
        now: i64,
        at: i64,
    ) {
        self.attempts.push(Attempt {
            run_id: self.run_id,
            attempt_number: self.attempt_number,
            result,
            state_message: bound_message(message),
            start_time: self.start_time,
            end_time: now,
            worker: self.worker.take(),
        });
        if self.attempts.len() > MAX_ATTEMPTS_KEPT {
            self.attempts.remove(0);
        }
        self.run_id = next_id;
        self.attempt_number += 1;
        self.state = TaskState::Queued;
        self.state_message = String::new();
        self.queued_at = Some(at);
        self.start_time = None;
        self.lease = None;
        self.output = None;
    }

    pub(super) fn check_holder(&self, token: &str) -> DomainResult<()> {
        match (&self.state, &self.lease) {
            (TaskState::Running, Some(l)) if l.token == token => Ok(()),
            _ => Err(DomainError::NotHolder {
                task_run: self.run_id,
                worker: self
                    .lease
                    .as_ref()
                    .map(|l| l.owner.clone())
                    .unwrap_or_default(),
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
#[path = "task_run_tests.rs"]
mod tests;

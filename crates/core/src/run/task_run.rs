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

/// How much later than a lease's expiry (by the holder's clock) another host may take the task over.
/// Safe while hosts' clocks differ by less than this: the holder stops by its own deadline, which is
/// at or before `expires_at` on its clock, so at or before `expires_at + MAX_CLOCK_SKEW_MS` on any
/// other host's. NTP-synchronised hosts (Amazon Time Sync) stay within milliseconds.
pub const MAX_CLOCK_SKEW_MS: i64 = 1_000;

/// How many times a task may lose its worker (its lease expires without a heartbeat) before it ends
/// FAILED instead of running again, unless the control plane is configured otherwise: a task that
/// kills every worker it runs on (a query that exhausts the machine's memory) must not take the
/// fleet down one worker at a time.
pub const MAX_LEASE_LOSSES: u32 = 3;

/// The longest state message kept, in bytes (longer ones are cut at a character boundary).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;

/// The most bytes of sample rows kept with an output (a DynamoDB item holds at most 400 KiB).
pub const MAX_SAMPLE_BYTES: usize = 64 * 1024;

/// How many earlier attempts a task run keeps (the newest); `max_retries = -1` could grow without end.
pub const MAX_ATTEMPTS_KEPT: usize = 20;

/// A worker's hold on a running task, made fresh by each claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Unique to this claim: every write the holder makes is fenced by it. (Empty in leases stored
    /// before claims had tokens; no worker holds such a token, so they can only expire.)
    #[serde(default)]
    pub token: String,
    /// The worker, for logs and `runs/get`.
    pub owner: String,
    /// Epoch milliseconds, by the holder's clock, after which it no longer counts on the lease.
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
    /// Whether rows were dropped from `sample` to keep it under [`MAX_SAMPLE_BYTES`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl TaskOutput {
    /// Drops sample rows from the end until the sample fits in [`MAX_SAMPLE_BYTES`].
    fn bound(&mut self) {
        let mut size: usize = self.sample.iter().map(|r| r.to_string().len() + 1).sum();
        while size > MAX_SAMPLE_BYTES {
            match self.sample.pop() {
                Some(row) => size -= row.to_string().len() + 1,
                None => break,
            }
            self.truncated = true;
        }
    }
}

/// An earlier attempt of a task run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The attempt's own run id.
    pub run_id: RunId,
    pub attempt_number: u32,
    pub result: TaskResult,
    #[serde(default)]
    pub state_message: String,
    #[serde(default)]
    pub start_time: Option<i64>,
    pub end_time: i64,
}

/// One task's run within a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRun {
    /// The current attempt's run id (what `runs/get-output` takes); each attempt gets its own.
    pub run_id: RunId,
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

/// Cuts `message` to [`MAX_MESSAGE_BYTES`] at a character boundary, saying so.
pub fn bound_message(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES - 16;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str(" … (truncated)");
    }
    message
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
        }
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
        if self.state != TaskState::Queued || self.queued_at.is_some_and(|q| q > now) {
            return Err(self.refuse("claim"));
        }
        self.state = TaskState::Running;
        self.start_time = Some(now);
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

    fn end(&mut self, result: TaskResult, message: String, now: i64) {
        self.state = TaskState::Terminated(result);
        self.state_message = bound_message(message);
        self.end_time = Some(now);
        self.lease = None;
    }

    /// Files the current attempt under `attempts` and queues attempt `next_id` from `at`.
    fn requeue(&mut self, next_id: RunId, result: TaskResult, message: String, now: i64, at: i64) {
        self.attempts.push(Attempt {
            run_id: self.run_id,
            attempt_number: self.attempt_number,
            result,
            state_message: bound_message(message),
            start_time: self.start_time,
            end_time: now,
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

    fn check_holder(&self, token: &str) -> DomainResult<()> {
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
mod tests {
    use super::*;
    use serde_json::json;

    fn task(extra: serde_json::Value) -> TaskRun {
        let mut v = json!({"task_key": "a", "sql_task": {"file": {"path": "/q.sql"}}});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        TaskRun::new(RunId(2), RunId(1), serde_json::from_value(v).unwrap(), 0)
    }

    #[test]
    fn a_lease_is_held_by_its_claim_token_and_taken_over_after_skew() {
        let t = &mut task(json!({}));
        t.claim("w1", "tok-1", 0, 1000).unwrap();
        assert_eq!(t.due_at(), Some(1000 + MAX_CLOCK_SKEW_MS));
        assert!(!t.lease_expired(1000), "not before the skew allowance");
        assert!(t.expire(1000, RunId(9), MAX_LEASE_LOSSES).is_err());
        // Same worker name, another claim: not the holder.
        assert!(matches!(
            t.heartbeat("tok-other", 10, 1000),
            Err(DomainError::NotHolder { .. })
        ));
        t.expire(1000 + MAX_CLOCK_SKEW_MS, RunId(9), MAX_LEASE_LOSSES)
            .unwrap();
        assert_eq!(
            (t.state, t.run_id, t.attempt_number),
            (TaskState::Queued, RunId(9), 1)
        );
        assert_eq!(t.attempts.len(), 1);
        assert_eq!(t.attempts[0].run_id, RunId(2));
        assert!(t
            .finish(
                "tok-1",
                5000,
                TaskResult::Success,
                String::new(),
                None,
                None
            )
            .is_err());
        t.claim("w1", "tok-2", 5000, 1000).unwrap();
        let done = t.finish(
            "tok-2",
            5001,
            TaskResult::Success,
            String::new(),
            None,
            None,
        );
        assert_eq!(done.unwrap(), Finished::Ended(TaskResult::Success));
        // The same completion again (its reply was lost) is recognised, not refused.
        let again = t.finish(
            "tok-2",
            5002,
            TaskResult::Success,
            String::new(),
            None,
            None,
        );
        assert_eq!(again.unwrap(), Finished::AlreadyRecorded);
        assert_eq!(t.due_at(), None);
    }

    #[test]
    fn a_task_that_keeps_losing_its_worker_ends_failed() {
        let t = &mut task(json!({"max_retries": 5}));
        let mut now = 0;
        for i in 0..MAX_LEASE_LOSSES {
            t.claim("w", &format!("t{i}"), now, 10).unwrap();
            now += 10 + MAX_CLOCK_SKEW_MS;
            t.expire(now, RunId(10 + u64::from(i)), MAX_LEASE_LOSSES)
                .unwrap();
        }
        assert_eq!(t.state, TaskState::Terminated(TaskResult::Failed));
        assert!(
            t.state_message.contains("lost its worker 3 times"),
            "{}",
            t.state_message
        );
    }

    #[test]
    fn failures_retry_after_the_interval_up_to_max_retries() {
        let t = &mut task(json!({"max_retries": 1, "min_retry_interval_millis": 500}));
        t.claim("w", "a", 0, 1000).unwrap();
        let r = t.finish(
            "a",
            10,
            TaskResult::Failed,
            "boom".into(),
            None,
            Some(RunId(7)),
        );
        assert_eq!(r.unwrap(), Finished::Retrying);
        assert_eq!(
            (t.attempt_number, t.run_id, t.due_at()),
            (1, RunId(7), Some(510))
        );
        assert!(
            t.claim("w", "b", 509, 1000).is_err(),
            "not before the interval"
        );
        t.claim("w", "b", 510, 1000).unwrap();
        let r = t.finish(
            "b",
            600,
            TaskResult::Failed,
            "boom".into(),
            None,
            Some(RunId(8)),
        );
        assert_eq!(r.unwrap(), Finished::Ended(TaskResult::Failed));
        assert_eq!(t.attempts[0].state_message, "boom");
    }

    #[test]
    fn records_are_bounded() {
        let t = &mut task(json!({}));
        t.claim("w", "a", 0, 1000).unwrap();
        let rows = (0..10_000)
            .map(|i| json!({"i": i, "pad": "x".repeat(20)}))
            .collect();
        let out = TaskOutput {
            statements: 1,
            rows: 10_000,
            sample: rows,
            truncated: false,
        };
        t.finish(
            "a",
            1,
            TaskResult::Failed,
            "é".repeat(10_000),
            Some(out),
            None,
        )
        .unwrap();
        assert!(t.state_message.len() <= MAX_MESSAGE_BYTES);
        let out = t.output.as_ref().unwrap();
        assert!(
            out.truncated && serde_json::to_string(&out.sample).unwrap().len() <= MAX_SAMPLE_BYTES
        );
    }
}

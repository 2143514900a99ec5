//! Runs and task runs, and their state machines.
//!
//! A run is created with one task run per task. Task runs move
//! `Blocked → Queued → Running → Terminated(result)`; a worker holds a running task under a lease that it
//! renews with heartbeats, and a task whose lease has expired may be claimed again by another worker.
//! The run moves `Pending → Running → (Terminating →) Terminated(result)`. [`plan`] says, from the tasks'
//! states, which tasks to queue or skip and when the run ends.
//!
//! These are lakeplane's states, stored as they are here; the API maps them to Databricks' wire
//! names (`life_cycle_state`, `result_state`, `status`) in one place of its own.

mod handback;
mod lease;
mod plan;
mod record;
mod task_run;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult};
use crate::ids::{JobId, RunId};

pub use lease::{Lease, MAX_CLOCK_SKEW_MS, MAX_LEASE_LOSSES};
pub use plan::{plan, Plan};

pub use handback::MAX_HANDBACKS;
pub use record::{
    bound_message, Attempt, TaskOutput, MAX_ATTEMPTS_KEPT, MAX_MESSAGE_BYTES, MAX_SAMPLE_BYTES,
};
pub use task_run::{Finished, TaskResult, TaskRun, TaskState};

/// How the run was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunType {
    /// `jobs/run-now`.
    JobRun,
    /// `jobs/runs/submit`.
    SubmitRun,
}

/// A run's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "life_cycle",
    content = "result",
    rename_all = "SCREAMING_SNAKE_CASE"
)]
pub enum RunState {
    Pending,
    Running,
    /// Cancellation was asked for; running tasks are being stopped.
    Terminating,
    Terminated(RunResult),
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunResult {
    Success,
    Failed,
    /// A task or the run itself ran past its `timeout_seconds`.
    #[serde(rename = "TIMEDOUT")]
    TimedOut,
    Canceled,
}

/// A run of a job or a one-time submitted run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub run_id: RunId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    pub run_name: String,
    pub run_type: RunType,
    pub creator_user_name: String,
    /// Who the run's tasks run as (their SQL is checked against this principal's grants): the
    /// job's owner for a job's run, the submitter for a one-time run. Empty in runs stored
    /// before it existed, which run as their creator.
    #[serde(default)]
    pub run_as: String,
    /// Resolved job parameters (defaults overridden by `job_parameters` of run-now).
    #[serde(default)]
    pub job_parameters: BTreeMap<String, String>,
    /// run-now's legacy `sql_params`: overrides of the SQL tasks' own parameters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sql_params: BTreeMap<String, String>,
    pub state: RunState,
    #[serde(default)]
    pub state_message: String,
    /// Epoch milliseconds.
    pub start_time: i64,
    #[serde(default)]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub user_cancelled: bool,
    /// The job's `timeout_seconds` (0 or absent: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// When the reconciler should next look at the run, while it is active (epoch ms): runs that
    /// end on their own within that time are never looked at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_at: Option<i64>,
}

/// The longest the reconciler waits between two looks at an active run.
pub const MAX_CHECK_INTERVAL_MS: i64 = 10 * 60 * 1000;

impl Run {
    /// The principal the run's tasks run as.
    pub fn runs_as(&self) -> &str {
        match self.run_as.is_empty() {
            true => &self.creator_user_name,
            false => &self.run_as,
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.state, RunState::Terminated(_))
    }

    /// When the run times out (epoch ms), if it has a limit.
    pub fn deadline(&self) -> Option<i64> {
        self.timeout_seconds.filter(|s| *s > 0).map(|s| {
            self.start_time
                .saturating_add(i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX))
        })
    }

    /// Whether it is still going past its deadline at `now`.
    pub fn timed_out(&self, now: i64) -> bool {
        !self.is_terminal() && self.deadline().is_some_and(|d| d <= now)
    }

    /// When the reconciler should look at the run after a look at `now`, given `first`, the wait
    /// before its first look: a quarter of the run's age (at least `first`, at most
    /// [`MAX_CHECK_INTERVAL_MS`]) from now, and never after its deadline.
    pub fn next_check(&self, now: i64, first: i64) -> i64 {
        let age = now.saturating_sub(self.start_time).max(0);
        let wait = (age / 4).clamp(first.max(0), MAX_CHECK_INTERVAL_MS.max(first));
        let at = now.saturating_add(wait);
        self.deadline().map_or(at, |d| at.min(d.max(now)))
    }

    /// Whether new tasks of the run may start: not when it is being cancelled, has ended or has
    /// run out of time.
    pub fn accepts_work(&self, now: i64) -> bool {
        matches!(self.state, RunState::Pending | RunState::Running) && !self.timed_out(now)
    }

    /// `Pending → Running`, when its first task starts. Idempotent once running.
    pub fn start(&mut self) -> DomainResult<bool> {
        match self.state {
            RunState::Pending => {
                self.state = RunState::Running;
                Ok(true)
            }
            RunState::Running | RunState::Terminating => Ok(false),
            RunState::Terminated(_) => Err(self.refuse("start")),
        }
    }

    /// Asks for cancellation: `Pending | Running → Terminating`. Cancelling an ended run does nothing.
    pub fn request_cancel(&mut self) -> bool {
        match self.state {
            RunState::Pending | RunState::Running => {
                self.state = RunState::Terminating;
                self.user_cancelled = true;
                true
            }
            RunState::Terminating | RunState::Terminated(_) => false,
        }
    }

    /// Ends the run.
    pub fn terminate(&mut self, result: RunResult, message: String, now: i64) -> DomainResult<()> {
        if self.is_terminal() {
            return Err(self.refuse("terminate"));
        }
        self.state = RunState::Terminated(result);
        self.state_message = message;
        self.end_time = Some(now);
        Ok(())
    }

    fn refuse(&self, action: &'static str) -> DomainError {
        DomainError::InvalidTransition {
            object: format!("run {}", self.run_id),
            action,
            state: format!("{:?}", self.state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_space_out_with_age_and_stop_at_the_deadline() {
        let mut run: Run = serde_json::from_value(serde_json::json!({
            "run_id": 1, "run_name": "r", "run_type": "JOB_RUN", "creator_user_name": "u",
            "state": {"life_cycle": "RUNNING"}, "start_time": 0}))
        .unwrap();
        assert_eq!(run.next_check(0, 60_000), 60_000);
        assert_eq!(run.next_check(400_000, 60_000), 500_000);
        assert_eq!(
            run.next_check(100_000_000, 60_000),
            100_000_000 + MAX_CHECK_INTERVAL_MS
        );
        run.timeout_seconds = Some(90);
        assert_eq!(run.next_check(0, 60_000), 60_000);
        assert_eq!(
            run.next_check(60_000, 60_000),
            90_000,
            "not after the deadline"
        );
        assert_eq!(run.next_check(0, 0), 0);
    }
}

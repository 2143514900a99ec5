//! Runs and task runs: their state machines, and the Databricks `state` / `status` objects they produce.
//!
//! A run is created with one task run per task. Task runs move
//! `Blocked → Queued → Running → Terminated(result)`; a worker holds a running task under a lease that it
//! renews with heartbeats, and a task whose lease has expired may be claimed again by another worker.
//! The run moves `Pending → Running → (Terminating →) Terminated(result)`. [`plan`] says, from the tasks'
//! states, which tasks to queue or skip and when the run ends.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult};
use crate::ids::{JobId, RunId, TaskKey};
use crate::job::{RunIf, Task};

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
    /// Resolved job parameters (defaults overridden by `job_parameters` of run-now).
    #[serde(default)]
    pub job_parameters: BTreeMap<String, String>,
    pub state: RunState,
    #[serde(default)]
    pub state_message: String,
    /// Epoch milliseconds.
    pub start_time: i64,
    #[serde(default)]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub user_cancelled: bool,
}

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
    fn is_failure(self) -> bool {
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

impl Run {
    pub fn is_terminal(&self) -> bool {
        matches!(self.state, RunState::Terminated(_))
    }

    /// `Pending → Running`, when its first task starts. Idempotent once running.
    pub fn start(&mut self) -> DomainResult<bool> {
        match self.state {
            RunState::Pending => {
                self.state = RunState::Running;
                Ok(true)
            }
            RunState::Running | RunState::Terminating => Ok(false),
            RunState::Terminated(_) => Err(DomainError::state(format!(
                "run {} has already terminated",
                self.run_id
            ))),
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
            return Err(DomainError::state(format!(
                "run {} has already terminated",
                self.run_id
            )));
        }
        self.state = RunState::Terminated(result);
        self.state_message = message;
        self.end_time = Some(now);
        Ok(())
    }

    /// The legacy `state` object that the SDK's waiters read.
    pub fn databricks_state(&self) -> DatabricksState {
        let (life, result) = match self.state {
            RunState::Pending => ("PENDING", None),
            RunState::Running => ("RUNNING", None),
            RunState::Terminating => ("TERMINATING", None),
            RunState::Terminated(r) => ("TERMINATED", Some(run_result_name(r))),
        };
        DatabricksState {
            life_cycle_state: life,
            result_state: result,
            state_message: self.state_message.clone(),
            user_cancelled_or_timedout: self.user_cancelled,
        }
    }

    /// The newer `status` object.
    pub fn databricks_status(&self) -> DatabricksStatus {
        let termination_details = match self.state {
            RunState::Terminated(r) => Some(match r {
                RunResult::Success => TerminationDetails::new("SUCCESS", "SUCCESS", ""),
                RunResult::Failed => TerminationDetails::new(
                    "RUN_EXECUTION_ERROR",
                    "CLIENT_ERROR",
                    &self.state_message,
                ),
                RunResult::Canceled => {
                    TerminationDetails::new("USER_CANCELED", "SUCCESS", &self.state_message)
                }
            }),
            _ => None,
        };
        DatabricksStatus {
            state: match self.state {
                RunState::Pending => "PENDING",
                RunState::Running => "RUNNING",
                RunState::Terminating => "TERMINATING",
                RunState::Terminated(_) => "TERMINATED",
            },
            termination_details,
        }
    }
}

fn run_result_name(r: RunResult) -> &'static str {
    match r {
        RunResult::Success => "SUCCESS",
        RunResult::Failed => "FAILED",
        RunResult::Canceled => "CANCELED",
    }
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
            _ => Err(DomainError::state(format!(
                "task run {} is no longer held by worker {worker}",
                self.run_id
            ))),
        }
    }

    fn refuse(&self, what: &str) -> DomainError {
        DomainError::state(format!(
            "cannot {what} task run {} in state {:?}",
            self.run_id, self.state
        ))
    }

    /// The legacy `state` object of a task run.
    pub fn databricks_state(&self) -> DatabricksState {
        let (life, result) = match self.state {
            TaskState::Blocked => ("BLOCKED", None),
            TaskState::Queued => ("PENDING", None),
            TaskState::Running => ("RUNNING", None),
            TaskState::Terminated(r) => ("TERMINATED", Some(task_result_name(r))),
        };
        DatabricksState {
            life_cycle_state: life,
            result_state: result,
            state_message: self.state_message.clone(),
            user_cancelled_or_timedout: self.state == TaskState::Terminated(TaskResult::Canceled),
        }
    }

    /// The newer `status` object of a task run.
    pub fn databricks_status(&self) -> DatabricksStatus {
        let (state, details) = match self.state {
            TaskState::Blocked => ("BLOCKED", None),
            TaskState::Queued => ("PENDING", None),
            TaskState::Running => ("RUNNING", None),
            TaskState::Terminated(r) => {
                let msg = &self.state_message;
                let d = match r {
                    TaskResult::Success => TerminationDetails::new("SUCCESS", "SUCCESS", msg),
                    TaskResult::Failed => {
                        TerminationDetails::new("RUN_EXECUTION_ERROR", "CLIENT_ERROR", msg)
                    }
                    TaskResult::Canceled => {
                        TerminationDetails::new("USER_CANCELED", "SUCCESS", msg)
                    }
                    TaskResult::UpstreamFailed | TaskResult::Excluded => {
                        TerminationDetails::new("SKIPPED", "SUCCESS", msg)
                    }
                };
                ("TERMINATED", Some(d))
            }
        };
        DatabricksStatus {
            state,
            termination_details: details,
        }
    }
}

fn task_result_name(r: TaskResult) -> &'static str {
    match r {
        TaskResult::Success => "SUCCESS",
        TaskResult::Failed => "FAILED",
        TaskResult::Canceled => "CANCELED",
        TaskResult::UpstreamFailed => "UPSTREAM_FAILED",
        TaskResult::Excluded => "EXCLUDED",
    }
}

/// Databricks' legacy run `state` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabricksState {
    pub life_cycle_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_state: Option<&'static str>,
    pub state_message: String,
    pub user_cancelled_or_timedout: bool,
}

/// Databricks' newer run `status` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabricksStatus {
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_details: Option<TerminationDetails>,
}

/// `status.termination_details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TerminationDetails {
    pub code: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
}

impl TerminationDetails {
    fn new(code: &'static str, kind: &'static str, message: &str) -> Self {
        TerminationDetails {
            code,
            kind,
            message: message.to_string(),
        }
    }
}

/// What to do next with a run, from its tasks' states.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Blocked tasks whose dependencies have ended so that they may run.
    pub queue: Vec<TaskKey>,
    /// Tasks that will never run, with the result and message to record.
    pub skip: Vec<(TaskKey, TaskResult, String)>,
    /// The run's end, once every task has ended (counting the skips above).
    pub finish: Option<(RunResult, String)>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.skip.is_empty() && self.finish.is_none()
    }
}

/// Plans a run's next step. Pure: the caller applies the plan with conditional writes and, on a
/// conflict, reads again and plans again, so concurrent callers converge.
pub fn plan(run: &Run, tasks: &[TaskRun]) -> Plan {
    let mut plan = Plan::default();
    if run.is_terminal() {
        return plan;
    }
    let mut ended: HashMap<&TaskKey, TaskResult> = tasks
        .iter()
        .filter_map(|t| match t.state {
            TaskState::Terminated(r) => Some((t.key(), r)),
            _ => None,
        })
        .collect();

    if run.state == RunState::Terminating {
        for t in tasks {
            if matches!(t.state, TaskState::Blocked | TaskState::Queued) {
                plan.skip.push((
                    t.key().clone(),
                    TaskResult::Canceled,
                    "Run was cancelled".into(),
                ));
                ended.insert(t.key(), TaskResult::Canceled);
            }
        }
    } else {
        // Skips cascade: repeat until no blocked task changes.
        loop {
            let mut changed = false;
            for t in tasks.iter().filter(|t| t.state == TaskState::Blocked) {
                if ended.contains_key(t.key()) || plan.queue.contains(t.key()) {
                    continue;
                }
                let deps: Option<Vec<(&TaskKey, TaskResult)>> = t
                    .task
                    .depends_on
                    .iter()
                    .map(|d| ended.get(&d.task_key).map(|r| (&d.task_key, *r)))
                    .collect();
                let Some(deps) = deps else { continue };
                changed = true;
                match decide(t.task.run_if.unwrap_or_default(), &deps) {
                    Decision::Run => plan.queue.push(t.key().clone()),
                    Decision::Skip(result, msg) => {
                        ended.insert(t.key(), result);
                        plan.skip.push((t.key().clone(), result, msg));
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    if plan.queue.is_empty() && tasks.iter().all(|t| ended.contains_key(t.key())) {
        plan.finish = Some(run_outcome(run, tasks, &ended));
    }
    plan
}

enum Decision {
    Run,
    Skip(TaskResult, String),
}

fn decide(run_if: RunIf, deps: &[(&TaskKey, TaskResult)]) -> Decision {
    let failed: Vec<&str> = deps
        .iter()
        .filter(|(_, r)| r.is_failure())
        .map(|(k, _)| k.as_str())
        .collect();
    let succeeded = deps
        .iter()
        .filter(|(_, r)| *r == TaskResult::Success)
        .count();
    let ok = match run_if {
        RunIf::AllSuccess => succeeded == deps.len(),
        RunIf::AllDone => true,
        RunIf::NoneFailed => failed.is_empty(),
        RunIf::AtLeastOneSuccess => succeeded > 0,
        RunIf::AllFailed => failed.len() == deps.len(),
        RunIf::AtLeastOneFailed => !failed.is_empty(),
    };
    if ok {
        Decision::Run
    } else if !failed.is_empty() && matches!(run_if, RunIf::AllSuccess | RunIf::NoneFailed) {
        Decision::Skip(
            TaskResult::UpstreamFailed,
            format!("Upstream task(s) failed: {}", failed.join(", ")),
        )
    } else if deps.iter().any(|(_, r)| *r == TaskResult::Canceled) {
        Decision::Skip(TaskResult::Canceled, "Upstream task was cancelled".into())
    } else {
        Decision::Skip(
            TaskResult::Excluded,
            format!("run_if {run_if:?} was not met"),
        )
    }
}

fn run_outcome(
    run: &Run,
    tasks: &[TaskRun],
    ended: &HashMap<&TaskKey, TaskResult>,
) -> (RunResult, String) {
    if run.state == RunState::Terminating || run.user_cancelled {
        return (RunResult::Canceled, "Run was cancelled".into());
    }
    // The first task (in the job's order) that failed by itself names the failure.
    if let Some(t) = tasks
        .iter()
        .find(|t| ended.get(t.key()) == Some(&TaskResult::Failed))
    {
        let skipped = ended
            .values()
            .filter(|r| **r == TaskResult::UpstreamFailed)
            .count();
        let mut msg = format!("Task {} failed with message: {}", t.key(), t.state_message);
        if skipped > 0 {
            msg.push_str(&format!(
                " This caused {skipped} downstream task(s) to be skipped."
            ));
        }
        return (RunResult::Failed, msg);
    }
    if ended.values().any(|r| *r == TaskResult::Canceled) {
        return (RunResult::Canceled, "A task was cancelled".into());
    }
    (RunResult::Success, String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobSettings;
    use serde_json::json;

    fn fixture(deps: &[(&str, &[&str])]) -> (Run, Vec<TaskRun>) {
        let tasks: Vec<_> = deps
            .iter()
            .map(|(k, d)| json!({"task_key": k, "depends_on": d.iter().map(|x| json!({"task_key": x})).collect::<Vec<_>>(),
                                  "sql_task": {"file": {"path": "/q.sql"}}}))
            .collect();
        let s = JobSettings::from_json(json!({"tasks": tasks})).unwrap();
        let run = Run {
            run_id: RunId(1),
            job_id: Some(JobId(1)),
            run_name: "r".into(),
            run_type: RunType::JobRun,
            creator_user_name: "u".into(),
            job_parameters: BTreeMap::new(),
            state: RunState::Pending,
            state_message: String::new(),
            start_time: 0,
            end_time: None,
            user_cancelled: false,
        };
        let trs = s
            .tasks
            .into_iter()
            .enumerate()
            .map(|(i, t)| TaskRun::new(RunId(2 + i as u64), RunId(1), t, 0))
            .collect();
        (run, trs)
    }

    fn finish(t: &mut TaskRun, r: TaskResult, msg: &str) {
        t.claim("w", 0, 1000).unwrap();
        t.finish("w", 1, r, msg.into(), None).unwrap();
    }

    #[test]
    fn dependents_queue_when_dependencies_succeed() {
        let (run, mut t) = fixture(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])]);
        assert_eq!(t[0].state, TaskState::Queued);
        assert_eq!(t[1].state, TaskState::Blocked);
        assert!(plan(&run, &t).is_empty());
        finish(&mut t[0], TaskResult::Success, "");
        let p = plan(&run, &t);
        assert_eq!(
            p.queue.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            vec!["b", "c"]
        );
        assert!(p.finish.is_none());
    }

    #[test]
    fn a_failure_skips_downstream_and_fails_the_run_naming_the_task() {
        let (run, mut t) = fixture(&[("a", &[]), ("b", &["a"]), ("c", &["b"])]);
        finish(&mut t[0], TaskResult::Failed, "table not found: x");
        let p = plan(&run, &t);
        assert!(p.queue.is_empty());
        assert_eq!(p.skip.len(), 2, "the skip cascades to c");
        assert!(p
            .skip
            .iter()
            .all(|(_, r, _)| *r == TaskResult::UpstreamFailed));
        let (result, msg) = p.finish.unwrap();
        assert_eq!(result, RunResult::Failed);
        assert!(
            msg.contains("Task a failed with message: table not found: x"),
            "{msg}"
        );
    }

    #[test]
    fn run_if_all_done_runs_after_a_failure() {
        let (run, mut t) = fixture(&[("a", &[]), ("cleanup", &["a"])]);
        t[1].task.run_if = Some(RunIf::AllDone);
        finish(&mut t[0], TaskResult::Failed, "boom");
        let p = plan(&run, &t);
        assert_eq!(p.queue.len(), 1);
    }

    #[test]
    fn all_success_finishes_the_run() {
        let (run, mut t) = fixture(&[("a", &[])]);
        finish(&mut t[0], TaskResult::Success, "");
        assert_eq!(plan(&run, &t).finish.unwrap().0, RunResult::Success);
    }

    #[test]
    fn cancel_skips_waiting_tasks() {
        let (mut run, t) = fixture(&[("a", &[]), ("b", &["a"])]);
        assert!(run.request_cancel());
        let p = plan(&run, &t);
        assert_eq!(p.skip.len(), 2);
        assert_eq!(p.finish.unwrap().0, RunResult::Canceled);
    }

    #[test]
    fn leases_expire_and_only_the_holder_may_finish() {
        let (_, mut t) = fixture(&[("a", &[])]);
        let t = &mut t[0];
        t.claim("w1", 0, 1000).unwrap();
        assert_eq!(t.due_at(), Some(1000));
        assert!(t.claim("w2", 999, 1000).is_err(), "lease still held");
        t.claim("w2", 1000, 1000).unwrap();
        assert_eq!(t.executions, 2);
        assert!(t.heartbeat("w1", 1001, 1000).is_err());
        assert!(t
            .finish("w1", 1001, TaskResult::Success, String::new(), None)
            .is_err());
        t.finish("w2", 1001, TaskResult::Success, String::new(), None)
            .unwrap();
        assert_eq!(t.due_at(), None);
        assert!(t.claim("w3", 5000, 1000).is_err());
    }

    #[test]
    fn databricks_objects() {
        let (mut run, _) = fixture(&[("a", &[])]);
        let s = serde_json::to_value(run.databricks_state()).unwrap();
        assert_eq!(s["life_cycle_state"], "PENDING");
        assert!(s.get("result_state").is_none());
        run.terminate(RunResult::Failed, "Task a failed".into(), 5)
            .unwrap();
        let s = serde_json::to_value(run.databricks_state()).unwrap();
        assert_eq!(s["result_state"], "FAILED");
        let st = serde_json::to_value(run.databricks_status()).unwrap();
        assert_eq!(st["termination_details"]["code"], "RUN_EXECUTION_ERROR");
        assert!(run.terminate(RunResult::Success, String::new(), 6).is_err());
    }
}

//! Databricks' wire names for run and task-run states: the legacy `state` object the SDK's waiters
//! read and the newer `status` object. Lakeplane's own states (`lakeplane_core::run`) map onto them
//! here, in one place; what is stored and what is sent are separate on purpose.

use lakeplane_core::run::{Run, RunResult, RunState, TaskResult, TaskRun, TaskState};
use serde::Serialize;
use utoipa::ToSchema;

/// `state.life_cycle_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LifeCycleState {
    Blocked,
    Pending,
    Running,
    Terminating,
    Terminated,
}

/// `state.result_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResultState {
    Success,
    Failed,
    #[serde(rename = "TIMEDOUT")]
    TimedOut,
    Canceled,
    UpstreamFailed,
    Excluded,
}

/// The legacy `state` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StateWire {
    pub life_cycle_state: LifeCycleState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_state: Option<ResultState>,
    pub state_message: String,
    pub user_cancelled_or_timedout: bool,
}

/// `status.termination_details.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TerminationCode {
    Success,
    RunExecutionError,
    UserCanceled,
    /// The platform stopped it (a timeout).
    Canceled,
    Skipped,
}

/// `status.termination_details.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TerminationType {
    Success,
    ClientError,
}

/// `status.termination_details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TerminationDetails {
    pub code: TerminationCode,
    #[serde(rename = "type")]
    pub kind: TerminationType,
    pub message: String,
}

/// The newer `status` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatusWire {
    pub state: LifeCycleState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination_details: Option<TerminationDetails>,
}

fn details(code: TerminationCode, kind: TerminationType, message: &str) -> TerminationDetails {
    TerminationDetails {
        code,
        kind,
        message: message.to_string(),
    }
}

fn run_life(state: RunState) -> LifeCycleState {
    match state {
        RunState::Pending => LifeCycleState::Pending,
        RunState::Running => LifeCycleState::Running,
        RunState::Terminating => LifeCycleState::Terminating,
        RunState::Terminated(_) => LifeCycleState::Terminated,
    }
}

fn run_result(r: RunResult) -> ResultState {
    match r {
        RunResult::Success => ResultState::Success,
        RunResult::Failed => ResultState::Failed,
        RunResult::TimedOut => ResultState::TimedOut,
        RunResult::Canceled => ResultState::Canceled,
    }
}

/// A run's `state`.
pub fn run_state(run: &Run) -> StateWire {
    StateWire {
        life_cycle_state: run_life(run.state),
        result_state: match run.state {
            RunState::Terminated(r) => Some(run_result(r)),
            _ => None,
        },
        state_message: run.state_message.clone(),
        user_cancelled_or_timedout: run.user_cancelled
            || run.state == RunState::Terminated(RunResult::TimedOut),
    }
}

/// A run's `status`.
pub fn run_status(run: &Run) -> StatusWire {
    use TerminationCode as C;
    use TerminationType as T;
    let msg = &run.state_message;
    StatusWire {
        state: run_life(run.state),
        termination_details: match run.state {
            RunState::Terminated(RunResult::Success) => Some(details(C::Success, T::Success, "")),
            RunState::Terminated(RunResult::Failed) => {
                Some(details(C::RunExecutionError, T::ClientError, msg))
            }
            RunState::Terminated(RunResult::Canceled) => {
                Some(details(C::UserCanceled, T::Success, msg))
            }
            RunState::Terminated(RunResult::TimedOut) => {
                Some(details(C::Canceled, T::ClientError, msg))
            }
            _ => None,
        },
    }
}

fn task_life(state: TaskState) -> LifeCycleState {
    match state {
        TaskState::Blocked => LifeCycleState::Blocked,
        TaskState::Queued => LifeCycleState::Pending,
        TaskState::Running => LifeCycleState::Running,
        TaskState::Terminated(_) => LifeCycleState::Terminated,
    }
}

fn task_result(r: TaskResult) -> ResultState {
    match r {
        TaskResult::Success => ResultState::Success,
        TaskResult::Failed => ResultState::Failed,
        TaskResult::TimedOut => ResultState::TimedOut,
        TaskResult::Canceled => ResultState::Canceled,
        TaskResult::UpstreamFailed => ResultState::UpstreamFailed,
        TaskResult::Excluded => ResultState::Excluded,
    }
}

/// A task run's `state`.
pub fn task_state(t: &TaskRun) -> StateWire {
    StateWire {
        life_cycle_state: task_life(t.state),
        result_state: match t.state {
            TaskState::Terminated(r) => Some(task_result(r)),
            _ => None,
        },
        state_message: t.state_message.clone(),
        user_cancelled_or_timedout: matches!(
            t.state,
            TaskState::Terminated(TaskResult::Canceled | TaskResult::TimedOut)
        ),
    }
}

/// A task run's `status`.
pub fn task_status(t: &TaskRun) -> StatusWire {
    use TerminationCode as C;
    use TerminationType as T;
    let msg = &t.state_message;
    StatusWire {
        state: task_life(t.state),
        termination_details: match t.state {
            TaskState::Terminated(r) => Some(match r {
                TaskResult::Success => details(C::Success, T::Success, msg),
                TaskResult::Failed => details(C::RunExecutionError, T::ClientError, msg),
                TaskResult::TimedOut => details(C::Canceled, T::ClientError, msg),
                TaskResult::Canceled => details(C::UserCanceled, T::Success, msg),
                TaskResult::UpstreamFailed | TaskResult::Excluded => {
                    details(C::Skipped, T::Success, msg)
                }
            }),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lakeplane_core::run::RunType;
    use lakeplane_core::{JobId, RunId};
    use serde_json::json;

    #[test]
    fn runs_map_to_databricks_objects() {
        let mut run = Run {
            run_id: RunId(1),
            job_id: Some(JobId(1)),
            run_name: "r".into(),
            run_type: RunType::JobRun,
            creator_user_name: "u".into(),
            run_as: "u".into(),
            job_parameters: Default::default(),
            sql_params: Default::default(),
            state: RunState::Pending,
            state_message: String::new(),
            start_time: 0,
            end_time: None,
            user_cancelled: false,
            timeout_seconds: None,
            check_at: None,
        };
        let s = serde_json::to_value(run_state(&run)).unwrap();
        assert_eq!(s["life_cycle_state"], "PENDING");
        assert!(s.get("result_state").is_none());
        run.terminate(RunResult::Failed, "Task a failed".into(), 5)
            .unwrap();
        let s = serde_json::to_value(run_state(&run)).unwrap();
        assert_eq!(s["result_state"], "FAILED");
        let st = serde_json::to_value(run_status(&run)).unwrap();
        assert_eq!(
            st["termination_details"],
            json!({"code": "RUN_EXECUTION_ERROR", "type": "CLIENT_ERROR", "message": "Task a failed"})
        );
    }
}

//! The run planner: from a run's task states, which tasks to queue or skip and whether the run ends.
//! Pure: the control plane applies a plan with conditional writes and, on a conflict, reads again and
//! plans again, so concurrent callers converge.

use std::collections::HashMap;

use super::{Run, RunResult, RunState, TaskResult, TaskRun, TaskState};
use crate::ids::TaskKey;
use crate::job::RunIf;

/// What to do next with a run, from its tasks' states.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Blocked tasks whose dependencies have ended so that they may run.
    pub queue: Vec<TaskKey>,
    /// Tasks that will never run, with the result and message to record.
    pub skip: Vec<(TaskKey, TaskResult, String)>,
    /// Running tasks to stop (the run is being cancelled or ran out of time): their workers see
    /// the flag at their next heartbeat.
    pub interrupt: Vec<TaskKey>,
    /// The run's end, once every task has ended (counting the skips above).
    pub finish: Option<(RunResult, String)>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
            && self.skip.is_empty()
            && self.interrupt.is_empty()
            && self.finish.is_none()
    }
}

/// Plans a run's next step at `now`. Pure: the caller applies the plan with conditional writes and,
/// on a conflict, reads again and plans again, so concurrent callers converge.
pub fn plan(run: &Run, tasks: &[TaskRun], now: i64) -> Plan {
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

    let timed_out = run.timed_out(now);
    if run.state == RunState::Terminating || timed_out {
        let why = match timed_out {
            true => timeout_message(run),
            false => "Run was cancelled".to_string(),
        };
        for t in tasks {
            match t.state {
                TaskState::Blocked | TaskState::Queued => {
                    plan.skip
                        .push((t.key().clone(), TaskResult::Canceled, why.clone()));
                    ended.insert(t.key(), TaskResult::Canceled);
                }
                TaskState::Running if !t.cancel_requested => plan.interrupt.push(t.key().clone()),
                _ => {}
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
        plan.finish = Some(match timed_out && !run.user_cancelled {
            true => (RunResult::TimedOut, timeout_message(run)),
            false => run_outcome(run, tasks, &ended),
        });
    }
    plan
}

fn timeout_message(run: &Run) -> String {
    format!(
        "Run timed out after {} seconds (timeout_seconds)",
        run.timeout_seconds.unwrap_or_default()
    )
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
    if let Some(t) = tasks
        .iter()
        .find(|t| ended.get(t.key()) == Some(&TaskResult::TimedOut))
    {
        return (
            RunResult::TimedOut,
            format!("Task {} timed out: {}", t.key(), t.state_message),
        );
    }
    if ended.values().any(|r| *r == TaskResult::Canceled) {
        return (RunResult::Canceled, "A task was cancelled".into());
    }
    (RunResult::Success, String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{JobId, RunId};
    use crate::job::JobSettings;
    use crate::run::RunType;
    use serde_json::json;
    use std::collections::BTreeMap;

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
            run_as: "u".into(),
            job_parameters: BTreeMap::new(),
            sql_params: BTreeMap::new(),
            state: RunState::Pending,
            state_message: String::new(),
            start_time: 0,
            end_time: None,
            user_cancelled: false,
            timeout_seconds: None,
            check_at: None,
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
        t.claim("w", "tok", 0, 1000).unwrap();
        t.finish("tok", 1, r, msg.into(), None, None).unwrap();
    }

    #[test]
    fn dependents_queue_when_dependencies_succeed() {
        let (run, mut t) = fixture(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])]);
        assert_eq!(t[0].state, TaskState::Queued);
        assert_eq!(t[1].state, TaskState::Blocked);
        assert!(plan(&run, &t, 0).is_empty());
        finish(&mut t[0], TaskResult::Success, "");
        let p = plan(&run, &t, 0);
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
        let p = plan(&run, &t, 0);
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
        let p = plan(&run, &t, 0);
        assert_eq!(p.queue.len(), 1);
    }

    #[test]
    fn all_success_finishes_the_run() {
        let (run, mut t) = fixture(&[("a", &[])]);
        finish(&mut t[0], TaskResult::Success, "");
        assert_eq!(plan(&run, &t, 0).finish.unwrap().0, RunResult::Success);
    }

    #[test]
    fn cancel_skips_waiting_tasks() {
        let (mut run, t) = fixture(&[("a", &[]), ("b", &["a"])]);
        assert!(run.request_cancel());
        let p = plan(&run, &t, 0);
        assert_eq!(p.skip.len(), 2);
        assert_eq!(p.finish.unwrap().0, RunResult::Canceled);
    }

    #[test]
    fn cancel_interrupts_running_tasks() {
        let (mut run, mut t) = fixture(&[("a", &[]), ("b", &["a"])]);
        t[0].claim("w", "tok", 0, 1000).unwrap();
        assert!(run.request_cancel());
        let p = plan(&run, &t, 0);
        assert_eq!(p.interrupt, vec!["a".parse::<TaskKey>().unwrap()]);
        assert_eq!(p.skip.len(), 1);
        assert!(p.finish.is_none(), "a runs until its worker stops it");
    }

    #[test]
    fn a_run_past_its_timeout_stops_and_ends_timed_out() {
        let (mut run, mut t) = fixture(&[("a", &[]), ("b", &["a"])]);
        run.timeout_seconds = Some(10);
        t[0].claim("w", "tok", 0, 1000).unwrap();
        assert!(plan(&run, &t, 9_999).is_empty());
        let p = plan(&run, &t, 10_000);
        assert_eq!(p.interrupt.len(), 1);
        assert!(p.skip[0].2.contains("timed out"), "{:?}", p.skip);
        t[0].finish("tok", 10_001, TaskResult::TimedOut, "x".into(), None, None)
            .unwrap();
        t[1].skip(TaskResult::Canceled, "timed out".into(), 10_001)
            .unwrap();
        let (result, msg) = plan(&run, &t, 10_002).finish.unwrap();
        assert_eq!(result, RunResult::TimedOut);
        assert!(msg.contains("timed out after 10 seconds"), "{msg}");
    }

    #[test]
    fn a_run_ends_once() {
        let (mut run, _) = fixture(&[("a", &[])]);
        run.terminate(RunResult::Failed, "Task a failed".into(), 5)
            .unwrap();
        let err = run
            .terminate(RunResult::Success, String::new(), 6)
            .unwrap_err();
        assert!(err.to_string().contains("cannot terminate run 1"), "{err}");
    }
}

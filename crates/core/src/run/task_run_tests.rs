//! The task run's state machine: leases, attempts, retries, bounds.

use super::super::handback::MAX_HANDBACKS;
use super::super::lease::MAX_LEASE_LOSSES;
use super::super::record::{MAX_MESSAGE_BYTES, MAX_SAMPLE_BYTES};
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
    assert!(out.truncated && serde_json::to_string(&out.sample).unwrap().len() <= MAX_SAMPLE_BYTES);
}

#[test]
fn a_hand_back_requeues_at_once_without_counting_a_retry_or_a_loss() {
    let t = &mut task(json!({"max_retries": 0}));
    t.claim("node-1", "tok-1", 0, 30_000).unwrap();
    assert!(t.hand_back("tok-other", 10, RunId(9), 3, "spot").is_err());
    t.hand_back("tok-1", 10, RunId(9), 3, "spot").unwrap();
    assert_eq!(
        (
            t.state,
            t.run_id,
            t.attempt_number,
            t.retries,
            t.lease_losses
        ),
        (TaskState::Queued, RunId(9), 1, 0, 0)
    );
    assert!(t.claimable(10), "due now, not after the lease");
    assert_eq!(t.attempts[0].worker.as_deref(), Some("node-1"));
    assert!(t.attempts[0].state_message.contains("Handed back"));
    // Hand-backs without end count as lost workers past MAX_HANDBACKS, so the task still ends.
    let mut id = 10;
    while !t.is_terminal() {
        id += 1;
        t.claim("node-x", "tok", id, 30_000).unwrap();
        t.hand_back("tok", id, RunId(id as u64), 3, "spot").unwrap();
        assert!(id < 100, "a task handed back without end must end");
    }
    assert_eq!(t.state, TaskState::Terminated(TaskResult::Failed));
    assert!(t.handbacks > MAX_HANDBACKS);
}

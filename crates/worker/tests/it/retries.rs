//! Attempts, retries and timeouts, with Jobs API semantics.

use std::time::{Duration, Instant};

use lakeplane_core::run::{RunResult, RunState, TaskResult, TaskState};
use serde_json::json;

use crate::env;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_task_is_retried_after_its_interval_up_to_max_retries() {
    let e = env().await;
    let run = e
        .submit(
            json!([{"task_key": "flaky", "sql": "SELECT * FROM nowhere",
                    "max_retries": 2, "min_retry_interval_millis": 300}]),
            None,
        )
        .await;
    let w = e.worker("w", 5_000);
    let mut starts = Vec::new();
    for attempt in 0..3u32 {
        let claim = crate::eventually_claim(&e, "w").await;
        assert_eq!(claim.task.attempt_number, attempt);
        starts.push(Instant::now());
        w.execute(claim).await;
    }
    assert!(e.claim("w", 5_000).await.is_none(), "no fourth attempt");
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(300),
            "the retry waited its interval"
        );
    }
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::Failed));
    let t = &v.tasks[0];
    assert_eq!((t.attempt_number, t.attempts.len()), (2, 2));
    let ids: std::collections::BTreeSet<_> = t
        .attempts
        .iter()
        .map(|a| a.run_id)
        .chain([t.run_id])
        .collect();
    assert_eq!(ids.len(), 3, "each attempt has its own run id");
    assert!(t.attempts.iter().all(|a| a.result == TaskResult::Failed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_that_succeeds_succeeds_the_run() {
    let e = env().await;
    // Fails while the table is missing; the first attempt's failure is followed by its creation.
    let run = e
        .submit(
            json!([{"task_key": "t", "sql": "SELECT * FROM later", "max_retries": 1}]),
            None,
        )
        .await;
    let w = e.worker("w", 5_000);
    w.execute(crate::eventually_claim(&e, "w").await).await;
    e.engine
        .execute(
            &lakeplane_engine::ExecContext::new("t"),
            "CREATE TABLE later AS SELECT 1 AS v",
        )
        .await
        .unwrap();
    w.execute(crate::eventually_claim(&e, "w").await).await;
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::Success));
    assert_eq!(v.tasks[0].attempt_number, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_task_past_its_timeout_is_interrupted_and_timed_out() {
    let e = env().await;
    let run = e
        .submit(
            json!([{"task_key": "slow", "sql": crate::faults::SLOW_QUERY, "timeout_seconds": 1}]),
            None,
        )
        .await;
    let claim = e.claim("w", 5_000).await.unwrap();
    let started = Instant::now();
    e.worker("w", 5_000).execute(claim).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(
        v.tasks[0].state,
        TaskState::Terminated(TaskResult::TimedOut)
    );
    assert!(v.tasks[0]
        .state_message
        .contains("timed out after 1 seconds"));
    assert_eq!(v.run.state, RunState::Terminated(RunResult::TimedOut));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_timed_out_attempt_is_retried_only_with_retry_on_timeout() {
    let e = env().await;
    let run = e
        .submit(
            json!([{"task_key": "slow", "sql": crate::faults::SLOW_QUERY, "timeout_seconds": 1,
                    "max_retries": 1, "retry_on_timeout": true}]),
            None,
        )
        .await;
    let w = e.worker("w", 5_000);
    w.execute(e.claim("w", 5_000).await.unwrap()).await;
    let again = e.claim("w", 5_000).await.expect("retried after a timeout");
    assert_eq!(again.task.attempt_number, 1);
    w.execute(again).await;
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::TimedOut));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_past_its_timeout_stops_its_tasks_and_ends_timed_out() {
    let e = env().await;
    let run = e
        .submit(
            json!([{"task_key": "slow", "sql": crate::faults::SLOW_QUERY},
                   {"task_key": "next", "sql": "SELECT 1", "depends_on": [{"task_key": "slow"}]}]),
            Some(1),
        )
        .await;
    let claim = e.claim("w", 5_000).await.unwrap();
    let started = Instant::now();
    e.worker("w", 5_000).execute(claim).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(
        v.run.state,
        RunState::Terminated(RunResult::TimedOut),
        "{}",
        v.run.state_message
    );
    assert_eq!(
        v.tasks[0].state,
        TaskState::Terminated(TaskResult::TimedOut)
    );
    assert_eq!(
        v.tasks[1].state,
        TaskState::Terminated(TaskResult::Canceled)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reconciler_times_out_a_run_nobody_is_working_on() {
    let e = env().await;
    let run = e
        .submit(json!([{"task_key": "never", "sql": "SELECT 1"}]), Some(1))
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    e.control
        .reconciler()
        .sweep(&crate::queues())
        .await
        .unwrap();
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::TimedOut));
    assert!(e.claim("w", 5_000).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_task_keeps_its_place_in_the_job_order() {
    let e = env().await;
    let run = e
        .submit(
            json!([{"task_key": "zfirst", "sql": "SELECT * FROM nowhere", "max_retries": 1},
                   {"task_key": "asecond", "sql": "SELECT 1"}]),
            None,
        )
        .await;
    let w = e.worker("w", 5_000);
    while let Some(claim) = e.claim("w", 5_000).await {
        w.execute(claim).await;
    }
    let v = e.control.runs().get(run).await.unwrap();
    let keys: Vec<&str> = v.tasks.iter().map(|t| t.key().as_str()).collect();
    assert_eq!(
        keys,
        vec!["zfirst", "asecond"],
        "the job's order, not the attempts' ids"
    );
    assert_eq!(v.tasks[0].attempt_number, 1);
    assert!(
        v.run.state_message.starts_with("Task zfirst failed"),
        "{}",
        v.run.state_message
    );
}

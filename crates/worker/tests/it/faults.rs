//! One test per way the run protocol used to fail under faults, each with a real injected fault
//! (a store error, a lost reply, a worker that stops renewing its lease).

use std::time::Duration;

use lakeplane_control::ControlError;
use lakeplane_core::run::{
    Finished, RunResult, RunState, TaskResult, TaskState, MAX_CLOCK_SKEW_MS, MAX_LEASE_LOSSES,
};
use lakeplane_store::testing::{Fault, Op};
use lakeplane_worker::Executed;
use serde_json::json;

use crate::{dynamo_env, env, queues};

/// Long enough to outlast any lease in these tests, and cancellable.
pub(crate) const SLOW_QUERY: &str = "CREATE TABLE slow AS SELECT count(*) AS n \
     FROM range(0, 200000) a CROSS JOIN range(0, 200000) b";

fn expired(lease_ms: u64) -> Duration {
    Duration::from_millis(lease_ms + MAX_CLOCK_SKEW_MS as u64 + 50)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_half_done_cancel_starts_nothing_and_can_be_retried() {
    let e = env().await;
    let run = e
        .submit(
            json!([{"task_key": "t", "sql": "CREATE TABLE never AS SELECT 1 AS v"}]),
            None,
        )
        .await;
    // The cancel marks the run, then fails reading it back to stop its tasks (every retry too).
    for _ in 0..5 {
        e.faults.inject(Op::QueryPartition, Fault::Unavailable);
    }
    assert!(e.control.runs().cancel(run).await.is_err());
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminating);
    assert_eq!(
        v.tasks[0].state,
        TaskState::Queued,
        "the cancel stopped half-way"
    );
    // The queued task of the cancelling run is never started.
    assert!(e.claim("w", 5_000).await.is_none());
    // And the cancel can be retried until the run has ended.
    e.control.runs().cancel(run).await.unwrap();
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::Canceled));
    assert!(e
        .engine
        .execute(
            &lakeplane_engine::ExecContext::new("t"),
            "SELECT * FROM never"
        )
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reconciler_finishes_a_run_whose_advance_failed() {
    let e = env().await;
    let run = e
        .submit(json!([{"task_key": "t", "sql": "SELECT 1"}]), None)
        .await;
    let claim = e.claim("w", 5_000).await.unwrap();
    // The task's end is written; every read of the run to advance it then fails.
    for _ in 0..5 {
        e.faults.inject(Op::QueryPartition, Fault::Unavailable);
    }
    assert_eq!(
        e.worker("w", 5_000).execute(claim).await,
        Executed::Recorded(TaskResult::Success)
    );
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.tasks[0].state, TaskState::Terminated(TaskResult::Success));
    assert_eq!(v.run.state, RunState::Running, "stuck until reconciled");
    let sweep = e.control.reconciler().sweep(&queues()).await.unwrap();
    assert_eq!(sweep.runs_checked, 1);
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::Success));
    // Ended runs leave the active listing: the next sweep has nothing to look at.
    assert_eq!(
        e.control
            .reconciler()
            .sweep(&queues())
            .await
            .unwrap()
            .runs_checked,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completion_whose_reply_was_lost_is_recognised() {
    let e = env().await;
    let run = e
        .submit(json!([{"task_key": "t", "sql": "SELECT 1"}]), None)
        .await;
    let claim = e.claim("w", 5_000).await.unwrap();
    // The completion's write lands but its reply is lost: the retry must see it as done, not as
    // a lost lease.
    e.faults.inject(Op::Replace, Fault::LostReply);
    let finished = e
        .control
        .leases()
        .complete(claim, TaskResult::Success, String::new(), None)
        .await
        .unwrap();
    assert_eq!(finished, Finished::AlreadyRecorded);
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::Success));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_that_fails_part_way_leaves_the_task_claimable() {
    let e = env().await;
    let run = e
        .submit(json!([{"task_key": "t", "sql": "SELECT 1"}]), None)
        .await;
    // Marking the run started fails (and every retry of it).
    for _ in 0..5 {
        e.faults.inject(Op::Replace, Fault::Unavailable);
    }
    assert!(e
        .control
        .leases()
        .claim_next("w", &queues(), 60_000)
        .await
        .is_err());
    // Nobody holds the task: the next claim gets it at once, not after a minute's lease.
    let claim = e.claim("w2", 60_000).await.expect("still claimable");
    assert_eq!(claim.task.attempt_number, 0);
    e.worker("w2", 60_000).execute(claim).await;
    assert!(e.control.runs().get(run).await.unwrap().run.is_terminal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_that_cannot_renew_its_lease_stops_and_commits_nothing() {
    let e = env().await;
    let run = e
        .submit(json!([{"task_key": "t", "sql": SLOW_QUERY}]), None)
        .await;
    let claim = e.claim("w", 400).await.unwrap();
    for _ in 0..100 {
        e.faults.inject(Op::Touch, Fault::Unavailable);
    }
    let started = std::time::Instant::now();
    assert_eq!(e.worker("w", 400).execute(claim).await, Executed::LeaseLost);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it stopped at its own deadline"
    );
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.tasks[0].state, TaskState::Running, "nothing recorded");
    assert!(
        e.engine
            .execute(
                &lakeplane_engine::ExecContext::new("t"),
                "SELECT * FROM slow"
            )
            .await
            .is_err(),
        "nothing committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rerun_after_a_lost_lease_writes_each_statement_once() {
    rerun_writes_once(env().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rerun_after_a_lost_lease_writes_each_statement_once_on_dynamodb() {
    rerun_writes_once(dynamo_env().await).await;
}

async fn rerun_writes_once(e: crate::Env) {
    let sql = "CREATE TABLE IF NOT EXISTS t (v INT); \
               INSERT INTO t VALUES (1), (2); \
               CREATE TABLE c AS SELECT * FROM t";
    let run = e
        .submit(json!([{"task_key": "load", "sql": sql}]), None)
        .await;
    // Attempt 0 commits everything, then cannot record its end (its process dies, in life).
    let first = e.claim("a", 300).await.unwrap();
    for _ in 0..40 {
        e.faults.inject(Op::Replace, Fault::Unavailable);
    }
    assert_eq!(e.worker("a", 300).execute(first).await, Executed::LeaseLost);
    e.faults.clear();
    tokio::time::sleep(expired(300)).await;
    let second = e.claim("b", 5_000).await.expect("taken over");
    assert_eq!(second.task.attempt_number, 1);
    assert_eq!(
        e.worker("b", 5_000).execute(second).await,
        Executed::Recorded(TaskResult::Success),
        "CREATE TABLE AS does not fail with 'already exists'"
    );
    assert_eq!(
        e.row("SELECT count(*) AS n FROM t").await["n"],
        "2",
        "no row twice"
    );
    assert_eq!(e.row("SELECT count(*) AS n FROM c").await["n"], "2");
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::Success));
    assert_eq!(
        v.tasks[0].attempts.len(),
        1,
        "the lost attempt is on record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_task_that_keeps_losing_its_worker_ends_failed() {
    let e = env().await;
    let run = e
        .submit(
            json!([{"task_key": "poison", "sql": "SELECT 1", "max_retries": 10}]),
            None,
        )
        .await;
    for _ in 0..MAX_LEASE_LOSSES {
        assert!(e.claim("w", 50).await.is_some());
        tokio::time::sleep(expired(50)).await;
    }
    // Found by the reconciler even with no worker claiming.
    let sweep = e.control.reconciler().sweep(&queues()).await.unwrap();
    assert_eq!(sweep.leases_expired, 1);
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::Failed));
    assert!(
        v.tasks[0].state_message.contains("lost its worker 3 times"),
        "{}",
        v.tasks[0].state_message
    );
    assert!(
        v.run.state_message.contains("lost its worker"),
        "{}",
        v.run.state_message
    );
    assert_eq!(v.tasks[0].attempts.len() as u32, MAX_LEASE_LOSSES - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_belongs_to_its_claim_not_to_the_worker_name() {
    let e = env().await;
    e.submit(json!([{"task_key": "t", "sql": "SELECT 1"}]), None)
        .await;
    let old = e.claim("worker-1", 50).await.unwrap();
    tokio::time::sleep(expired(50)).await;
    // The same name claims again (a restarted process reusing its id).
    let new = e.claim("worker-1", 5_000).await.unwrap();
    assert_ne!(old.token, new.token);
    let err = e
        .control
        .leases()
        .complete(old, TaskResult::Success, String::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ControlError::LeaseLost { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outputs_and_messages_larger_than_an_item_are_truncated_on_dynamodb() {
    let e = dynamo_env().await;
    let big = "SELECT repeat('x', 100000) AS s FROM range(0, 20)";
    let missing = format!("SELECT * FROM t_{}", "x".repeat(20_000));
    let run = e
        .submit(
            json!([{"task_key": "big", "sql": big}, {"task_key": "bad", "sql": missing}]),
            None,
        )
        .await;
    while let Some(c) = e.claim("w", 5_000).await {
        assert!(matches!(
            e.worker("w", 5_000).execute(c).await,
            Executed::Recorded(_)
        ));
    }
    let v = e.control.runs().get(run).await.unwrap();
    let big = v.tasks.iter().find(|t| t.key().as_str() == "big").unwrap();
    let out = big.output.as_ref().unwrap();
    assert!(
        out.truncated && out.sample.len() < 20,
        "{} rows kept",
        out.sample.len()
    );
    let bad = v.tasks.iter().find(|t| t.key().as_str() == "bad").unwrap();
    assert_eq!(bad.state, TaskState::Terminated(TaskResult::Failed));
    assert!(bad.state_message.ends_with("(truncated)"));
    assert!(v.run.is_terminal());
}

/// Eight claimers race over many one-task runs, each completing what it claims at once: every task
/// is claimed exactly once, and no claim fails when another claimer has meanwhile run the task and
/// ended its run (a race the DynamoDB benchmark once hit).
async fn racing_claimers(e: crate::Env, runs: usize) {
    let mut ids = Vec::new();
    for _ in 0..runs {
        ids.push(
            e.submit(json!([{"task_key": "t", "sql": "SELECT 1"}]), None)
                .await,
        );
    }
    let claimed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for w in 0..8 {
        let (control, claimed) = (e.control.clone(), claimed.clone());
        handles.push(tokio::spawn(async move {
            let me = format!("racer-{w}");
            while let Some(c) = control
                .leases()
                .claim_next(&me, &queues(), 60_000)
                .await
                .unwrap()
            {
                claimed.lock().unwrap().push(c.task.parent_run_id);
                control
                    .leases()
                    .complete(c, TaskResult::Success, String::new(), None)
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut claimed = claimed.lock().unwrap().clone();
    claimed.sort();
    let before = claimed.len();
    claimed.dedup();
    assert_eq!(before, claimed.len(), "no task was claimed twice");
    assert_eq!(claimed.len(), runs, "every task was claimed");
    for id in ids {
        let v = e.control.runs().get(id).await.unwrap();
        assert_eq!(v.run.state, RunState::Terminated(RunResult::Success));
    }
}

/// On SQLite only. Moto checks a write's condition and applies it without a lock: with indexes on
/// the table and a loaded machine, two conditional `PutItem`s on one version both won in 1 of 150
/// trials of eight (measured with boto3), so on moto this test can fail for the emulator's reasons.
/// DynamoDB itself applies a conditional write atomically.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_claimers_take_each_task_once_and_never_fail() {
    racing_claimers(env().await, 200).await;
}

/// A heartbeat renews the lease in the task run's queue entry only; a later rewrite of the task run
/// by someone else (the cancel's flag) must keep the renewed expiry, not the one stored at claim
/// time, or another worker would take the task from a live holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_renewed_lease_survives_another_writer_rewriting_the_task() {
    let e = env().await;
    let run = e
        .submit(json!([{"task_key": "t", "sql": "SELECT 1"}]), None)
        .await;
    let mut held = e.claim("a", 300).await.unwrap();
    e.control
        .leases()
        .heartbeat(&mut held, 60_000)
        .await
        .unwrap();
    tokio::time::sleep(expired(300)).await; // past the expiry written at claim time
    e.control.runs().cancel(run).await.unwrap(); // rewrites the running task run (cancel flag)
    assert!(
        e.claim("b", 5_000).await.is_none(),
        "the renewed lease still holds"
    );
    assert_eq!(
        e.control
            .leases()
            .heartbeat(&mut held, 60_000)
            .await
            .unwrap(),
        lakeplane_control::Heartbeat::Cancel
    );
    assert_eq!(
        e.control.runs().get(run).await.unwrap().tasks[0].lease_losses,
        0
    );
}

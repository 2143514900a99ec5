//! The lease protocol and run orchestration with real workers, a real engine and the embedded store
//! (and DynamoDB on moto where it matters). `faults` has one test per run-protocol defect, each with
//! a real injected fault; `retries` covers attempts, retries and timeouts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod faults;
mod retries;

use std::sync::Arc;
use std::time::Duration;

use lakeplane_control::{Control, RunView, DEFAULT_QUEUE};
use lakeplane_core::job::{JobSettings, Task};
use lakeplane_core::run::{RunResult, RunState, TaskResult, TaskState};
use lakeplane_core::RunId;
use lakeplane_engine::access::AccessPolicy;
use lakeplane_engine::arrow::util::display::{ArrayFormatter, FormatOptions};
use lakeplane_engine::storage::StorageRoot;
use lakeplane_engine::{Engine, ExecContext};
use lakeplane_store::testing::FaultyStore;
use lakeplane_worker::{Executed, Worker, WorkerConfig};
use serde_json::json;

pub(crate) struct Env {
    control: Control,
    engine: Engine,
    dir: tempfile::TempDir,
    /// Plans store faults (every env's store goes through one).
    faults: Arc<FaultyStore>,
}

pub(crate) async fn env() -> Env {
    admin_me(env_with(lakeplane_testing::embedded_store().await)).await
}

/// The same, with state in DynamoDB on moto (started by scripts/test).
pub(crate) async fn dynamo_env() -> Env {
    admin_me(env_with(lakeplane_testing::dynamo_store().await)).await
}

/// The tests' runs are submitted by "me", an admin (grants are tested where they are the point).
async fn admin_me(e: Env) -> Env {
    e.control.principals().ensure_admin("me").await.unwrap();
    e
}

fn env_with(store: Arc<dyn lakeplane_store::StateStore>) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let root = StorageRoot::local(&dir.path().join("warehouse")).unwrap();
    let faults = Arc::new(FaultyStore::new(store));
    // The reconciler may look at a run as soon as it starts (tests call it when they mean to).
    let settings = lakeplane_control::Settings {
        first_check: Duration::ZERO,
        ..Default::default()
    };
    let control = Control::with_settings(faults.clone(), settings);
    let catalog = Arc::new(control.catalogs().clone());
    Env {
        engine: Engine::new(
            root,
            catalog,
            AccessPolicy::local([dir.path().to_path_buf()]),
            None,
        )
        .unwrap(),
        control,
        dir,
        faults,
    }
}

/// A claim, waiting for one to come due (a retry's interval).
pub(crate) async fn eventually_claim(e: &Env, worker: &str) -> lakeplane_control::Claim {
    lakeplane_testing::eventually("a due task", Duration::from_secs(10), || {
        e.claim(worker, 5_000)
    })
    .await
}

/// The default queue, as workers name it.
pub(crate) fn queues() -> Vec<String> {
    vec![DEFAULT_QUEUE.to_string()]
}

impl Env {
    /// Submits a one-time run of tasks given as JSON task specs (with `sql` for the file's SQL).
    async fn submit(&self, specs: serde_json::Value, timeout_seconds: Option<u64>) -> RunId {
        let tasks: Vec<serde_json::Value> = specs
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let mut t = t.clone();
                let sql = t["sql"].as_str().unwrap().to_string();
                let key = t["task_key"].as_str().unwrap().to_string();
                let o = t.as_object_mut().unwrap();
                o.remove("sql");
                o.insert(
                    "sql_task".into(),
                    json!({"file": {"path": self.sql(&key, &sql)}}),
                );
                t
            })
            .collect();
        let tasks = JobSettings::from_json(json!({"tasks": tasks}))
            .unwrap()
            .tasks;
        self.control
            .runs()
            .submit(None, tasks, timeout_seconds, "me")
            .await
            .unwrap()
    }

    async fn claim(&self, worker: &str, lease_ms: i64) -> Option<lakeplane_control::Claim> {
        self.control
            .leases()
            .claim_next(worker, &queues(), lease_ms)
            .await
            .unwrap()
    }

    fn sql(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(format!("{name}.sql"));
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn tasks(&self, spec: &[(&str, &[&str], &str)]) -> Vec<Task> {
        let v: Vec<_> = spec
            .iter()
            .map(|(k, deps, sql)| {
                json!({"task_key": k, "depends_on": deps.iter().map(|d| json!({"task_key": d})).collect::<Vec<_>>(),
                       "sql_task": {"file": {"path": self.sql(k, sql)}}})
            })
            .collect();
        JobSettings::from_json(json!({"tasks": v})).unwrap().tasks
    }

    pub(crate) fn worker(&self, id: &str, lease_ms: u64) -> Worker {
        let config = WorkerConfig {
            lease: Duration::from_millis(lease_ms),
            heartbeat: Duration::from_millis(lease_ms / 4),
            poll: Duration::from_millis(10),
            ..WorkerConfig::new(id)
        };
        Worker::new(self.control.clone(), self.engine.clone(), config)
    }

    async fn wait(&self, run: RunId) -> RunView {
        lakeplane_testing::eventually("the run's end", Duration::from_secs(30), || async {
            let v = self.control.runs().get(run).await.unwrap();
            v.run.is_terminal().then_some(v)
        })
        .await
    }

    /// The first row of a query's result, as text by column name.
    async fn row(&self, sql: &str) -> std::collections::BTreeMap<String, String> {
        let out = self
            .engine
            .execute(&ExecContext::new("t"), sql)
            .await
            .unwrap();
        let batches = out.collect().await.unwrap();
        let b = &batches[0];
        let options = FormatOptions::default();
        b.schema()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let fmt = ArrayFormatter::try_new(b.column(i).as_ref(), &options).unwrap();
                (f.name().clone(), fmt.value(0).to_string())
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_lease_passes_the_task_to_another_worker() {
    let e = env().await;
    let run = e
        .control
        .runs()
        .submit(
            None,
            e.tasks(&[("t", &[], "CREATE TABLE leased AS SELECT 1 AS v")]),
            None,
            "me",
        )
        .await
        .unwrap();
    // Worker A claims and then goes silent (as if its process died).
    let a = e.claim("a", 200).await.expect("a claim");
    assert!(e.claim("b", 200).await.is_none(), "the lease is still held");
    tokio::time::sleep(Duration::from_millis(
        250 + lakeplane_core::run::MAX_CLOCK_SKEW_MS as u64,
    ))
    .await;
    let b = e.claim("b", 5_000).await.expect("b takes over");
    assert_eq!(b.task.attempt_number, 1, "a take-over is a new attempt");
    assert_ne!(b.task.run_id, a.task.run_id, "with its own run id");
    // A wakes up: its outcome is refused, B's counts.
    let err = e
        .control
        .leases()
        .complete(a, TaskResult::Failed, "stale".into(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, lakeplane_control::ControlError::LeaseLost { .. }),
        "{err}"
    );
    assert_eq!(
        e.worker("b", 5_000).execute(b).await,
        Executed::Recorded(TaskResult::Success)
    );
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::Success));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wide_dag_on_several_workers_runs_each_task_once() {
    wide_dag(env().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wide_dag_on_several_workers_runs_each_task_once_on_dynamodb() {
    wide_dag(dynamo_env().await).await;
}

async fn wide_dag(e: Env) {
    let mut spec: Vec<(String, Vec<String>, String)> = vec![(
        "root".into(),
        vec![],
        "CREATE TABLE root AS SELECT 1 AS v".into(),
    )];
    for i in 0..12 {
        spec.push((
            format!("leaf{i}"),
            vec!["root".into()],
            format!("CREATE TABLE leaf{i} AS SELECT v + {i} AS v FROM root"),
        ));
    }
    let leaves: Vec<String> = (0..12).map(|i| format!("leaf{i}")).collect();
    let union = leaves
        .iter()
        .map(|l| format!("SELECT v FROM {l}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    spec.push((
        "sink".into(),
        leaves.clone(),
        format!("CREATE TABLE sink AS {union}"),
    ));
    let borrowed: Vec<(&str, Vec<&str>, &str)> = spec
        .iter()
        .map(|(k, d, s)| {
            (
                k.as_str(),
                d.iter().map(String::as_str).collect(),
                s.as_str(),
            )
        })
        .collect();
    let spec_refs: Vec<(&str, &[&str], &str)> = borrowed
        .iter()
        .map(|(k, d, s)| (*k, d.as_slice(), *s))
        .collect();
    let run = e
        .control
        .runs()
        .submit(None, e.tasks(&spec_refs), None, "me")
        .await
        .unwrap();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    for i in 0..3 {
        let w = e.worker(&format!("w{i}"), 5_000);
        let mut rx = stopped.clone();
        handles.push(tokio::spawn(w.run(async move {
            let _ = rx.changed().await;
        })));
    }
    let v = e.wait(run).await;
    stop.send(true).unwrap();
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(
        v.run.state,
        RunState::Terminated(RunResult::Success),
        "{}",
        v.run.state_message
    );
    assert!(v
        .tasks
        .iter()
        .all(|t| t.state == TaskState::Terminated(TaskResult::Success) && t.attempt_number == 0));
    let row = e.row("SELECT count(*) AS n, sum(v) AS s FROM sink").await;
    assert_eq!(row["n"], "12");
    assert_eq!(row["s"], "78");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_task_fails_the_run_and_skips_dependents() {
    let e = env().await;
    let tasks = e.tasks(&[
        ("ok", &[], "SELECT 1"),
        ("broken", &[], "SELECT * FROM nowhere"),
        ("after", &["ok", "broken"], "SELECT 2"),
    ]);
    let run = e
        .control
        .runs()
        .submit(Some("r".into()), tasks, None, "me")
        .await
        .unwrap();
    let w = e.worker("w", 5_000);
    while let Some(claim) = e.claim("w", 5_000).await {
        w.execute(claim).await;
    }
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::Failed));
    assert!(
        v.run
            .state_message
            .starts_with("Task broken failed with message:"),
        "{}",
        v.run.state_message
    );
    assert!(v.run.state_message.contains("nowhere"));
    let after = v
        .tasks
        .iter()
        .find(|t| t.key().as_str() == "after")
        .unwrap();
    assert_eq!(
        after.state,
        TaskState::Terminated(TaskResult::UpstreamFailed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reclaimed_task_of_a_cancelled_run_is_not_run_again() {
    let e = env().await;
    let run = e
        .control
        .runs()
        .submit(
            None,
            e.tasks(&[("t", &[], "CREATE TABLE never AS SELECT 1 AS v")]),
            None,
            "me",
        )
        .await
        .unwrap();
    let _dead = e.claim("dead", 100).await.expect("claim");
    e.control.runs().cancel(run).await.unwrap();
    tokio::time::sleep(Duration::from_millis(
        150 + lakeplane_core::run::MAX_CLOCK_SKEW_MS as u64,
    ))
    .await;
    // Whoever finds the expired lease files the lost attempt as cancelled; nothing runs again.
    assert!(e.claim("next", 5_000).await.is_none());
    let v = e.control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::Canceled));
    assert!(
        e.engine
            .execute(&ExecContext::new("t"), "SELECT * FROM never")
            .await
            .is_err(),
        "the SQL never ran"
    );
}

#[tokio::test]
async fn a_task_runs_as_its_run_and_is_denied_what_that_principal_may_not_read() {
    let e = env().await;
    e.engine
        .execute(
            &ExecContext::new("admin"),
            "CREATE TABLE secret AS SELECT 1 AS x",
        )
        .await
        .unwrap();
    let tasks = JobSettings::from_json(json!({"tasks": [
        {"task_key": "read", "sql_task": {"file": {"path": e.sql("read", "SELECT * FROM secret")}}}
    ]}))
    .unwrap()
    .tasks;
    let run = e
        .control
        .runs()
        .submit(None, tasks, None, "nobody")
        .await
        .unwrap();
    let claim = eventually_claim(&e, "w").await;
    assert_eq!(claim.run_as, "nobody");
    let worker = Worker::new(e.control.clone(), e.engine.clone(), WorkerConfig::new("w"));
    worker.execute(claim).await;
    let v = e.control.runs().get(run).await.unwrap();
    assert!(
        v.tasks[0]
            .state_message
            .contains("User does not have USE CATALOG on Catalog 'main'"),
        "{}",
        v.tasks[0].state_message
    );
}

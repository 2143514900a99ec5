//! The chaos test: a 10-task job writing Delta tables, run by `lakeplane worker` processes that are
//! SIGKILLed at random moments (at least 20 kills) and replaced. Every table must hold exactly the
//! rows the job writes once, and the run must succeed: re-runs after a lost lease skip the
//! statements an earlier attempt committed (Delta `txn`), and the reconciler and the workers move
//! every run on.
//!
//! It reports the time lost per kill: how much longer the run took than the same job without kills,
//! divided by the kills (`BENCHMARKS.md`).

use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lakeplane_control::Control;
use lakeplane_core::job::JobSettings;
use lakeplane_core::run::{RunResult, RunState};
use lakeplane_core::RunId;
use rand::Rng;
use serde_json::json;

/// How many tasks the job has, and how many rows each statement of a task writes.
const TASKS: usize = 10;
const ROWS: u64 = 1000;
const KILLS: usize = 20;
const WORKERS: usize = 3;

/// The job: five tasks, and five more that each depend on one of them. Task `i` runs saved query
/// `queries[i]`.
fn job(queries: &[String]) -> JobSettings {
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let mut t = json!({"task_key": format!("t{i}"),
                               "sql_task": {"query": {"query_id": queries[i]}}});
            if i >= TASKS / 2 {
                t["depends_on"] = json!([{"task_key": format!("t{}", i - TASKS / 2)}]);
            }
            t
        })
        .collect();
    JobSettings::from_json(json!({"name": "chaos", "tasks": tasks})).unwrap()
}

/// Task `i`'s SQL: a table made, then filled by two INSERTs, each from a query slow enough (4
/// million joined pairs grouped back to `ROWS` rows) that kills land in the middle of tasks.
fn task_sql(prefix: &str, i: usize) -> String {
    let slow = |offset: u64| {
        format!(
            "SELECT a.value + {offset} AS v FROM range(0, {ROWS}) a CROSS JOIN range(0, 4000) b \
             GROUP BY a.value HAVING count(*) = 4000"
        )
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {prefix}_{i} (v BIGINT); \
         INSERT INTO {prefix}_{i} {}; INSERT INTO {prefix}_{i} {}",
        slow(0),
        slow(ROWS)
    )
}

/// Where the platform runs: the worker flags and a control plane over the same state.
struct Platform {
    control: Control,
    args: Vec<String>,
    /// Reads a table's row count.
    count: Box<dyn Fn(&str) -> u64 + Send + Sync>,
}

/// Starts the job and drives workers until the run ends: killing one at random every 0.05–0.3 s
/// (and starting a replacement) until `kills` kills. Returns the run's id, the kills and the time.
async fn run_with_kills(p: &Platform, kills: usize, tag: &str) -> (RunId, usize, Duration) {
    let mut queries = Vec::new();
    for i in 0..TASKS {
        let q = lakeplane_control::NewQuery {
            display_name: format!("{tag} {i}"),
            query_text: task_sql(tag, i),
            warehouse_id: None,
            description: None,
        };
        queries.push(
            p.control
                .queries()
                .create(q, "chaos@example.com")
                .await
                .unwrap()
                .id,
        );
    }
    // The chaos is about faults, not grants: the job's owner is an admin.
    p.control
        .principals()
        .ensure_admin("chaos@example.com")
        .await
        .unwrap();
    let job = p
        .control
        .jobs()
        .create(job(&queries), "chaos@example.com")
        .await
        .unwrap();
    let started = Instant::now();
    let run = p
        .control
        .runs()
        .run_now(job, Default::default(), "chaos@example.com")
        .await
        .unwrap();
    let args: Vec<&str> = p.args.iter().map(String::as_str).collect();
    let mut workers: Vec<Child> = (0..WORKERS)
        .map(|n| crate::worker(&args, &format!("{tag}-w{n}")))
        .collect();
    let queues = vec![lakeplane_control::DEFAULT_QUEUE.to_string()];
    let mut killed = 0;
    let mut spawned = WORKERS;
    let mut rng = rand::rng();
    let ended = loop {
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..300))).await;
        // The reconciler runs alongside, as in production (a worker killed between recording a
        // task's end and moving the run on leaves that to it).
        p.control.reconciler().sweep(&queues).await.unwrap();
        let v = p.control.runs().get(run).await.unwrap();
        if v.run.is_terminal() {
            break v;
        }
        if killed < kills {
            let victim = rng.random_range(0..workers.len());
            workers[victim].kill().unwrap(); // SIGKILL
            workers[victim].wait().unwrap();
            killed += 1;
            workers[victim] = crate::worker(&args, &format!("{tag}-w{spawned}"));
            spawned += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the run did not end"
        );
    };
    let elapsed = started.elapsed();
    for mut w in workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    assert_eq!(
        ended.run.state,
        RunState::Terminated(RunResult::Success),
        "{}",
        ended.run.state_message
    );
    let reruns: u32 = ended.tasks.iter().map(|t| t.attempt_number).sum();
    println!("{tag}: {killed} kills, {reruns} re-run attempts, {elapsed:?}");
    (run, killed, elapsed)
}

/// Settings for the test's control plane, which reconciles alongside the workers: the same lease
/// loss limit as the workers (`--max-lease-losses`), and a first look at a run a second after it
/// starts.
fn reconcile_soon() -> lakeplane_control::Settings {
    lakeplane_control::Settings {
        first_check: Duration::from_secs(1),
        max_lease_losses: MAX_LEASE_LOSSES,
    }
}

/// So many that random kills never fail a task; the poison-task limit has its own test.
const MAX_LEASE_LOSSES: u32 = 1000;

async fn chaos(p: Platform) {
    let _alone = crate::HEAVY.lock().await;
    // The same job without kills first, for the time a kill costs.
    let (_, _, calm) = run_with_kills(&p, 0, "calm").await;
    let (_, kills, stormy) = run_with_kills(&p, KILLS, "chaos").await;
    assert!(
        kills >= KILLS,
        "only {kills} kills happened before the run ended"
    );
    for i in 0..TASKS {
        for prefix in ["calm", "chaos"] {
            assert_eq!(
                (p.count)(&format!("{prefix}_{i}")),
                2 * ROWS,
                "table {prefix}_{i} holds every row exactly once"
            );
        }
    }
    let lost = stormy.saturating_sub(calm).as_secs_f64() / kills as f64;
    println!(
        "chaos: {kills} kills; run {:.1} s with kills vs {:.1} s without: {lost:.2} s lost per kill",
        stormy.as_secs_f64(),
        calm.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_workers_lose_nothing_and_write_nothing_twice_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let store = lakeplane_store::embedded::EmbeddedStore::open(data.join("state.db"))
        .await
        .unwrap();
    let warehouse = data.join("warehouse");
    let engine_root = lakeplane_engine::storage::StorageRoot::local(&warehouse).unwrap();
    let catalog = lakeplane_control::Control::new(std::sync::Arc::new(store.clone()));
    let engine = lakeplane_engine::Engine::new(
        engine_root,
        std::sync::Arc::new(catalog.catalogs().clone()),
        lakeplane_engine::access::AccessPolicy::local([data.clone()]),
        None,
    )
    .unwrap();
    let count = move |table: &str| -> u64 {
        let engine = engine.clone();
        let sql = format!("SELECT count(*) AS n FROM {table}");
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let out = engine
                    .execute(&lakeplane_engine::ExecContext::new("t"), &sql)
                    .await
                    .unwrap();
                let batches = out.collect().await.unwrap();
                let col = batches[0].column(0);
                let fmt = lakeplane_engine::arrow::util::display::ArrayFormatter::try_new(
                    col.as_ref(),
                    &Default::default(),
                )
                .unwrap();
                fmt.value(0).to_string().parse().unwrap()
            })
        })
    };
    chaos(Platform {
        control: Control::with_settings(Arc::new(store), reconcile_soon()),
        args: vec![
            "--data-dir".into(),
            data.display().to_string(),
            "--max-lease-losses".into(),
            MAX_LEASE_LOSSES.to_string(),
        ],
        count: Box::new(count),
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_workers_lose_nothing_and_write_nothing_twice_on_dynamodb_and_s3() {
    let aws = lakeplane_testing::aws_config().await;
    let table = lakeplane_testing::unique("chaos-state");
    let bucket = lakeplane_testing::s3_bucket("chaos-lake").await;
    let store = lakeplane_store::dynamodb::DynamoStore::new(&aws, table.clone());
    store.create_table().await.unwrap();
    let root = format!("s3://{bucket}/lake");
    let catalog: Arc<dyn lakeplane_store::StateStore> = Arc::new(
        lakeplane_store::dynamodb::DynamoStore::new(&aws, table.clone()),
    );
    chaos(Platform {
        control: Control::with_settings(Arc::new(store), reconcile_soon()),
        args: vec![
            "--state".into(),
            format!("dynamodb://{table}"),
            "--storage".into(),
            root,
            "--max-lease-losses".into(),
            MAX_LEASE_LOSSES.to_string(),
        ],
        count: Box::new(move |t| {
            let handle = tokio::runtime::Handle::current();
            let location = tokio::task::block_in_place(|| {
                handle.block_on(crate::location_of(catalog.clone(), t))
            });
            crate::python_count(&location)
        }),
    })
    .await;
}

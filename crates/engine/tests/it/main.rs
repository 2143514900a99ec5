//! The engine against real Delta tables in a temporary storage root.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod access;
mod lakehouse;
mod params;
mod slt;
mod tpch;
mod udfs;

use std::path::PathBuf;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
use lakeplane_engine::access::AccessPolicy;
use lakeplane_engine::storage::StorageRoot;
use lakeplane_engine::{Engine, EngineError, ExecContext, Outcome, TxnId};

/// A catalog over a fresh SQLite state store.
pub async fn catalog() -> std::sync::Arc<dyn lakeplane_core::catalog::Metastore> {
    let control = lakeplane_control::Control::new(lakeplane_testing::embedded_store().await);
    std::sync::Arc::new(control.catalogs().clone())
}

/// Every row of some batches, each cell as text (NULL as `NULL`).
pub fn rows_of(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut rows = vec![];
    for b in batches {
        for r in 0..b.num_rows() {
            rows.push((0..b.num_columns()).map(|c| cell(b, r, c)).collect());
        }
    }
    rows
}

pub struct Lake {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

impl Lake {
    /// A storage root in a temporary folder and a catalog in a SQLite state store; SQL may read
    /// that folder and the repo's examples.
    pub async fn new() -> Lake {
        Lake::with(|p| p).await
    }

    pub async fn with(policy: impl FnOnce(AccessPolicy) -> AccessPolicy) -> Lake {
        let dir = tempfile::tempdir().unwrap();
        let examples = lakeplane_testing::repo_root().join("examples");
        let access = policy(AccessPolicy::local([dir.path().to_path_buf(), examples]));
        let engine = Engine::new(
            StorageRoot::local(&dir.path().join("warehouse")).unwrap(),
            catalog().await,
            access,
            None,
        )
        .unwrap();
        Lake { engine, dir }
    }

    pub async fn run(&self, sql: &str) -> Result<Vec<RecordBatch>, EngineError> {
        self.run_in(&ExecContext::new("tester"), sql).await
    }

    pub async fn run_in(
        &self,
        ctx: &ExecContext,
        sql: &str,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        self.engine.execute(ctx, sql).await?.collect().await
    }

    /// A lake whose storage root is an S3 bucket on moto (started by scripts/test); SQL may read
    /// the bucket and a local temporary folder.
    pub async fn on_s3() -> Lake {
        let dir = tempfile::tempdir().unwrap();
        let bucket = lakeplane_testing::s3_bucket("lake").await;
        let aws = lakeplane_testing::aws_config().await;
        let access = AccessPolicy::local([dir.path().to_path_buf()])
            .with_s3_buckets(Some(vec![bucket.clone()]));
        let root = url::Url::parse(&format!("s3://{bucket}/lake")).unwrap();
        let engine =
            Engine::new(StorageRoot::new(root), catalog().await, access, Some(aws)).unwrap();
        Lake { engine, dir }
    }

    /// Where table `main.default.<table>` keeps its files, as DESCRIBE DETAIL says.
    pub async fn location(&self, table: &str) -> std::path::PathBuf {
        self.location_url(table).await.to_file_path().unwrap()
    }

    pub async fn location_url(&self, table: &str) -> url::Url {
        let batches = self.run(&format!("DESCRIBE DETAIL {table}")).await.unwrap();
        let i = batches[0].schema().index_of("location").unwrap();
        url::Url::parse(&cell(&batches[0], 0, i)).unwrap()
    }

    /// Every row of a query, each cell as text.
    pub async fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        rows_of(&self.run(sql).await.unwrap())
    }

    /// The first column of the first row, as text.
    pub async fn scalar(&self, sql: &str) -> String {
        let batches = self.run(sql).await.unwrap();
        let batch = batches.iter().find(|b| b.num_rows() > 0).expect("a row");
        cell(batch, 0, 0)
    }

    pub async fn error(&self, sql: &str) -> String {
        self.run(sql).await.unwrap_err().to_string()
    }
}

pub fn cell(batch: &RecordBatch, row: usize, col: usize) -> String {
    let options = FormatOptions::default().with_null("null");
    ArrayFormatter::try_new(batch.column(col).as_ref(), &options)
        .unwrap()
        .value(row)
        .to_string()
}

fn trips_csv() -> String {
    let p = lakeplane_testing::repo_root().join("examples/demo/trips.csv");
    p.to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_pipeline_of_ctas_insert_and_select_over_delta() {
    let lake = Lake::new().await;
    let csv = trips_csv();
    let out = lake
        .engine
        .execute(
            &ExecContext::new("tester"),
            &format!(
                "CREATE TABLE trips AS SELECT * FROM read_files('{csv}', format => 'csv', header => true)"
            ),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            out.last,
            Outcome::Changed(lakeplane_engine::Changes { affected: 10, .. })
        ),
        "{:?}",
        out.last
    );
    let answer = out.collect().await.unwrap();
    assert_eq!(answer[0].schema().field(0).name(), "num_affected_rows");
    assert_eq!(cell(&answer[0], 0, 0), "10");
    assert!(lake
        .location("trips")
        .await
        .join("_delta_log/00000000000000000000.json")
        .exists());
    lake.run(
        "CREATE TABLE main.default.city_totals AS \
         SELECT city, count(*) AS trips, sum(fare_usd) AS fares FROM trips GROUP BY city; \
         INSERT INTO city_totals VALUES ('Tacoma', 1, 3.5)",
    )
    .await
    .unwrap();
    assert_eq!(
        lake.scalar("SELECT count(*) AS n FROM city_totals").await,
        "4"
    );
    assert_eq!(
        lake.scalar("SELECT trips FROM city_totals WHERE city = 'Seattle'")
            .await,
        "5"
    );
    // A second version exists: the INSERT was its own commit.
    assert!(lake
        .location("city_totals")
        .await
        .join("_delta_log/00000000000000000001.json")
        .exists());
}

#[tokio::test]
async fn create_with_columns_then_insert_by_name_and_overwrite() {
    let lake = Lake::new().await;
    lake.run(
        "CREATE SCHEMA sales; CREATE TABLE sales.orders (id BIGINT, item STRING, price DOUBLE)",
    )
    .await
    .unwrap();
    lake.run("INSERT INTO sales.orders (item, id) VALUES ('pen', 1), ('ink', 2)")
        .await
        .unwrap();
    assert_eq!(
        lake.scalar("SELECT count(*) FROM sales.orders WHERE price IS NULL")
            .await,
        "2"
    );
    lake.run("INSERT OVERWRITE sales.orders SELECT 9, 'cap', 1.5")
        .await
        .unwrap();
    assert_eq!(lake.scalar("SELECT max(id) FROM sales.orders").await, "9");
    assert_eq!(lake.scalar("SELECT count(*) FROM sales.orders").await, "1");
    lake.run("CREATE TABLE IF NOT EXISTS sales.orders (x INT)")
        .await
        .unwrap();
    lake.run("CREATE OR REPLACE TABLE sales.orders AS SELECT 'new' AS s")
        .await
        .unwrap();
    assert_eq!(lake.scalar("SELECT s FROM sales.orders").await, "new");
    lake.run("DROP TABLE sales.orders").await.unwrap();
    lake.run("DROP TABLE IF EXISTS sales.orders").await.unwrap();
}

#[tokio::test]
async fn errors_are_clear() {
    let lake = Lake::new().await;
    let missing = format!(
        "SELECT * FROM read_files('{}')",
        lake.dir.path().join("missing.csv").display()
    );
    let xml = format!(
        "SELECT * FROM read_files('{}', format => 'xml')",
        lake.dir.path().display()
    );
    let located = format!("CREATE TABLE l LOCATION '{}'", lake.dir.path().display());
    let cases: &[(&str, &str)] = &[
        ("SELEC 1", "SQL syntax error"),
        ("SELECT * FROM nope", "nope"),
        (
            "CREATE TABLE t AS SELECT 1 AS a; CREATE TABLE t AS SELECT 2 AS a",
            "statement 2: Table 'main.default.t' already exists",
        ),
        (
            "INSERT INTO missing VALUES (1)",
            "Table or view 'main.default.missing' does not exist",
        ),
        (
            "CREATE TABLE u (a INT); INSERT INTO u VALUES (1, 2)",
            "has 2 column(s) but 1 are expected",
        ),
        (
            "SELECT * FROM other.s.t",
            "Table or view 'other.s.t' does not exist",
        ),
        (&missing, "does not exist"),
        (
            &located,
            "needs columns, AS SELECT, or a LOCATION that holds a Delta table",
        ),
        (&xml, "format 'xml' is not supported"),
        (
            "DELETE FROM nope WHERE a = 1",
            "Table or view 'main.default.nope' does not exist",
        ),
        (
            "SET datafusion.execution.target_partitions = 1",
            "not supported",
        ),
        ("", "no statements"),
    ];
    for (sql, want) in cases {
        let err = lake.error(sql).await;
        assert!(
            err.contains(want),
            "{sql:?}: {err:?} should contain {want:?}"
        );
    }
    let parse = lake.run("SELECT (").await.unwrap_err();
    assert!(matches!(parse, EngineError::Parse(_)));
}

#[tokio::test]
async fn json_and_parquet_files_are_read() {
    let lake = Lake::new().await;
    let json = lake.dir.path().join("events.json");
    std::fs::write(
        &json,
        "{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": \"y\"}\n",
    )
    .unwrap();
    let sql = format!("SELECT sum(a) FROM read_files('{}')", json.display());
    assert_eq!(lake.scalar(&sql).await, "3");
    // Parquet: the data files of a Delta table are Parquet.
    lake.run("CREATE TABLE p AS SELECT 5 AS v").await.unwrap();
    let data = std::fs::read_dir(lake.location("p").await)
        .unwrap()
        .filter_map(Result::ok)
        .find(|f| f.path().extension().is_some_and(|x| x == "parquet"))
        .unwrap()
        .path();
    let sql = format!(
        "SELECT v FROM read_files('{}', format => 'parquet')",
        data.display()
    );
    assert_eq!(lake.scalar(&sql).await, "5");
}

#[tokio::test]
async fn sql_files_are_read_from_local_paths() {
    let lake = Lake::new().await;
    let f = lake.dir.path().join("q.sql");
    std::fs::write(&f, "SELECT 1").unwrap();
    assert_eq!(
        lake.engine
            .read_sql_file(&f.to_string_lossy())
            .await
            .unwrap(),
        "SELECT 1"
    );
    let missing = lake.dir.path().join("no/such.sql");
    assert!(lake
        .engine
        .read_sql_file(&missing.to_string_lossy())
        .await
        .is_err());
}

#[tokio::test]
async fn the_last_statement_streams_and_cancellation_stops_it() {
    let lake = Lake::new().await;
    let out = lake
        .engine
        .execute(
            &ExecContext::new("t"),
            "CREATE TABLE s AS SELECT 1 AS v; SELECT * FROM range(100000)",
        )
        .await
        .unwrap();
    assert_eq!(out.statements, 2);
    let batches = out.collect().await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 100_000);

    let ctx = ExecContext::new("t");
    let slow = "SELECT count(*) FROM range(200000) a CROSS JOIN range(20000) b";
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = std::time::Instant::now();
    let err = lake.run_in(&ctx, slow).await.unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err}");
    // The query runs on the engine's own runtime, so this (single-threaded) test runtime's timer
    // fires on time and the reader sees the cancellation at once.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_query_past_its_memory_budget_fails_cleanly() {
    let lake = Lake::new().await;
    let mut ctx = ExecContext::new("t");
    // A hash join's build side cannot spill: past the budget it fails, every time.
    ctx.memory_budget = 1024 * 1024;
    let sql = "SELECT count(*) FROM range(2000000) a JOIN range(2000000) b ON a.value = b.value";
    let err = lake.run_in(&ctx, sql).await.unwrap_err().to_string();
    assert!(err.to_lowercase().contains("resources exhausted"), "{err}");
    // The engine keeps serving.
    assert_eq!(lake.scalar("SELECT 1 + 1").await, "2");
}

#[tokio::test]
async fn writes_carry_the_delta_transaction_identity() {
    let lake = Lake::new().await;
    let mut ctx = ExecContext::new("t");
    ctx.txn = Some(TxnId {
        app_id: "lakeplane/run-7/task-a".into(),
        version: 3,
    });
    lake.run_in(
        &ctx,
        "CREATE TABLE x AS SELECT 1 AS v; INSERT INTO x VALUES (2)",
    )
    .await
    .unwrap();
    let log = lake.location("x").await.join("_delta_log");
    let first = std::fs::read_to_string(log.join("00000000000000000000.json")).unwrap();
    let second = std::fs::read_to_string(log.join("00000000000000000001.json")).unwrap();
    assert!(
        first.contains(r#""txn":{"appId":"lakeplane/run-7/task-a/0","version":3"#),
        "{first}"
    );
    assert!(
        second.contains(r#""appId":"lakeplane/run-7/task-a/1""#),
        "{second}"
    );
}

/// A statement an earlier attempt committed is not written again, in a later attempt (a re-run) or
/// by a concurrent one (a worker that lost its lease still finishing): attempts writing the same
/// statement at once collide in Delta's conflict check on the shared app id, so one commit lands,
/// and the losers see the winner's commit and count the statement as done.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_statement_is_committed_once_across_attempts_even_concurrent_ones() {
    let lake = Lake::new().await;
    lake.run("CREATE TABLE once (v BIGINT)").await.unwrap();
    let attempt = |version: i64| {
        let mut ctx = ExecContext::new("t");
        ctx.txn = Some(TxnId {
            app_id: "lakeplane/run-9/task-load".into(),
            version,
        });
        ctx
    };
    // Statement 0 of the task.
    let sql = "INSERT INTO once SELECT value FROM range(0, 1000)";
    let mut racing = Vec::new();
    for version in 0..4 {
        let (engine, ctx) = (lake.engine.clone(), attempt(version));
        racing.push(tokio::spawn(async move {
            let out = engine.execute(&ctx, sql).await?;
            out.collect().await
        }));
    }
    for r in racing {
        r.await
            .unwrap()
            .expect("every attempt succeeds: one commits, the others find it done");
    }
    assert_eq!(
        lake.scalar("SELECT count(*) FROM once").await,
        "1000",
        "one commit landed"
    );
    // A later attempt skips it.
    lake.run_in(&attempt(7), sql).await.unwrap();
    assert_eq!(lake.scalar("SELECT count(*) FROM once").await, "1000");
    // Other work (another app id) still writes.
    lake.run("INSERT INTO once VALUES (5)").await.unwrap();
    assert_eq!(lake.scalar("SELECT count(*) FROM once").await, "1001");
}

/// The repo's examples folder.
pub fn examples() -> PathBuf {
    lakeplane_testing::repo_root().join("examples")
}

//! The engine against real Delta tables in a temporary warehouse.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::path::PathBuf;

use lakeplane_engine::location::Warehouse;
use lakeplane_engine::{Engine, EngineError};

fn engine() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Engine::new(Warehouse::local(dir.path()).unwrap()), dir)
}

fn trips_csv() -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo/trips.csv");
    p.canonicalize().unwrap().to_string_lossy().into_owned()
}

async fn scalar(e: &Engine, sql: &str) -> String {
    let out = e.execute(sql).await.unwrap();
    let row = out.sample.first().expect("a row").as_object().unwrap();
    row.values()
        .next()
        .unwrap()
        .as_str()
        .unwrap_or("null")
        .to_string()
}

#[tokio::test]
async fn a_pipeline_of_ctas_insert_and_select_over_delta() {
    let (e, dir) = engine();
    let csv = trips_csv();
    let out = e
        .execute(&format!(
            "CREATE TABLE trips AS SELECT * FROM read_files('{csv}', format => 'csv', header => true)"
        ))
        .await
        .unwrap();
    assert_eq!(out.rows, 10, "rows written");
    assert!(dir
        .path()
        .join("main/default/trips/_delta_log/00000000000000000000.json")
        .exists());
    e.execute(
        "CREATE TABLE main.default.city_totals AS \
         SELECT city, count(*) AS trips, sum(fare_usd) AS fares FROM trips GROUP BY city; \
         INSERT INTO city_totals VALUES ('Tacoma', 1, 3.5)",
    )
    .await
    .unwrap();
    assert_eq!(
        scalar(&e, "SELECT count(*) AS n FROM city_totals").await,
        "4"
    );
    assert_eq!(
        scalar(&e, "SELECT trips FROM city_totals WHERE city = 'Seattle'").await,
        "5"
    );
    // A second version exists: the INSERT was its own commit.
    assert!(dir
        .path()
        .join("main/default/city_totals/_delta_log/00000000000000000001.json")
        .exists());
}

#[tokio::test]
async fn create_with_columns_then_insert_by_name_and_overwrite() {
    let (e, _dir) = engine();
    e.execute(
        "CREATE SCHEMA sales; CREATE TABLE sales.orders (id BIGINT, item STRING, price DOUBLE)",
    )
    .await
    .unwrap();
    e.execute("INSERT INTO sales.orders (item, id) VALUES ('pen', 1), ('ink', 2)")
        .await
        .unwrap();
    assert_eq!(
        scalar(&e, "SELECT count(*) FROM sales.orders WHERE price IS NULL").await,
        "2"
    );
    e.execute("INSERT OVERWRITE sales.orders SELECT 9, 'cap', 1.5")
        .await
        .unwrap();
    assert_eq!(scalar(&e, "SELECT max(id) FROM sales.orders").await, "9");
    assert_eq!(scalar(&e, "SELECT count(*) FROM sales.orders").await, "1");
    e.execute("CREATE TABLE IF NOT EXISTS sales.orders (x INT)")
        .await
        .unwrap();
    e.execute("CREATE OR REPLACE TABLE sales.orders AS SELECT 'new' AS s")
        .await
        .unwrap();
    assert_eq!(scalar(&e, "SELECT s FROM sales.orders").await, "new");
    e.execute("DROP TABLE sales.orders").await.unwrap();
    e.execute("DROP TABLE IF EXISTS sales.orders")
        .await
        .unwrap();
}

#[tokio::test]
async fn errors_are_clear() {
    let (e, _dir) = engine();
    let cases: &[(&str, &str)] = &[
        ("SELEC 1", "SQL syntax error"),
        ("SELECT * FROM nope", "nope"),
        (
            "CREATE TABLE t AS SELECT 1 AS a; CREATE TABLE t AS SELECT 2 AS a",
            "statement 2: table main.default.t already exists",
        ),
        (
            "INSERT INTO missing VALUES (1)",
            "table main.default.missing does not exist",
        ),
        (
            "CREATE TABLE u (a INT); INSERT INTO u VALUES (1, 2)",
            "has 2 column(s) but 1 are expected",
        ),
        ("SELECT * FROM other.s.t", "table 'other.s.t' not found"),
        (
            "SELECT * FROM read_files('/no/such/file.csv')",
            "does not exist",
        ),
        (
            "SELECT * FROM read_files('/tmp', format => 'xml')",
            "format 'xml' is not supported",
        ),
        ("DELETE FROM t WHERE a = 1", "not supported yet"),
        ("", "no statements"),
    ];
    for (sql, want) in cases {
        let err = e.execute(sql).await.unwrap_err().to_string();
        assert!(
            err.contains(want),
            "{sql:?}: {err:?} should contain {want:?}"
        );
    }
    let parse = e.execute("SELECT (").await.unwrap_err();
    assert!(matches!(parse, EngineError::Parse(_)));
}

#[tokio::test]
async fn json_and_parquet_files_are_read() {
    let (e, dir) = engine();
    let json = dir.path().join("events.json");
    std::fs::write(
        &json,
        "{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": \"y\"}\n",
    )
    .unwrap();
    let sql = format!("SELECT sum(a) FROM read_files('{}')", json.display());
    assert_eq!(scalar(&e, &sql).await, "3");
    // Parquet: the data files of a Delta table are Parquet.
    e.execute("CREATE TABLE p AS SELECT 5 AS v").await.unwrap();
    let data = std::fs::read_dir(dir.path().join("main/default/p"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|f| f.path().extension().is_some_and(|x| x == "parquet"))
        .unwrap()
        .path();
    let sql = format!(
        "SELECT v FROM read_files('{}', format => 'parquet')",
        data.display()
    );
    assert_eq!(scalar(&e, &sql).await, "5");
}

#[tokio::test]
async fn sql_files_are_read_from_local_paths() {
    let (e, dir) = engine();
    let f = dir.path().join("q.sql");
    std::fs::write(&f, "SELECT 1").unwrap();
    assert_eq!(
        e.read_sql_file(&f.to_string_lossy()).await.unwrap(),
        "SELECT 1"
    );
    assert!(e.read_sql_file("/no/such.sql").await.is_err());
}

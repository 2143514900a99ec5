//! Parameters are bound as values: whatever a value holds, it is data.

use lakeplane_engine::{ExecContext, Param};

use crate::{cell, Lake};

const EVIL: &str = "x'); DROP TABLE t; --";

#[tokio::test]
async fn a_parameter_holding_sql_is_stored_as_a_literal_and_the_table_survives() {
    let lake = Lake::new().await;
    lake.run("CREATE TABLE t (s STRING)").await.unwrap();
    let mut ctx = ExecContext::new("tester");
    ctx.params.insert("v".into(), Param::text(EVIL));
    lake.run_in(
        &ctx,
        "INSERT INTO t VALUES (:v); INSERT INTO t VALUES ({{v}}); INSERT INTO t SELECT '{{ v }}'",
    )
    .await
    .unwrap();
    let rows = lake
        .run("SELECT s, count(*) FROM t GROUP BY s")
        .await
        .unwrap();
    assert_eq!(rows[0].num_rows(), 1, "one distinct value");
    assert_eq!(cell(&rows[0], 0, 0), EVIL);
    assert_eq!(cell(&rows[0], 0, 1), "3");
}

#[tokio::test]
async fn typed_markers_and_numbers() {
    let lake = Lake::new().await;
    let mut ctx = ExecContext::new("tester");
    ctx.params.insert(
        "day".into(),
        Param {
            value: Some("2024-02-28".into()),
            sql_type: Some("DATE".into()),
        },
    );
    ctx.params.insert("n".into(), Param::text("3"));
    let rows = lake
        .run_in(
            &ctx,
            "SELECT CAST(:day + INTERVAL '1' DAY AS STRING), value FROM range(10) WHERE value < {{n}} ORDER BY value DESC LIMIT 1",
        )
        .await
        .unwrap();
    assert_eq!(cell(&rows[0], 0, 0), "2024-02-29");
    assert_eq!(cell(&rows[0], 0, 1), "2");
}

#[tokio::test]
async fn read_files_takes_its_path_from_a_parameter() {
    let lake = Lake::new().await;
    let csv = crate::examples().join("demo/trips.csv");
    let ctx = ExecContext::new("tester").with_text_params(
        &[("source".to_string(), csv.display().to_string())]
            .into_iter()
            .collect(),
    );
    for sql in [
        "SELECT count(*) FROM read_files(:source, format => 'csv', header => true)",
        "SELECT count(*) FROM read_files('{{source}}', format => 'csv', header => true)",
    ] {
        let rows = lake.run_in(&ctx, sql).await.unwrap();
        assert_eq!(cell(&rows[0], 0, 0), "10", "{sql}");
    }
}

#[tokio::test]
async fn identifier_takes_a_table_name_from_a_parameter() {
    let lake = Lake::new().await;
    lake.run("CREATE SCHEMA s; CREATE TABLE s.orders AS SELECT 7 AS amount")
        .await
        .unwrap();
    let mut ctx = ExecContext::new("tester");
    ctx.params.insert("t".into(), Param::text("main.s.orders"));
    ctx.params.insert("c".into(), Param::text("amount"));
    let rows = lake
        .run_in(&ctx, "SELECT IDENTIFIER(:c) FROM IDENTIFIER(:t)")
        .await
        .unwrap();
    assert_eq!(cell(&rows[0], 0, 0), "7");
    ctx.params
        .insert("t".into(), Param::text("s.orders; DROP TABLE s.orders"));
    let err = lake
        .run_in(&ctx, "SELECT * FROM IDENTIFIER(:t)")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is not a name"), "{err}");
    assert_eq!(lake.scalar("SELECT count(*) FROM s.orders").await, "1");
}

//! Every Databricks form of the SQL surface parses, and into the right command.

use super::ast::{Command, Lake};
use super::parse;
use crate::context::Params;

fn kinds(sql: &str) -> Vec<String> {
    parse(sql, &Params::new())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|c| match c {
            Command::Std(s) => format!(
                "std: {}",
                s.to_string().split_whitespace().next().unwrap_or("")
            ),
            Command::Lake(l) => l.kind().to_string(),
        })
        .collect()
}

#[test]
fn the_databricks_surface_parses() {
    let cases = [
        ("CREATE CATALOG IF NOT EXISTS c COMMENT 'x'", "CREATE CATALOG"),
        ("DROP CATALOG IF EXISTS c CASCADE", "DROP CATALOG"),
        ("CREATE SCHEMA IF NOT EXISTS c.s COMMENT 'x' WITH DBPROPERTIES ('a' = 'b')", "CREATE SCHEMA"),
        ("CREATE DATABASE d", "CREATE SCHEMA"),
        ("CREATE OR REPLACE TABLE t (a INT NOT NULL, b STRING COMMENT 'bee', CONSTRAINT pos CHECK (a > 0)) USING DELTA PARTITIONED BY (b) LOCATION 's3://x/y' COMMENT 'hi' TBLPROPERTIES ('delta.appendOnly' = 'true')", "CREATE TABLE"),
        ("CREATE TABLE IF NOT EXISTS t USING DELTA AS SELECT 1 AS a", "CREATE TABLE"),
        ("CREATE TABLE t AS SELECT 1 AS a", "CREATE TABLE"),
        ("CREATE OR REPLACE VIEW v COMMENT 'x' AS SELECT 1", "CREATE VIEW"),
        ("ALTER TABLE t ADD COLUMNS (c INT COMMENT 'x', d STRING)", "ALTER TABLE"),
        ("ALTER TABLE t ADD COLUMN c INT", "ALTER TABLE"),
        ("ALTER TABLE t RENAME TO u", "ALTER TABLE"),
        ("ALTER TABLE t SET TBLPROPERTIES ('a' = 'b', delta.x = 1)", "ALTER TABLE"),
        ("ALTER TABLE t UNSET TBLPROPERTIES IF EXISTS ('a')", "ALTER TABLE"),
        ("ALTER TABLE t ALTER COLUMN a COMMENT 'x'", "ALTER TABLE"),
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", "ALTER TABLE"),
        ("ALTER TABLE t DROP CONSTRAINT IF EXISTS c", "ALTER TABLE"),
        ("USE CATALOG c", "USE"),
        ("USE SCHEMA s", "USE"),
        ("USE c.s", "USE"),
        ("SHOW CATALOGS LIKE 'm*'", "SHOW"),
        ("SHOW SCHEMAS IN main", "SHOW"),
        ("SHOW TABLES IN main.default LIKE 't*'", "SHOW"),
        ("SHOW COLUMNS IN t", "SHOW"),
        ("SHOW TBLPROPERTIES t", "SHOW"),
        ("DESCRIBE TABLE EXTENDED t", "DESCRIBE"),
        ("DESC t", "DESCRIBE"),
        ("DESCRIBE DETAIL t", "DESCRIBE"),
        ("DESCRIBE HISTORY t LIMIT 5", "DESCRIBE"),
        ("INSERT INTO t REPLACE WHERE a > 1 SELECT 1", "INSERT REPLACE WHERE"),
        ("INSERT INTO t VALUES (1)", "std: INSERT"),
        ("INSERT OVERWRITE TABLE t SELECT 1", "std: INSERT"),
        ("UPDATE t SET a = 1 WHERE b > 2", "std: UPDATE"),
        ("DELETE FROM t WHERE a = 1", "std: DELETE"),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND s.d THEN DELETE WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT * WHEN NOT MATCHED BY SOURCE THEN DELETE", "MERGE"),
        ("MERGE INTO t AS x USING (SELECT 1 AS id) AS y ON x.id = y.id WHEN MATCHED THEN UPDATE SET x.v = y.v WHEN NOT MATCHED THEN INSERT (id, v) VALUES (y.id, y.v) WHEN NOT MATCHED BY SOURCE AND x.v > 1 THEN UPDATE SET v = 0", "MERGE"),
        ("COPY INTO t FROM 's3://b/p' FILEFORMAT = CSV PATTERN = '*.csv' FORMAT_OPTIONS ('header' = 'true') COPY_OPTIONS ('mergeSchema' = 'true')", "COPY INTO"),
        ("SELECT * FROM t VERSION AS OF 3", "std: SELECT"),
        ("RESTORE TABLE t TO VERSION AS OF 1", "RESTORE"),
        ("RESTORE t TIMESTAMP AS OF '2024-01-01'", "RESTORE"),
        ("OPTIMIZE t WHERE a > 1 ZORDER BY (a, b)", "OPTIMIZE"),
        ("VACUUM t RETAIN 100 HOURS DRY RUN", "VACUUM"),
        ("DROP TABLE IF EXISTS t", "std: DROP"),
        ("DROP SCHEMA s CASCADE", "std: DROP"),
    ];
    for (sql, kind) in cases {
        assert_eq!(kinds(sql), [kind], "{sql}");
    }
    assert_eq!(
        kinds("CREATE CATALOG c; USE CATALOG c; SELECT 1; MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE"),
        ["CREATE CATALOG", "USE", "std: SELECT", "MERGE"]
    );
}

#[test]
fn malformed_forms_fail_with_what_was_expected() {
    for (sql, needle) in [
        ("CREATE TABLE t (a INT) USING PARQUET", "USING DELTA"),
        ("MERGE INTO t USING s ON t.a = s.a", "WHEN"),
        (
            "MERGE INTO t USING s ON t.a = s.a WHEN NOT MATCHED THEN DELETE",
            "INSERT",
        ),
        ("COPY INTO t FROM '/x'", "FILEFORMAT"),
        ("VACUUM t RETAIN x HOURS", "number of hours"),
        ("ALTER TABLE t FROB", "ADD COLUMNS"),
        ("SELECT 1 SELECT 2", "end of statement"),
    ] {
        let err = parse(sql, &Params::new()).unwrap_err().to_string();
        assert!(err.contains(needle), "{sql}: {err}");
    }
}

#[test]
fn parameters_bind_inside_our_own_statements() {
    let p: Params = [("v".to_string(), crate::context::Param::text("x'; DROP"))].into();
    let c = parse(
        "MERGE INTO t USING s ON t.a = :v WHEN MATCHED THEN DELETE",
        &p,
    )
    .unwrap();
    let Command::Lake(lake) = &c[0] else { panic!() };
    let Lake::Merge(m) = lake.as_ref() else {
        panic!()
    };
    assert_eq!(m.on.to_string(), "t.a = 'x''; DROP'");
}

#[test]
fn a_look_ahead_that_does_not_match_leaves_the_statement_whole() {
    let p: Params = [("v".to_string(), crate::context::Param::text("x"))].into();
    let c = parse("INSERT INTO t VALUES (:v); INSERT INTO t SELECT 1", &p).unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(
        kinds("SHOW FUNCTIONS; SHOW VARIABLES; DESCRIBE SELECT 1"),
        ["SHOW", "std: SHOW", "std: DESCRIBE"]
    );
}

#[test]
fn function_statements_parse_with_their_clauses_in_any_order() {
    assert_eq!(
        kinds(
            "CREATE OR REPLACE FUNCTION c.s.f(a DOUBLE, b STRING) RETURNS BIGINT \
               COMMENT 'x' HANDLER 'entry' LANGUAGE WASM AS '/m.wasm' DETERMINISTIC; \
             CREATE FUNCTION IF NOT EXISTS g() RETURNS INT AS 's3://b/m.wasm' LANGUAGE wasm; \
             DROP FUNCTION IF EXISTS c.s.f; DESCRIBE FUNCTION EXTENDED g; \
             SHOW USER FUNCTIONS IN c.s LIKE 'f*'; SHOW ALL FUNCTIONS"
        ),
        [
            "CREATE FUNCTION",
            "CREATE FUNCTION",
            "DROP FUNCTION",
            "DESCRIBE FUNCTION",
            "SHOW",
            "SHOW"
        ]
    );
    let c = parse(
        "CREATE FUNCTION f(a DOUBLE) RETURNS DOUBLE HANDLER 'h' LANGUAGE WASM AS 'm'",
        &Params::new(),
    )
    .unwrap();
    let Command::Lake(lake) = &c[0] else { panic!() };
    let Lake::CreateFunction(f) = lake.as_ref() else {
        panic!()
    };
    assert_eq!(
        (
            f.language.as_deref(),
            f.source.as_deref(),
            f.handler.as_deref()
        ),
        (Some("WASM"), Some("m"), Some("h"))
    );
    for (sql, want) in [
        (
            "CREATE FUNCTION f(a INT) RETURNS TABLE (x INT) LANGUAGE WASM AS 'm'",
            "table functions are not supported",
        ),
        (
            "DROP TEMPORARY FUNCTION f",
            "temporary functions are not supported",
        ),
        ("CREATE FUNCTION f(a INT) LANGUAGE WASM AS 'm'", "RETURNS"),
    ] {
        let err = parse(sql, &Params::new()).unwrap_err().to_string();
        assert!(err.contains(want), "{sql}: {err}");
    }
}

//! WebAssembly functions from SQL: created from a module file, called in queries, CTAS, INSERT,
//! UPDATE and views, listed and described, governed by EXECUTE, and contained when hostile.

use std::time::{Duration, Instant};

use lakeplane_core::catalog::Identity;
use lakeplane_engine::ExecContext;
use lakeplane_testing::{hostile_fixture, udf_example};
use lakeplane_udf_host::{Limits, UdfRuntime};

use crate::Lake;

/// Copies a module into the lake's folder (which SQL may read) and returns its path.
fn module_in(lake: &Lake, from: &std::path::Path, name: &str) -> String {
    let to = lake.dir.path().join(name);
    std::fs::copy(from, &to).unwrap();
    to.display().to_string()
}

async fn with_haversine(lake: &Lake) {
    let path = module_in(lake, &udf_example("haversine"), "haversine.wasm");
    lake.run(&format!(
        "CREATE FUNCTION main.default.haversine(lat1 DOUBLE, lon1 DOUBLE, lat2 DOUBLE, lon2 DOUBLE) \
         RETURNS DOUBLE LANGUAGE WASM AS '{path}' COMMENT 'great-circle km'"
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn a_wasm_function_is_created_called_listed_described_and_dropped() {
    let lake = Lake::new().await;
    with_haversine(&lake).await;
    lake.run(
        "CREATE TABLE trips AS SELECT * FROM VALUES \
         (1, 52.52, 13.405, 48.8566, 2.3522), (2, NULL, 0.0, 0.0, 0.0), (3, 0.0, 0.0, 0.0, 90.0) \
         AS t(id, lat1, lon1, lat2, lon2)",
    )
    .await
    .unwrap();
    // Unqualified (the current schema) and fully qualified; in a projection and a filter.
    let rows = lake
        .rows(
            "SELECT id, round(haversine(lat1, lon1, lat2, lon2), 1) FROM trips \
             WHERE id <> 3 OR main.default.haversine(lat1, lon1, lat2, lon2) > 10000 ORDER BY id",
        )
        .await;
    assert_eq!(
        rows,
        vec![vec!["1", "877.5"], vec!["2", "null"], vec!["3", "10007.6"]]
    );
    // Integer arguments are cast to the declared DOUBLE.
    assert_eq!(
        lake.scalar("SELECT round(haversine(0, 0, 0, 90))").await,
        "10008.0"
    );
    // In CTAS and INSERT … SELECT.
    lake.run("CREATE TABLE km AS SELECT id, haversine(lat1, lon1, lat2, lon2) AS km FROM trips")
        .await
        .unwrap();
    lake.run("INSERT INTO km SELECT 4, haversine(0, 0, 1, 0)")
        .await
        .unwrap();
    assert_eq!(
        lake.scalar("SELECT count(*) FROM km WHERE km IS NOT NULL")
            .await,
        "3"
    );
    // In UPDATE.
    lake.run("UPDATE km SET km = haversine(0, 0, 0, 1) WHERE id = 4")
        .await
        .unwrap();
    assert_eq!(
        lake.scalar("SELECT round(km * 100) FROM km WHERE id = 4")
            .await,
        "11120.0"
    );

    assert_eq!(
        lake.rows("SHOW USER FUNCTIONS").await,
        vec![vec!["main.default.haversine"]]
    );
    assert_eq!(
        lake.rows("SHOW FUNCTIONS LIKE 'hav*'").await,
        vec![vec!["main.default.haversine"]]
    );
    let described = lake.rows("DESCRIBE FUNCTION EXTENDED haversine").await;
    let text: Vec<String> = described.into_iter().map(|r| r[0].clone()).collect();
    assert!(
        text.contains(&"Input:    lat1 DOUBLE, lon1 DOUBLE, lat2 DOUBLE, lon2 DOUBLE".to_string()),
        "{text:?}"
    );
    assert!(
        text.iter().any(|l| l.starts_with("Module:   sha256:")),
        "{text:?}"
    );
    assert!(
        text.contains(&"Comment:  great-circle km".to_string()),
        "{text:?}"
    );

    lake.run("DROP FUNCTION haversine").await.unwrap();
    let err = lake
        .error("SELECT main.default.haversine(0, 0, 0, 0)")
        .await;
    assert!(
        err.contains("Function 'main.default.haversine' does not exist"),
        "{err}"
    );
    lake.run("DROP FUNCTION IF EXISTS haversine").await.unwrap();
    assert!(lake
        .error("DROP FUNCTION haversine")
        .await
        .contains("does not exist"));
}

#[tokio::test]
async fn strings_nulls_errors_and_the_c_example() {
    let lake = Lake::new().await;
    let mask = module_in(&lake, &udf_example("mask_email"), "mask.wasm");
    let label = module_in(&lake, &udf_example("null_aware"), "label.wasm");
    let c = module_in(&lake, &udf_example("c"), "fahrenheit.wasm");
    lake.run(&format!(
        "CREATE FUNCTION mask_email(email STRING) RETURNS STRING LANGUAGE WASM AS '{mask}'; \
         CREATE FUNCTION label(name STRING, score BIGINT) RETURNS STRING LANGUAGE WASM \
           AS '{label}' HANDLER 'customer_label'; \
         CREATE FUNCTION fahrenheit(c DOUBLE) RETURNS DOUBLE LANGUAGE WASM AS '{c}'"
    ))
    .await
    .unwrap();
    let rows = lake
        .rows(
            "SELECT mask_email(e), label(n, s), fahrenheit(t) FROM VALUES \
             ('Ann@X.org', 'Ann', 950, 100.0), (NULL, NULL, NULL, NULL) AS v(e, n, s, t)",
        )
        .await;
    assert_eq!(
        rows,
        vec![
            vec!["a**@x.org", "Ann (gold)", "212.0"],
            vec!["null", "null", "null"]
        ]
    );
    let err = lake
        .error("SELECT mask_email(e) FROM VALUES ('a@b.c'), ('not an address') AS v(e)")
        .await;
    assert!(
        err.contains("function main.default.mask_email failed")
            && err.contains("row 1: 'not an address' is not an e-mail address"),
        "{err}"
    );
    // A wrong number of arguments is a planning error naming the function.
    let err = lake.error("SELECT fahrenheit(1, 2)").await;
    assert!(err.contains("takes 1 argument(s), got 2"), "{err}");
}

#[tokio::test]
async fn bad_definitions_are_refused_clearly() {
    let lake = Lake::new().await;
    let h = module_in(&lake, &udf_example("haversine"), "h.wasm");
    let cases = [
        (format!("CREATE FUNCTION f(x DOUBLE) RETURNS DOUBLE LANGUAGE PYTHON AS '{h}'"), "LANGUAGE PYTHON functions are not supported"),
        ("CREATE FUNCTION f(x DOUBLE) RETURNS DOUBLE LANGUAGE WASM".to_string(), "AS '<path or s3:// URI>'"),
        (format!("CREATE FUNCTION f(x ARRAY<INT>) RETURNS DOUBLE LANGUAGE WASM AS '{h}'"), "cannot be passed to a WASM function"),
        (format!("CREATE FUNCTION f(x DOUBLE) RETURNS DOUBLE LANGUAGE WASM AS '{h}'"), "exports no function 'f'"),
        (format!("CREATE FUNCTION f(x DOUBLE) RETURNS DOUBLE LANGUAGE WASM AS '{h}' HANDLER 'lakeplane_alloc'"), "an entry point must be (i32, i32) -> (i64)"),
        ("CREATE FUNCTION f(x DOUBLE) RETURNS DOUBLE LANGUAGE WASM AS '/etc/passwd'".to_string(), "access denied"),
        (format!("CREATE FUNCTION f(x DOUBLE) RETURNS DOUBLE LANGUAGE WASM AS '{}'", module_in(&lake, &hostile_fixture("wasi_fd_write.wat"), "w.wat")), "wasi_snapshot_preview1::fd_write"),
        (format!("CREATE FUNCTION f(x DOUBLE) RETURNS DOUBLE LANGUAGE WASM AS '{}'", module_in(&lake, &hostile_fixture("invalid_bytes.wasm"), "i.wasm")), "not valid WebAssembly"),
        ("CREATE TEMPORARY FUNCTION f(x DOUBLE) RETURNS DOUBLE LANGUAGE WASM AS 'x'".to_string(), "temporary functions are not supported"),
        ("CREATE FUNCTION f(x DOUBLE) RETURNS DOUBLE RETURN x + 1".to_string(), "SQL-bodied functions are not supported"),
    ];
    for (sql, want) in cases {
        let err = lake.error(&sql).await;
        assert!(err.contains(want), "{sql}\n  gave: {err}\n  wanted: {want}");
    }
    assert_eq!(lake.rows("SHOW USER FUNCTIONS").await.len(), 0);
    // CREATE OR REPLACE and IF NOT EXISTS.
    let sql = format!("CREATE FUNCTION h(a DOUBLE, b DOUBLE, c DOUBLE, d DOUBLE) RETURNS DOUBLE LANGUAGE WASM AS '{h}' HANDLER 'haversine'");
    lake.run(&sql).await.unwrap();
    assert!(lake.error(&sql).await.contains("already exists"));
    lake.run(&sql.replace("CREATE FUNCTION", "CREATE FUNCTION IF NOT EXISTS"))
        .await
        .unwrap();
    lake.run(&sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_code_is_pinned_by_its_hash() {
    let lake = Lake::new().await;
    let path = module_in(&lake, &udf_example("haversine"), "pinned.wasm");
    lake.run(&format!(
        "CREATE FUNCTION h(a DOUBLE, b DOUBLE, c DOUBLE, d DOUBLE) RETURNS DOUBLE LANGUAGE WASM \
         AS '{path}' HANDLER 'haversine'"
    ))
    .await
    .unwrap();
    // The file the function was created from changes: the function keeps its own copy.
    std::fs::copy(udf_example("mask_email"), &path).unwrap();
    assert_eq!(lake.scalar("SELECT round(h(0, 0, 0, 90))").await, "10008.0");
    // The stored copy is tampered with: a fresh engine (no compiled module cached) refuses it.
    let stored: Vec<_> = walk(&lake.dir.path().join("warehouse/_lakeplane/udfs"));
    assert_eq!(stored.len(), 1, "{stored:?}");
    std::fs::write(&stored[0], b"(module)").unwrap();
    let fresh = Lake {
        engine: lake
            .engine
            .clone()
            .with_udfs(UdfRuntime::new(Limits::default(), None).unwrap()),
        dir: tempfile::tempdir().unwrap(),
    };
    let err = fresh.error("SELECT h(0, 0, 0, 90)").await;
    assert!(err.contains("has changed"), "{err}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[tokio::test]
async fn execute_is_granted_like_select() {
    let lake = Lake::new().await;
    with_haversine(&lake).await;
    let bob = ExecContext::as_user(Identity::user("bob", vec![]));
    lake.run(
        "GRANT USE CATALOG ON CATALOG main TO bob; GRANT USE SCHEMA ON SCHEMA main.default TO bob",
    )
    .await
    .unwrap();
    let err = lake
        .run_in(&bob, "SELECT haversine(0, 0, 0, 1)")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("User does not have EXECUTE on Function 'main.default.haversine'"),
        "{err}"
    );
    // A view owned by its creator calls the function with the owner's privileges.
    lake.run("CREATE VIEW one_degree AS SELECT haversine(0, 0, 0, 1) AS km; GRANT SELECT ON VIEW one_degree TO bob")
        .await
        .unwrap();
    assert_eq!(
        crate::rows_of(
            &lake
                .run_in(&bob, "SELECT round(km) FROM one_degree")
                .await
                .unwrap()
        ),
        vec![vec!["111.0"]]
    );
    lake.run("GRANT EXECUTE ON FUNCTION main.default.haversine TO bob")
        .await
        .unwrap();
    let out = lake
        .run_in(&bob, "SELECT round(haversine(0, 0, 0, 1))")
        .await
        .unwrap();
    assert_eq!(crate::rows_of(&out), vec![vec!["111.0"]]);
    assert_eq!(
        lake.rows("SHOW GRANTS ON FUNCTION main.default.haversine")
            .await,
        vec![vec!["bob", "EXECUTE", "FUNCTION", "main.default.haversine"]]
    );
    // Creating functions needs CREATE FUNCTION on the schema.
    let path = module_in(&lake, &udf_example("haversine"), "bob.wasm");
    let create = format!("CREATE FUNCTION bobs(a DOUBLE, b DOUBLE, c DOUBLE, d DOUBLE) RETURNS DOUBLE LANGUAGE WASM AS '{path}' HANDLER 'haversine'");
    let err = lake.run_in(&bob, &create).await.unwrap_err().to_string();
    assert!(err.contains("CREATE FUNCTION"), "{err}");
    lake.run("GRANT CREATE FUNCTION ON SCHEMA main.default TO bob")
        .await
        .unwrap();
    lake.run_in(&bob, &create).await.unwrap();
    // Bob owns his function; he may not drop the admin's.
    let err = lake
        .run_in(&bob, "DROP FUNCTION haversine")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an owner"), "{err}");
    lake.run_in(&bob, "DROP FUNCTION bobs").await.unwrap();
}

#[tokio::test]
async fn hostile_functions_fail_cleanly_and_the_engine_keeps_serving() {
    let lake = Lake::new().await;
    let tight = UdfRuntime::new(
        Limits {
            cpu_per_call: Duration::from_millis(300),
            max_memory_bytes: 16 << 20,
            ..Limits::default()
        },
        None,
    )
    .unwrap();
    let lake = Lake {
        engine: lake.engine.clone().with_udfs(tight),
        dir: lake.dir,
    };
    for (file, export, want) in [
        ("infinite_loop.wat", "spin", "CPU limit"),
        ("memory_bomb.wat", "bomb", "memory limit"),
        ("deep_recursion.wat", "recurse", "stack limit"),
        ("huge_output.wat", "huge", "output limit"),
        ("corrupt_allocator.wat", "scribble", "outside its memory"),
        ("bad_result.wat", "bad_strings", "malformed result"),
        ("unreachable.wat", "boom", "unreachable"),
    ] {
        let path = module_in(&lake, &hostile_fixture(file), file);
        lake.run(&format!(
            "CREATE OR REPLACE FUNCTION evil(s STRING) RETURNS STRING LANGUAGE WASM AS '{path}' HANDLER '{export}'"
        ))
        .await
        .unwrap();
        let t = Instant::now();
        let err = lake
            .error("SELECT evil(x) FROM VALUES ('a'), ('b') AS v(x)")
            .await;
        assert!(
            err.contains("function main.default.evil failed") && err.contains(want),
            "{file}: {err}"
        );
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{file} took {:?}",
            t.elapsed()
        );
        // The next query on the same engine works.
        assert_eq!(lake.scalar("SELECT 1 + 1").await, "2");
    }
    let start_loop = module_in(&lake, &hostile_fixture("start_loop.wat"), "start_loop.wat");
    let err = lake
        .error(&format!(
            "CREATE FUNCTION never(s STRING) RETURNS STRING LANGUAGE WASM AS '{start_loop}'"
        ))
        .await;
    assert!(err.contains("does not follow lakeplane's UDF ABI"), "{err}");
}

#[tokio::test]
async fn a_function_replaced_within_a_script_is_looked_up_again() {
    let lake = Lake::new().await;
    let mask = module_in(&lake, &udf_example("mask_email"), "m.wasm");
    let h = module_in(&lake, &udf_example("haversine"), "h.wasm");
    let out = lake
        .run(&format!(
            "CREATE FUNCTION f(e STRING) RETURNS STRING LANGUAGE WASM AS '{mask}' HANDLER 'mask_email'; \
             SELECT f('a@b.c'); \
             CREATE OR REPLACE FUNCTION f(a DOUBLE, b DOUBLE, c DOUBLE, d DOUBLE) RETURNS DOUBLE \
               LANGUAGE WASM AS '{h}' HANDLER 'haversine'; \
             SELECT round(f(0, 0, 0, 1))"
        ))
        .await
        .unwrap();
    assert_eq!(crate::rows_of(&out), vec![vec!["111.0"]]);
}

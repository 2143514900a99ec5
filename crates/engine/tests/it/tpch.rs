//! TPC-H at scale factor 0.1 over Delta tables: the data from `tpchgen-cli` (PyPI), loaded with
//! CTAS from its Parquet files, and all 22 queries (`tests/tpch/queries`) answered as DuckDB
//! answered them over the same files (`tests/tpch/answers/sf0.1`, made by
//! `tests/tpch/answers.py`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Lake;

const TABLES: [&str; 8] = [
    "customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier",
];

/// `tpchgen-cli`: `LAKEPLANE_TPCHGEN`, or next to the test venv's python (scripts/test sets
/// `LAKEPLANE_PYTHON`).
fn tpchgen() -> PathBuf {
    if let Ok(p) = std::env::var("LAKEPLANE_TPCHGEN") {
        return p.into();
    }
    let python = std::env::var("LAKEPLANE_PYTHON").expect(
        "TPC-H needs tpchgen-cli: run through scripts/test, or set LAKEPLANE_TPCHGEN \
         (pip install tpchgen-cli)",
    );
    Path::new(&python).with_file_name("tpchgen-cli")
}

fn tpch_dir() -> PathBuf {
    lakeplane_testing::repo_root().join("tests/tpch")
}

/// Two cells agree: the same text, or numbers equal up to rounding in the last places (the
/// engines carry averages and ratios at different precisions).
fn same(ours: &str, theirs: &str) -> bool {
    if ours == theirs {
        return true;
    }
    match (ours.parse::<f64>(), theirs.parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() <= 1e-9 * b.abs() + 5e-5,
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_22_queries_answer_as_duckdb_does_at_sf_0_1() {
    let lake = Lake::new().await;
    let data = lake.dir.path().join("tpch");
    let out = Command::new(tpchgen())
        .args(["parquet", "-s", "0.1", "--output-dir"])
        .arg(&data)
        .output()
        .expect("tpchgen-cli runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for t in TABLES {
        lake.run(&format!(
            "CREATE TABLE {t} AS SELECT * FROM read_files('{}')",
            data.join(format!("{t}.parquet")).display()
        ))
        .await
        .unwrap_or_else(|e| panic!("loading {t}: {e}"));
    }
    assert_eq!(lake.scalar("SELECT count(*) FROM lineitem").await, "600572");

    let mut failures = vec![];
    for q in 1..=22 {
        let name = format!("q{q:02}");
        let sql = std::fs::read_to_string(tpch_dir().join(format!("queries/{name}.sql"))).unwrap();
        let answer =
            std::fs::read_to_string(tpch_dir().join(format!("answers/sf0.1/{name}.csv"))).unwrap();
        let mut reader = csv_rows(&answer);
        let header = reader.remove(0);
        let ours = match lake.run(&sql).await {
            Ok(batches) => crate::rows_of(&batches),
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        if ours.len() != reader.len() {
            failures.push(format!(
                "{name}: {} rows, DuckDB {}",
                ours.len(),
                reader.len()
            ));
            continue;
        }
        for (i, (a, b)) in ours.iter().zip(&reader).enumerate() {
            let differs = a.len() != b.len() || a.iter().zip(b).any(|(x, y)| !same(x, y));
            if differs {
                failures.push(format!(
                    "{name} row {i} ({header:?}): ours {a:?}, DuckDB {b:?}"
                ));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Rows of a CSV as `answers.py` writes it (quotes only around cells with commas or quotes).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| {
            let mut cells = vec![];
            let mut cell = String::new();
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        cell.push('"');
                        chars.next();
                    }
                    ('"', _) => quoted = !quoted,
                    (',', false) => cells.push(std::mem::take(&mut cell)),
                    (c, _) => cell.push(c),
                }
            }
            cells.push(cell);
            cells
        })
        .collect()
}

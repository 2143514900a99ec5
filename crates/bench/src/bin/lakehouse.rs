//! `lakeplane-bench-lakehouse`: lakeplane's SQL on Delta tables next to DuckDB, in one run.
//!
//! 1. TPC-H: `tpchgen-cli` writes the Parquet files at `--sf`; lakeplane loads them into Delta
//!    tables (CTAS); each of the 22 queries (`tests/tpch/queries`) runs `--runs` times in
//!    lakeplane and in DuckDB (over the same Parquet files, same thread count). Per-query medians
//!    and the ratio of the totals.
//! 2. MERGE: `--merge-target` rows, then `--merge-source` rows (half updates, half inserts) merged
//!    into them; the time and the peak RSS of a process that does only the MERGE.
//!
//! Build with `--release`; see BENCHMARKS.md for the command and the figures.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;
use futures::TryStreamExt;
use lakeplane_control::Control;
use lakeplane_engine::access::AccessPolicy;
use lakeplane_engine::storage::StorageRoot;
use lakeplane_engine::{Engine, ExecContext};
use lakeplane_store::embedded::EmbeddedStore;

const TABLES: [&str; 8] = [
    "customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier",
];

#[derive(Parser)]
struct Args {
    /// Working folder: Parquet files, Delta tables, the catalog (kept between runs).
    #[arg(long, default_value = "/tmp/lakeplane-bench-lakehouse")]
    dir: PathBuf,
    /// TPC-H scale factor.
    #[arg(long, default_value_t = 1.0)]
    sf: f64,
    /// Runs of each query per engine (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The Python with duckdb installed, and tpchgen-cli next to it.
    #[arg(long, default_value = "~/.cache/lakeplane-venv/bin/python")]
    python: String,
    /// Rows of the MERGE target (0 skips the MERGE benchmark).
    #[arg(long, default_value_t = 10_000_000)]
    merge_target: u64,
    /// Rows of the MERGE source.
    #[arg(long, default_value_t = 1_000_000)]
    merge_source: u64,
    /// Skip TPC-H.
    #[arg(long)]
    merge_only: bool,
    /// Also run the queries in lakeplane over views of the Parquet files (no Delta), to tell
    /// DataFusion's own time from what the Delta tables add.
    #[arg(long)]
    parquet_views: bool,
    /// Internal: run only the MERGE in this process and print its time and peak RSS.
    #[arg(long, hide = true)]
    merge_step: bool,
}

fn home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(rest),
        None => PathBuf::from(p),
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An engine over a lake in `dir` that may read what is under `readable`.
async fn engine(dir: &Path, readable: &Path) -> anyhow::Result<Engine> {
    std::fs::create_dir_all(dir)?;
    let store = EmbeddedStore::open(dir.join("state.db")).await?;
    let control = Control::new(Arc::new(store));
    Ok(Engine::new(
        StorageRoot::local(&dir.join("warehouse"))?,
        Arc::new(control.catalogs().clone()),
        AccessPolicy::local([readable.to_path_buf()]),
        None,
    )?)
}

/// The first cell of a query's answer, as text.
async fn scalar(engine: &Engine, sql: &str) -> anyhow::Result<String> {
    let out = engine.execute(&ExecContext::new("bench"), sql).await?;
    let batches: Vec<_> = out.into_stream().try_collect().await?;
    let b = batches.first().context("no rows")?;
    let f = lakeplane_engine::arrow::util::display::ArrayFormatter::try_new(
        b.column(0).as_ref(),
        &Default::default(),
    )?;
    Ok(f.value(0).to_string())
}

async fn run(engine: &Engine, sql: &str) -> anyhow::Result<usize> {
    let out = engine.execute(&ExecContext::new("bench"), sql).await?;
    let batches: Vec<_> = out.into_stream().try_collect().await?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Peak resident set size of this process, in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn tpch(args: &Args) -> anyhow::Result<()> {
    let python = home(&args.python);
    let data = args.dir.join(format!("tpch-sf{}", args.sf));
    if !data.join("lineitem.parquet").exists() {
        let gen = python.with_file_name("tpchgen-cli");
        let t = Instant::now();
        let status = Command::new(&gen)
            .args(["parquet", "-s", &args.sf.to_string(), "--output-dir"])
            .arg(&data)
            .status()
            .with_context(|| format!("running {}", gen.display()))?;
        if !status.success() {
            bail!("tpchgen-cli failed");
        }
        eprintln!(
            "generated SF{} in {:.1} s",
            args.sf,
            t.elapsed().as_secs_f64()
        );
    }
    let lake = args.dir.join(format!("lake-sf{}", args.sf));
    let engine = engine(&lake, &args.dir).await?;
    let t = Instant::now();
    for table in TABLES {
        let exists = engine
            .execute(
                &ExecContext::new("bench"),
                &format!("DESCRIBE DETAIL {table}"),
            )
            .await
            .is_ok();
        if !exists {
            run(
                &engine,
                &format!(
                    "CREATE TABLE {table} AS SELECT * FROM read_files('{}')",
                    data.join(format!("{table}.parquet")).display()
                ),
            )
            .await
            .with_context(|| format!("loading {table}"))?;
        }
    }
    eprintln!("Delta tables ready in {:.1} s", t.elapsed().as_secs_f64());
    if args.parquet_views {
        run(&engine, "CREATE CATALOG IF NOT EXISTS pq").await?;
        for table in TABLES {
            run(
                &engine,
                &format!(
                    "CREATE OR REPLACE VIEW pq.default.{table} AS SELECT * FROM read_files('{}')",
                    data.join(format!("{table}.parquet")).display()
                ),
            )
            .await?;
        }
    }

    let queries = repo_root().join("tests/tpch/queries");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let duck = Command::new(&python)
        .arg(repo_root().join("crates/bench/scripts/duckdb_tpch.py"))
        .arg(&data)
        .arg(&queries)
        .arg(args.runs.to_string())
        .arg(threads.to_string())
        .output()
        .context("running DuckDB")?;
    if !duck.status.success() {
        bail!("duckdb: {}", String::from_utf8_lossy(&duck.stderr));
    }
    let duck: serde_json::Value = serde_json::from_slice(&duck.stdout)?;

    println!(
        "TPC-H SF{} on {threads} threads, median of {} runs (ms)",
        args.sf, args.runs
    );
    let pq = |q: &str| format!("USE CATALOG pq; {q}");
    match args.parquet_views {
        true => {
            println!("| query | lakeplane | DuckDB | ratio | lakeplane over the Parquet files, no Delta |");
            println!("|---|---:|---:|---:|---:|");
        }
        false => {
            println!("| query | lakeplane | DuckDB | ratio |");
            println!("|---|---:|---:|---:|");
        }
    }
    let mut pq_total = 0.0;
    let (mut ours_total, mut theirs_total) = (0.0, 0.0);
    for q in 1..=22 {
        let name = format!("q{q:02}");
        let sql = std::fs::read_to_string(queries.join(format!("{name}.sql")))?;
        let mut times = vec![];
        for _ in 0..args.runs {
            let t = Instant::now();
            run(&engine, &sql).await.with_context(|| name.clone())?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let ours = median(times);
        let theirs = median(
            duck[&name]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
                .unwrap_or_default(),
        );
        ours_total += ours;
        theirs_total += theirs;
        let mut extra = String::new();
        if args.parquet_views {
            let mut times = vec![];
            for _ in 0..args.runs {
                let t = Instant::now();
                run(&engine, &pq(&sql))
                    .await
                    .with_context(|| format!("{name} (parquet)"))?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let p = median(times);
            pq_total += p;
            extra = format!(" {p:.0} |");
        }
        println!(
            "| {name} | {ours:.0} | {theirs:.0} | {:.2} |{extra}",
            ours / theirs
        );
    }
    let extra = match args.parquet_views {
        true => format!(" {pq_total:.0} ({:.2}x DuckDB) |", pq_total / theirs_total),
        false => String::new(),
    };
    println!(
        "| total | {ours_total:.0} | {theirs_total:.0} | {:.2} |{extra}",
        ours_total / theirs_total
    );
    Ok(())
}

async fn merge_setup(args: &Args) -> anyhow::Result<PathBuf> {
    let lake = args
        .dir
        .join(format!("merge-{}-{}", args.merge_target, args.merge_source));
    let engine = engine(&lake, &args.dir).await?;
    let ready = engine
        .execute(&ExecContext::new("bench"), "DESCRIBE DETAIL target_v0")
        .await
        .is_ok();
    if !ready {
        let t = Instant::now();
        run(
            &engine,
            &format!(
                "CREATE TABLE target_v0 AS SELECT value AS id, value % 1000 AS grp, \
             CAST(value AS DOUBLE) * 1.5 AS amount, concat('row-', CAST(value AS STRING)) AS note \
             FROM range({})",
                args.merge_target
            ),
        )
        .await?;
        // Half of the source updates existing rows (spread over the table), half inserts new ones.
        run(&engine, &format!(
            "CREATE TABLE source AS SELECT CASE WHEN value % 2 = 0 THEN value * {} ELSE {} + value END AS id, \
             value % 1000 AS grp, CAST(value AS DOUBLE) AS amount, 'merged' AS note FROM range({})",
            (args.merge_target / args.merge_source.max(1)).max(1), args.merge_target, args.merge_source)).await?;
        eprintln!("MERGE tables ready in {:.1} s", t.elapsed().as_secs_f64());
    }
    // A fresh target for every measurement.
    run(
        &engine,
        "CREATE OR REPLACE TABLE target AS SELECT * FROM target_v0",
    )
    .await?;
    Ok(lake)
}

/// In a process of its own, so that its peak RSS is the MERGE's: the MERGE, and a count after.
async fn merge_step(args: &Args) -> anyhow::Result<()> {
    let lake = args
        .dir
        .join(format!("merge-{}-{}", args.merge_target, args.merge_source));
    let engine = engine(&lake, &args.dir).await?;
    let before = peak_rss_mib();
    let t = Instant::now();
    run(
        &engine,
        "MERGE INTO target t USING source s ON t.id = s.id \
                  WHEN MATCHED THEN UPDATE SET amount = s.amount, note = s.note \
                  WHEN NOT MATCHED THEN INSERT *",
    )
    .await?;
    let secs = t.elapsed().as_secs_f64();
    let rows = scalar(&engine, "SELECT count(*) FROM target").await?;
    println!(
        "{{\"seconds\": {secs:.2}, \"peak_rss_mib\": {:.0}, \"peak_before_merge_mib\": {before:.0}, \"rows\": {rows}}}",
        peak_rss_mib()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.merge_step {
        return merge_step(&args).await;
    }
    if !args.merge_only {
        tpch(&args).await?;
    }
    if args.merge_target > 0 {
        merge_setup(&args).await?;
        let me = std::env::current_exe()?;
        let out = Command::new(me)
            .args(std::env::args().skip(1))
            .arg("--merge-step")
            .output()?;
        if !out.status.success() {
            bail!("merge step: {}", String::from_utf8_lossy(&out.stderr));
        }
        println!(
            "MERGE of {} source rows into {} rows: {}",
            args.merge_source,
            args.merge_target,
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    Ok(())
}

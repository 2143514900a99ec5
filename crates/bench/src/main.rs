//! `lakeplane-bench`: starts `lakeplane dev` and measures it through the REST API, the way the SDK
//! uses it. Every figure is printed next to a baseline measured in the same run on the same server,
//! so the ratios hold across machines:
//!
//! - `runs/get` latency (p50/p99) vs `/.well-known/databricks-config` (no auth, no state): the
//!   cost of authentication, one partition read and rendering.
//! - `run-now` throughput (runs created per second, concurrent clients) vs `jobs/get` throughput:
//!   what a write transaction (id allocation + run + task items) costs next to a read.
//! - submit-to-first-task-start latency (server clock: task `start_time` − run `start_time`, p50/p99)
//!   vs the worker's poll interval, which bounds it from below when the worker is idle.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    /// The lakeplane binary (build it with `cargo build --release -p lakeplane-cli`).
    #[arg(long)]
    lakeplane: PathBuf,
    /// Requests for the latency measurements.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Runs created in the throughput measurement.
    #[arg(long, default_value_t = 500)]
    runs: usize,
    /// Concurrent clients in the throughput measurement.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Runs submitted one at a time for the start-latency measurement.
    #[arg(long, default_value_t = 50)]
    starts: usize,
}

const TOKEN: &str = "bench-token";

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn get(&self, path: &str, auth: bool) -> anyhow::Result<Value> {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if auth {
            req = req.bearer_auth(TOKEN);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let v = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status} {v}");
        }
        Ok(v)
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let v = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status} {v}");
        }
        Ok(v)
    }

    async fn wait_run(&self, run_id: u64) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self
                .get(&format!("/api/2.2/jobs/runs/get?run_id={run_id}"), true)
                .await?;
            if r["state"]["life_cycle_state"] == "TERMINATED" {
                return Ok(r);
            }
            if Instant::now() > deadline {
                bail!("run {run_id} did not finish");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summarize(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (percentile(&v, 0.5), percentile(&v, 0.99))
}

async fn latencies(c: &Client, path: &str, auth: bool, n: usize) -> anyhow::Result<(f64, f64)> {
    for _ in 0..50 {
        c.get(path, auth).await?;
    }
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        c.get(path, auth).await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(summarize(ms))
}

async fn throughput(
    c: &Client,
    clients: usize,
    total: usize,
    body: Value,
    path: &str,
    post: bool,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut handles = Vec::new();
    for i in 0..clients {
        let c = c.clone();
        let body = body.clone();
        let path = path.to_string();
        let n = total / clients + usize::from(i < total % clients);
        handles.push(tokio::spawn(async move {
            for _ in 0..n {
                if post {
                    c.post(&path, body.clone()).await?;
                } else {
                    c.get(&path, true).await?;
                }
            }
            anyhow::Ok(())
        }));
    }
    for h in handles {
        h.await??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let data = std::env::temp_dir().join(format!("lakeplane-bench-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = tokio::process::Command::new(&args.lakeplane)
        .args([
            "dev",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--token",
            TOKEN,
            "--workers",
            "1",
        ])
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting lakeplane dev")?;
    let c = Client {
        http: reqwest::Client::new(),
        base: format!("http://127.0.0.1:{port}"),
    };
    let ready = Instant::now();
    while c
        .get("/.well-known/databricks-config", false)
        .await
        .is_err()
    {
        if ready.elapsed() > Duration::from_secs(30) {
            bail!("lakeplane dev did not start");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sql = data.join("one.sql");
    std::fs::write(&sql, "SELECT 1")?;
    let task = |k: &str, deps: &[&str]| {
        json!({"task_key": k, "depends_on": deps.iter().map(|d| json!({"task_key": d})).collect::<Vec<_>>(),
               "sql_task": {"warehouse_id": "local", "file": {"path": sql.to_string_lossy()}}})
    };
    let job = c
        .post(
            "/api/2.2/jobs/create",
            json!({"name": "bench", "max_concurrent_runs": 1000,
              "tasks": [task("a", &[]), task("b", &["a"]), task("c", &["a"])]}),
        )
        .await?;
    let job_id = job["job_id"].as_u64().context("job_id")?;
    let run = c
        .post("/api/2.2/jobs/run-now", json!({"job_id": job_id}))
        .await?;
    let run_id = run["run_id"].as_u64().context("run_id")?;
    c.wait_run(run_id).await?;

    println!("lakeplane dev, 1 worker (4 slots), embedded SQLite state, release build\n");
    let (base50, base99) =
        latencies(&c, "/.well-known/databricks-config", false, args.requests).await?;
    let (get50, get99) = latencies(
        &c,
        &format!("/api/2.2/jobs/runs/get?run_id={run_id}"),
        true,
        args.requests,
    )
    .await?;
    println!("runs/get latency ({} requests, 3-task run)", args.requests);
    println!("  runs/get            p50 {get50:7.3} ms   p99 {get99:7.3} ms");
    println!("  well-known baseline p50 {base50:7.3} ms   p99 {base99:7.3} ms");
    println!(
        "  ratio               p50 {:7.2}x     p99 {:7.2}x\n",
        get50 / base50,
        get99 / base99
    );

    let reads = throughput(
        &c,
        args.clients,
        args.runs,
        json!({}),
        &format!("/api/2.2/jobs/get?job_id={job_id}"),
        false,
    )
    .await?;
    let backlog_start = Instant::now();
    let writes = throughput(
        &c,
        args.clients,
        args.runs,
        json!({"job_id": job_id}),
        "/api/2.2/jobs/run-now",
        true,
    )
    .await?;
    println!(
        "run-now throughput ({} runs, {} concurrent clients)",
        args.runs, args.clients
    );
    println!("  run-now            {writes:8.1} runs/s");
    println!("  jobs/get baseline  {reads:8.1} req/s");
    println!("  ratio              {:8.2}x\n", writes / reads);

    // Let the worker drain the backlog so the start-latency runs find it idle.
    loop {
        let active = c
            .get(
                &format!("/api/2.2/jobs/runs/list?job_id={job_id}&active_only=true&limit=1"),
                true,
            )
            .await?;
        if active["runs"].as_array().is_none_or(|r| r.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drained = backlog_start.elapsed().as_secs_f64();
    println!(
        "  one worker ran all {} tasks of those runs within {drained:.2} s of the first run-now: {:.0} tasks/s\n",
        args.runs * 3,
        (args.runs * 3) as f64 / drained
    );

    let mut waits = Vec::with_capacity(args.starts);
    for _ in 0..args.starts {
        let r = c
            .post(
                "/api/2.2/jobs/runs/submit",
                json!({"tasks": [task("only", &[])]}),
            )
            .await?;
        let done = c.wait_run(r["run_id"].as_u64().context("run_id")?).await?;
        let start = done["tasks"][0]["start_time"].as_i64().unwrap_or(0);
        waits.push((start - done["start_time"].as_i64().unwrap_or(0)) as f64);
    }
    let (s50, s99) = summarize(waits);
    let poll = 100.0; // WorkerConfig's default `poll`, which `lakeplane dev` uses
    println!(
        "submit-to-first-task-start latency ({} sequential submits, idle worker)",
        args.starts
    );
    println!("  p50 {s50:6.1} ms   p99 {s99:6.1} ms");
    println!(
        "  ratio to the idle worker's longest poll wait ({poll} ms): p50 {:.2}x, p99 {:.2}x",
        s50 / poll,
        s99 / poll
    );

    server.kill().await.ok();
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

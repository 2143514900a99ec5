//! `lakeplane-bench-store`: the run protocol on DynamoDB (point it at moto or a real account with
//! the usual `AWS_*` variables), through the control plane as the API and the workers use it.
//!
//! Side by side in one run, on fresh tables: queues and collections spread over `--shards`
//! partitions vs a single partition each.
//! - `run-now` throughput (concurrent clients creating one-task runs);
//! - claim throughput (concurrent workers claiming and completing those tasks);
//! - the DynamoDB write units of one 10-task run, counted per step (create, claims, heartbeats,
//!   completions with their run advances).
//!
//! An emulator has no partition throughput limits, so on moto the ratio shows what sharding costs
//! (more queries per claim when queues are sparse), not what it saves (DynamoDB caps one partition
//! at 1000 write units a second; see `infra/dynamodb-table.md`).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use lakeplane_control::{Control, DEFAULT_QUEUE};
use lakeplane_core::job::JobSettings;
use lakeplane_core::run::TaskResult;
use lakeplane_store::dynamodb::{DynamoStore, WriteMeter, DEFAULT_SHARDS};
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Runs created (and tasks claimed) per configuration.
    #[arg(long, default_value_t = 400)]
    runs: usize,
    /// Concurrent API clients creating runs, and concurrent workers claiming.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Shards of the sharded configuration.
    #[arg(long, default_value_t = DEFAULT_SHARDS)]
    shards: u32,
    /// Rounds; each measures both configurations, alternating.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

fn one_task_job() -> JobSettings {
    JobSettings::from_json(json!({"name": "bench", "tasks": [
        {"task_key": "t", "sql_task": {"file": {"path": "/bench.sql"}}}]}))
    .unwrap_or_default()
}

fn ten_task_job() -> JobSettings {
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let mut t =
                json!({"task_key": format!("t{i}"), "sql_task": {"file": {"path": "/b.sql"}}});
            if i > 0 {
                t["depends_on"] = json!([{"task_key": "t0"}]);
            }
            t
        })
        .collect();
    JobSettings::from_json(json!({"name": "ten", "tasks": tasks})).unwrap_or_default()
}

async fn table(
    aws: &aws_config::SdkConfig,
    shards: u32,
) -> anyhow::Result<(Control, Arc<WriteMeter>)> {
    let name = format!("bench-{shards}-{}", uuid::Uuid::new_v4().simple());
    let (store, meter) = DynamoStore::new(aws, name).with_shards(shards).metered();
    store.create_table().await.context("create the table")?;
    Ok((Control::new(Arc::new(store)), meter))
}

/// Runs created per second by `clients` concurrent clients.
async fn run_now_rate(control: &Control, runs: usize, clients: usize) -> anyhow::Result<f64> {
    let job = control.jobs().create(one_task_job(), "bench").await?;
    let start = Instant::now();
    let mut handles = Vec::new();
    for i in 0..clients {
        let c = control.clone();
        let n = runs / clients + usize::from(i < runs % clients);
        handles.push(tokio::spawn(async move {
            for _ in 0..n {
                c.runs().run_now(job, Default::default(), "bench").await?;
            }
            anyhow::Ok(())
        }));
    }
    for h in handles {
        h.await??;
    }
    Ok(runs as f64 / start.elapsed().as_secs_f64())
}

/// Tasks claimed and completed per second by `clients` concurrent workers, until `tasks` are done.
async fn claim_rate(control: &Control, tasks: usize, clients: usize) -> anyhow::Result<f64> {
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let queues = vec![DEFAULT_QUEUE.to_string()];
    let start = Instant::now();
    let mut handles = Vec::new();
    for w in 0..clients {
        let (c, done, queues) = (control.clone(), done.clone(), queues.clone());
        handles.push(tokio::spawn(async move {
            let me = format!("bench-worker-{w}");
            while done.load(std::sync::atomic::Ordering::Relaxed) < tasks {
                match c.leases().claim_next(&me, &queues, 60_000).await? {
                    Some(claim) => {
                        c.leases()
                            .complete(claim, TaskResult::Success, String::new(), None)
                            .await?;
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    None => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
                }
            }
            anyhow::Ok(())
        }));
    }
    for h in handles {
        h.await??;
    }
    Ok(tasks as f64 / start.elapsed().as_secs_f64())
}

/// Write units of one 10-task run (one task, then nine that depend on it), step by step: each
/// task is claimed, renews its lease once, and completes.
async fn ten_task_units(
    control: &Control,
    meter: &WriteMeter,
) -> anyhow::Result<Vec<(&'static str, u64, u64)>> {
    let job = control.jobs().create(ten_task_job(), "bench").await?;
    let mut steps = Vec::new();
    let mut mark = (meter.units(), meter.item_writes());
    let mut step = |name: &'static str| {
        let now = (meter.units(), meter.item_writes());
        steps.push((name, now.0 - mark.0, now.1 - mark.1));
        mark = now;
    };
    control
        .runs()
        .run_now(job, Default::default(), "bench")
        .await?;
    step("run-now: id block, then the run and its 10 task runs in one transaction");
    let queues = vec![DEFAULT_QUEUE.to_string()];
    let mut finished = 0;
    while finished < 10 {
        let mut claims = Vec::new();
        while let Some(c) = control.leases().claim_next("w", &queues, 60_000).await? {
            claims.push(c);
        }
        anyhow::ensure!(
            !claims.is_empty(),
            "nothing to claim with {finished} tasks done"
        );
        step("claims (and the run's start, once)");
        for c in claims.iter_mut() {
            control.leases().heartbeat(c, 60_000).await?;
        }
        step("heartbeats, one per task");
        for c in claims {
            control
                .leases()
                .complete(c, TaskResult::Success, String::new(), None)
                .await?;
            finished += 1;
        }
        step("completions, each with the run's advance");
    }
    Ok(merge(steps))
}

/// Sums the entries of each step name, in first-seen order.
fn merge(steps: Vec<(&'static str, u64, u64)>) -> Vec<(&'static str, u64, u64)> {
    let mut out: Vec<(&'static str, u64, u64)> = Vec::new();
    for (name, u, r) in steps {
        match out.iter_mut().find(|(n, _, _)| *n == name) {
            Some(e) => {
                e.1 += u;
                e.2 += r;
            }
            None => out.push((name, u, r)),
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let (mut run_now, mut claims) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    for round in 0..args.rounds {
        for shards in [args.shards, 1] {
            let (control, _) = table(&aws, shards).await?;
            let r = run_now_rate(&control, args.runs, args.clients).await?;
            let c = claim_rate(&control, args.runs, args.clients).await?;
            println!(
                "round {round}, {shards} shard(s): run-now {r:.0} runs/s, claims {c:.0} tasks/s"
            );
            let (rv, cv) = match shards == args.shards {
                true => (&mut run_now.0, &mut claims.0),
                false => (&mut run_now.1, &mut claims.1),
            };
            rv.push(r);
            cv.push(c);
        }
    }
    let show = |name: &str, (sharded, single): (Vec<f64>, Vec<f64>)| {
        let (s, s_lo, s_hi) = median(sharded);
        let (o, o_lo, o_hi) = median(single);
        println!(
            "| {name} | {s:.0}/s ({s_lo:.0}–{s_hi:.0}) | {o:.0}/s ({o_lo:.0}–{o_hi:.0}) | {:.2} |",
            s / o
        );
    };
    println!(
        "\n| measure | {} shards | 1 partition | sharded / single |",
        args.shards
    );
    println!("|---|---|---|---|");
    show("run-now throughput", run_now);
    show("claim + complete throughput", claims);

    let (control, meter) = table(&aws, args.shards).await?;
    let steps = ten_task_units(&control, &meter).await?;
    println!(
        "\n| step of a 10-task run ({} shards) | write units | item writes |",
        args.shards
    );
    println!("|---|---|---|");
    let (mut units, mut writes) = (0, 0);
    for (name, u, r) in &steps {
        println!("| {name} | {u} | {r} |");
        units += u;
        writes += r;
    }
    println!("| total | {units} | {writes} |");
    Ok(())
}

//! `lakeplane-bench-clusters`: what the control plane adds to each cluster operation on EC2 (point it
//! at moto or a real account with the usual `AWS_*` variables), side by side in one run with the bare
//! EC2 calls the operation needs.
//!
//! For each round: create a cluster of 1 driver + 2 workers and reconcile it (three RunInstances
//! calls' worth of work: the driver on-demand, the workers on spot, plus DescribeInstances, the
//! records and events in DynamoDB), resize it to 4 workers, and terminate it; the baseline makes the
//! same RunInstances and TerminateInstances calls with aws-sdk-ec2 directly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use lakeplane_compute::boot::WorkerBoot;
use lakeplane_compute::ec2::{Ec2Compute, Ec2Config};
use lakeplane_control::{ClusterSettings, Control};
use lakeplane_core::cluster::{ClusterSource, ClusterSpec, TerminationReason};
use lakeplane_store::dynamodb::DynamoStore;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Clusters created, resized and terminated (and as many bare rounds).
    #[arg(long, default_value_t = 20)]
    rounds: usize,
}

fn p50(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let table = format!(
        "bench-clusters-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let store = DynamoStore::new(&aws, table.clone());
    store.create_table().await?;
    let control = Control::new(Arc::new(store));
    let ec2 = aws_sdk_ec2::Client::new(&aws);
    let compute = Ec2Compute::new(
        ec2.clone(),
        Ec2Config {
            launch_template: None,
            default_instance_profile_arn: None,
            boot: WorkerBoot {
                binary_url: "s3://artifacts/lakeplane".into(),
                state: format!("dynamodb://{table}"),
                storage: "s3://data/lake".into(),
                results: None,
                region: aws.region().map(|r| r.to_string()).unwrap_or_default(),
                slots: 4,
            },
        },
    );
    let reconciler = control.cluster_reconciler(Arc::new(compute), ClusterSettings::default());
    let (mut create, mut resize, mut terminate) = (Vec::new(), Vec::new(), Vec::new());
    let (mut bare_create, mut bare_resize, mut bare_terminate) =
        (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        // lakeplane: create + reconcile (driver on-demand, 2 workers on spot).
        let spec = ClusterSpec::from_json(json!({"num_workers": 2, "node_type_id": "m5.xlarge",
            "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "first_on_demand": 1}}))?;
        let t = Instant::now();
        let c = control
            .clusters()
            .create(spec, "bench", ClusterSource::Api)
            .await?;
        reconciler.reconcile(&c.cluster_id).await?;
        create.push(t.elapsed());
        let t = Instant::now();
        control
            .clusters()
            .resize(&c.cluster_id, Some(4), None, "bench")
            .await?;
        reconciler.reconcile(&c.cluster_id).await?;
        resize.push(t.elapsed());
        let t = Instant::now();
        control
            .clusters()
            .terminate(&c.cluster_id, TerminationReason::user_request("bench"))
            .await?;
        reconciler.reconcile(&c.cluster_id).await?;
        terminate.push(t.elapsed());

        // Bare EC2: the same launches and the termination.
        let run = |n: i32, spot: bool| {
            let mut r = ec2
                .run_instances()
                .image_id("ami-12c6146b")
                .instance_type("m5.xlarge".into())
                .min_count(n)
                .max_count(n);
            if spot {
                r = r.instance_market_options(
                    aws_sdk_ec2::types::InstanceMarketOptionsRequest::builder()
                        .market_type(aws_sdk_ec2::types::MarketType::Spot)
                        .build(),
                );
            }
            r.send()
        };
        let ids = |o: aws_sdk_ec2::operation::run_instances::RunInstancesOutput| -> Vec<String> {
            o.instances()
                .iter()
                .filter_map(|i| i.instance_id().map(str::to_string))
                .collect()
        };
        let t = Instant::now();
        let mut all = ids(run(1, false).await?);
        all.extend(ids(run(2, true).await?));
        bare_create.push(t.elapsed());
        let t = Instant::now();
        all.extend(ids(run(2, true).await?));
        bare_resize.push(t.elapsed());
        let t = Instant::now();
        ec2.terminate_instances()
            .set_instance_ids(Some(all))
            .send()
            .await?;
        bare_terminate.push(t.elapsed());
    }
    println!("| operation (p50 of {}) | lakeplane (control plane + EC2) | bare EC2 calls | overhead | ratio |", args.rounds);
    println!("|---|---|---|---|---|");
    for (name, ours, bare) in [
        ("create 1+2 nodes, reconciled", create, bare_create),
        ("resize 2 → 4 workers, reconciled", resize, bare_resize),
        ("terminate, reconciled", terminate, bare_terminate),
    ] {
        let (o, b) = (p50(ours), p50(bare));
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2}× |",
            o.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
            (o.as_secs_f64() - b.as_secs_f64()) * 1e3,
            o.as_secs_f64() / b.as_secs_f64()
        );
    }
    Ok(())
}

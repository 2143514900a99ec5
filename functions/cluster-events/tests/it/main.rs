//! The `cluster-events` handler in-process on moto (DynamoDB and EC2), fed the EventBridge events
//! in `events/cluster-events/`: the minute's sweep launches a cluster's instances, a spot
//! interruption warning drains its node and launches the replacement, and a terminated instance
//! is marked gone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use lakeplane_core::cluster::{ClusterSource, ClusterSpec, DrainReason};
use lakeplane_fn_cluster_events::{control, handle, reconciler, Config};
use serde_json::{json, Value};

fn event(name: &str, instance: &str) -> Value {
    let path = lakeplane_testing::repo_root()
        .join("events/cluster-events")
        .join(name);
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("INSTANCE_ID", instance);
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn eventbridge_events_drive_clusters_on_ec2() {
    let aws = lakeplane_testing::aws_config().await;
    let table = lakeplane_testing::unique("fn-cluster-events");
    lakeplane_store::dynamodb::DynamoStore::new(&aws, table.clone())
        .create_table()
        .await
        .unwrap();
    let env = |k: &str| match k {
        "LAKEPLANE_TABLE" => Some(table.clone()),
        "LAKEPLANE_STORAGE" => Some("s3://data/lake".into()),
        "LAKEPLANE_WORKER_BINARY" => Some("s3://artifacts/lakeplane".into()),
        _ => None,
    };
    let config = Config::from_lookup(env).unwrap();
    let control = control(&aws, &config);
    let reconciler = reconciler(&aws, &control, env).unwrap();
    let spec = ClusterSpec::from_json(
        json!({"num_workers": 1, "aws_attributes": {"availability": "SPOT", "first_on_demand": 1}}),
    )
    .unwrap();
    let c = control
        .clusters()
        .create(spec, "ana@x", ClusterSource::Api)
        .await
        .unwrap();

    let swept = handle(&control, &reconciler, &config, &event("scheduled.json", ""))
        .await
        .unwrap();
    assert!(swept["swept"].as_u64().unwrap() >= 1);
    let view = control.clusters().view(&c.cluster_id).await.unwrap();
    assert_eq!(view.nodes.len(), 2);
    let spot = view
        .nodes
        .iter()
        .find(|n| n.market == lakeplane_core::cluster::Market::Spot)
        .unwrap()
        .node_id
        .clone();

    let answer = handle(
        &control,
        &reconciler,
        &config,
        &event("spot-interruption.json", &spot),
    )
    .await
    .unwrap();
    assert_eq!(answer["cluster_id"], c.cluster_id.as_str());
    let view = control.clusters().view(&c.cluster_id).await.unwrap();
    let victim = view.nodes.iter().find(|n| n.node_id == spot).unwrap();
    assert_eq!(victim.drain, Some(DrainReason::Interrupted));
    assert_eq!(
        view.nodes.iter().filter(|n| n.is_capacity()).count(),
        2,
        "a replacement was launched"
    );

    handle(
        &control,
        &reconciler,
        &config,
        &event("instance-terminated.json", &spot),
    )
    .await
    .unwrap();
    let view = control.clusters().view(&c.cluster_id).await.unwrap();
    assert!(view
        .nodes
        .iter()
        .find(|n| n.node_id == spot)
        .is_none_or(|n| n.is_terminated()));

    let ignored = handle(
        &control,
        &reconciler,
        &config,
        &event("spot-interruption.json", "i-0notours"),
    )
    .await
    .unwrap();
    assert!(ignored["ignored"]
        .as_str()
        .unwrap()
        .contains("not a lakeplane node"));
}

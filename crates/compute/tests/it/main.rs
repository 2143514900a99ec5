//! The EC2 adapter on moto's EC2, driven by the control plane's cluster reconciler: instances with
//! the expected tags, types, markets and user data; resize; terminate; spot capacity failures
//! falling back to on-demand with an event.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::sync::atomic::Ordering;
use std::sync::Arc;

use aws_sdk_ec2::types::{Filter, Instance, InstanceStateName};
use base64::Engine as _;
use lakeplane_compute::boot::WorkerBoot;
use lakeplane_compute::ec2::{Ec2Compute, Ec2Config};
use lakeplane_compute::faults::Faulty;
use lakeplane_control::clusters::EventFilter;
use lakeplane_control::{ClusterSettings, Control};
use lakeplane_core::cluster::{
    ClusterSource, ClusterSpec, ClusterState, EventType, TerminationReason,
};
use serde_json::json;

async fn ec2() -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&lakeplane_testing::aws_config().await)
}

fn boot() -> WorkerBoot {
    WorkerBoot {
        binary_url: "s3://artifacts/lakeplane".into(),
        state: "dynamodb://lakeplane-state".into(),
        storage: "s3://data/lake".into(),
        results: Some("s3://data/results".into()),
        region: "us-east-1".into(),
        slots: 4,
    }
}

struct Fixture {
    control: Control,
    faulty: Arc<Faulty>,
    reconciler: lakeplane_control::ClusterReconciler,
    client: aws_sdk_ec2::Client,
}

async fn fixture() -> Fixture {
    let control = Control::new(lakeplane_testing::embedded_store().await);
    let client = ec2().await;
    let compute = Ec2Compute::new(
        client.clone(),
        Ec2Config {
            launch_template: None,
            default_instance_profile_arn: None,
            boot: boot(),
        },
    );
    let faulty = Arc::new(Faulty::new(Arc::new(compute)));
    let reconciler = control.cluster_reconciler(faulty.clone(), ClusterSettings::default());
    Fixture {
        control,
        faulty,
        reconciler,
        client,
    }
}

async fn instances(client: &aws_sdk_ec2::Client, cluster_id: &str) -> Vec<Instance> {
    let out = client
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:lakeplane:cluster-id")
                .values(cluster_id)
                .build(),
        )
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.reservations()
        .iter()
        .flat_map(|r| r.instances().to_vec())
        .collect()
}

fn tag<'a>(i: &'a Instance, key: &str) -> Option<&'a str> {
    i.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

#[tokio::test]
async fn a_cluster_launches_resizes_and_terminates_instances() {
    let f = fixture().await;
    let spec = ClusterSpec::from_json(json!({
        "cluster_name": "etl", "node_type_id": "r5.xlarge", "driver_node_type_id": "m5.xlarge",
        "num_workers": 2, "custom_tags": {"team": "data"},
        "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "first_on_demand": 1,
            "spot_bid_price_percent": 50, "zone_id": "us-east-1a",
            "ebs_volume_type": "GENERAL_PURPOSE_SSD", "ebs_volume_count": 1, "ebs_volume_size": 100}
    }))
    .unwrap();
    let c = f
        .control
        .clusters()
        .create(spec, "ana@x", ClusterSource::Api)
        .await
        .unwrap();
    f.reconciler.reconcile(&c.cluster_id).await.unwrap();
    let found = instances(&f.client, &c.cluster_id).await;
    assert_eq!(found.len(), 3);
    let driver = found
        .iter()
        .find(|i| tag(i, "lakeplane:role") == Some("driver"))
        .unwrap();
    assert_eq!(driver.instance_type().unwrap().as_str(), "m5.xlarge");
    assert!(
        driver.instance_lifecycle().is_none(),
        "the driver is on-demand (first_on_demand)"
    );
    let workers: Vec<&Instance> = found
        .iter()
        .filter(|i| tag(i, "lakeplane:role") == Some("worker"))
        .collect();
    assert_eq!(workers.len(), 2);
    for i in &found {
        assert_eq!(tag(i, "team"), Some("data"));
        assert_eq!(tag(i, "lakeplane:managed"), Some("true"));
        assert_eq!(tag(i, "lakeplane:creator"), Some("ana@x"));
        assert_eq!(
            i.placement().unwrap().availability_zone(),
            Some("us-east-1a")
        );
    }
    for i in &workers {
        assert_eq!(i.instance_type().unwrap().as_str(), "r5.xlarge");
        assert_eq!(i.instance_lifecycle().map(|l| l.as_str()), Some("spot"));
    }
    // The user data starts the worker on the cluster's queue with the stack's table and bucket.
    let data = f
        .client
        .describe_instance_attribute()
        .instance_id(driver.instance_id().unwrap())
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .unwrap();
    let script = data.user_data().and_then(|u| u.value()).unwrap();
    let script = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(script)
            .unwrap(),
    )
    .unwrap();
    assert!(
        script.contains(&format!("--queue 'cluster:{}'", c.cluster_id)),
        "{script}"
    );
    assert!(
        script.contains("--state 'dynamodb://lakeplane-state'")
            && script.contains("--storage 's3://data/lake'")
    );
    assert!(script.contains("--interruption-notice imds"));
    // Events carry instance type, market and price.
    let (events, _) = f
        .control
        .clusters()
        .events(
            &c.cluster_id,
            &EventFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let added: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventType::NodesAdded)
        .collect();
    assert_eq!(added.len(), 2);
    for e in &added {
        for n in e.details["nodes"].as_array().unwrap() {
            assert!(n["price_per_hour"].as_f64().unwrap() > 0.0);
            assert!(n["market"].is_string() && n["instance_type"].is_string());
        }
    }
    // Resize up, then down: the extra worker is decommissioned (it has no worker to drain it here,
    // so a reported drain ends it).
    f.control
        .clusters()
        .resize(&c.cluster_id, Some(3), None, "ana@x")
        .await
        .unwrap();
    f.reconciler.reconcile(&c.cluster_id).await.unwrap();
    assert_eq!(instances(&f.client, &c.cluster_id).await.len(), 4);
    f.control
        .clusters()
        .resize(&c.cluster_id, Some(1), None, "ana@x")
        .await
        .unwrap();
    f.reconciler.reconcile(&c.cluster_id).await.unwrap();
    let view = f.control.clusters().view(&c.cluster_id).await.unwrap();
    let draining: Vec<_> = view.nodes.iter().filter(|n| n.drain.is_some()).collect();
    assert_eq!(draining.len(), 2);
    for n in &draining {
        f.control
            .clusters()
            .report(&lakeplane_control::clusters::NodeReport {
                cluster_id: c.cluster_id.clone(),
                node_id: n.node_id.clone(),
                interrupted: false,
                drained: true,
            })
            .await
            .unwrap();
    }
    f.reconciler.reconcile(&c.cluster_id).await.unwrap();
    assert_eq!(instances(&f.client, &c.cluster_id).await.len(), 2);
    // Delete terminates every instance.
    f.control
        .clusters()
        .terminate(&c.cluster_id, TerminationReason::user_request("ana@x"))
        .await
        .unwrap();
    f.reconciler.reconcile(&c.cluster_id).await.unwrap();
    assert!(instances(&f.client, &c.cluster_id).await.is_empty());
    assert_eq!(
        f.control.clusters().get(&c.cluster_id).await.unwrap().state,
        ClusterState::Terminated
    );
}

#[tokio::test]
async fn no_spot_capacity_falls_back_to_on_demand_with_an_event() {
    let f = fixture().await;
    f.faulty.no_spot.store(true, Ordering::SeqCst);
    let spec = ClusterSpec::from_json(json!({"num_workers": 2,
        "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "first_on_demand": 1}}))
    .unwrap();
    let c = f
        .control
        .clusters()
        .create(spec, "ana@x", ClusterSource::Api)
        .await
        .unwrap();
    f.reconciler.reconcile(&c.cluster_id).await.unwrap();
    let found = instances(&f.client, &c.cluster_id).await;
    assert_eq!(found.len(), 3);
    assert!(
        found.iter().all(|i| i.instance_lifecycle().is_none()),
        "all on-demand"
    );
    assert!(f.faulty.refused.load(Ordering::SeqCst) >= 1);
    let (events, _) = f
        .control
        .clusters()
        .events(
            &c.cluster_id,
            &EventFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let fallback = events
        .iter()
        .find(|e| e.kind == EventType::AddNodesFailed)
        .expect("a fallback event");
    assert_eq!(fallback.details["fallback"], "ON_DEMAND");
    assert_eq!(
        fallback.details["reason"]["code"],
        "AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE"
    );

    // SPOT without fallback: nothing is launched for the workers, the cluster waits and says so.
    let spot_only = ClusterSpec::from_json(json!({"num_workers": 1,
        "aws_attributes": {"availability": "SPOT", "first_on_demand": 1}}))
    .unwrap();
    let s = f
        .control
        .clusters()
        .create(spot_only, "ana@x", ClusterSource::Api)
        .await
        .unwrap();
    f.reconciler.reconcile(&s.cluster_id).await.unwrap();
    assert_eq!(
        instances(&f.client, &s.cluster_id).await.len(),
        1,
        "only the on-demand driver"
    );
    f.faulty.no_spot.store(false, Ordering::SeqCst);
    f.reconciler.reconcile(&s.cluster_id).await.unwrap();
    assert_eq!(
        instances(&f.client, &s.cluster_id).await.len(),
        2,
        "spot came back"
    );
}

#[tokio::test]
async fn an_instance_gone_or_interrupted_is_replaced_and_machines_without_records_are_reaped() {
    let f = fixture().await;
    let spec = ClusterSpec::from_json(
        json!({"num_workers": 1, "aws_attributes": {"first_on_demand": 0, "availability": "SPOT"}}),
    )
    .unwrap();
    let c = f
        .control
        .clusters()
        .create(spec, "ana@x", ClusterSource::Api)
        .await
        .unwrap();
    f.reconciler.reconcile(&c.cluster_id).await.unwrap();
    let first = instances(&f.client, &c.cluster_id).await;
    assert_eq!(first.len(), 2);
    // EventBridge says one is being interrupted: it drains and a replacement is launched at once.
    let victim = first[0].instance_id().unwrap().to_string();
    assert!(f
        .control
        .clusters()
        .interrupt(&victim, "eventbridge")
        .await
        .unwrap()
        .is_some());
    f.reconciler.reconcile(&c.cluster_id).await.unwrap();
    assert_eq!(instances(&f.client, &c.cluster_id).await.len(), 3);
    // EC2 takes it away: the node is marked gone.
    f.client
        .terminate_instances()
        .instance_ids(&victim)
        .send()
        .await
        .unwrap();
    assert!(f
        .control
        .clusters()
        .node_gone(&victim, "terminated by EC2")
        .await
        .unwrap()
        .is_some());
    // A machine launched for the cluster but never recorded (a reconciler died) is terminated.
    let stray = f
        .client
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("lakeplane:cluster-id")
                        .value(&c.cluster_id)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let stray_id = stray.instances()[0].instance_id().unwrap().to_string();
    f.reconciler.reconcile(&c.cluster_id).await.unwrap();
    let now: Vec<String> = instances(&f.client, &c.cluster_id)
        .await
        .iter()
        .map(|i| i.instance_id().unwrap().to_string())
        .collect();
    assert!(!now.contains(&stray_id) && !now.contains(&victim));
    assert_eq!(now.len(), 2);
    let state = f
        .client
        .describe_instances()
        .instance_ids(&stray_id)
        .send()
        .await
        .unwrap();
    let s = state.reservations()[0].instances()[0]
        .state()
        .unwrap()
        .name()
        .unwrap()
        .clone();
    assert!(matches!(
        s,
        InstanceStateName::Terminated | InstanceStateName::ShuttingDown
    ));
    assert!(f
        .control
        .clusters()
        .interrupt("i-notours", "eventbridge")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn nodes_that_never_report_in_are_replaced_and_reported() {
    let control = Control::new(lakeplane_testing::embedded_store().await);
    let client = ec2().await;
    let compute = Ec2Compute::new(
        client.clone(),
        Ec2Config {
            launch_template: None,
            default_instance_profile_arn: None,
            boot: boot(),
        },
    );
    // Nothing runs a worker on moto's instances: with no time to report in, each pass replaces them.
    let settings = ClusterSettings {
        report_timeout: std::time::Duration::from_millis(1),
        ..Default::default()
    };
    let reconciler = control.cluster_reconciler(Arc::new(compute), settings);
    let spec = ClusterSpec::from_json(json!({"num_workers": 0})).unwrap();
    let c = control
        .clusters()
        .create(spec, "ana@x", ClusterSource::Api)
        .await
        .unwrap();
    reconciler.reconcile(&c.cluster_id).await.unwrap();
    let first = instances(&client, &c.cluster_id).await;
    assert_eq!(first.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    reconciler.reconcile(&c.cluster_id).await.unwrap();
    let second = instances(&client, &c.cluster_id).await;
    assert_eq!(second.len(), 1);
    assert_ne!(first[0].instance_id(), second[0].instance_id(), "replaced");
    let (events, _) = control
        .clusters()
        .events(
            &c.cluster_id,
            &EventFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let lost = events
        .iter()
        .find(|e| e.kind == EventType::NodesLost)
        .expect("a NODES_LOST event");
    assert!(lost.details["cause"]
        .as_str()
        .unwrap()
        .contains("never reported in"));
    assert_eq!(lost.details["instance_id"], first[0].instance_id().unwrap());
}

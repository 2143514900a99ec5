//! The EC2 adapter on moto's EC2, driven by the control plane's cluster reconciler: instances with
//! the expected tags, types, markets and user data; resize; terminate; spot capacity failures
//! falling back to on-demand with an event.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod replace;

use std::sync::Arc;

use aws_sdk_ec2::types::{Filter, Instance};
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

pub(crate) async fn ec2() -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&lakeplane_testing::aws_config().await)
}

pub(crate) fn boot() -> WorkerBoot {
    WorkerBoot {
        binary_url: "s3://artifacts/lakeplane".into(),
        state: "dynamodb://lakeplane-state".into(),
        storage: "s3://data/lake".into(),
        results: Some("s3://data/results".into()),
        region: "us-east-1".into(),
        slots: 4,
    }
}

pub(crate) struct Fixture {
    pub control: Control,
    pub faulty: Arc<Faulty>,
    pub reconciler: lakeplane_control::ClusterReconciler,
    pub client: aws_sdk_ec2::Client,
}

pub(crate) async fn fixture() -> Fixture {
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

pub(crate) async fn instances(client: &aws_sdk_ec2::Client, cluster_id: &str) -> Vec<Instance> {
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

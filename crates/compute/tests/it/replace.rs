//! Capacity and replacement on moto's EC2: spot capacity failures falling back to on-demand with
//! an event, interrupted and vanished instances replaced, unrecorded machines reaped, and nodes
//! that never report in replaced and reported.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use aws_sdk_ec2::types::InstanceStateName;
use lakeplane_compute::ec2::{Ec2Compute, Ec2Config};
use lakeplane_control::clusters::EventFilter;
use lakeplane_control::{ClusterSettings, Control};
use lakeplane_core::cluster::{ClusterSource, ClusterSpec, EventType};
use serde_json::json;

use super::{boot, ec2, fixture, instances};
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

#[tokio::test]
async fn autoscaling_follows_the_queue_up_at_once_and_down_after_its_cooldown() {
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
    let settings = ClusterSettings {
        slots_per_node: 1,
        minute: std::time::Duration::from_millis(50),
        ..Default::default()
    };
    let reconciler = control.cluster_reconciler(Arc::new(compute), settings);
    let spec =
        ClusterSpec::from_json(json!({"autoscale": {"min_workers": 0, "max_workers": 5}})).unwrap();
    let c = control
        .clusters()
        .create(spec, "ana@x", ClusterSource::Api)
        .await
        .unwrap();
    reconciler.reconcile(&c.cluster_id).await.unwrap();
    assert_eq!(
        instances(&client, &c.cluster_id).await.len(),
        1,
        "the driver alone"
    );
    // Three tasks wait on the cluster: with one slot a node, it grows to three nodes at once.
    let tasks: Vec<lakeplane_core::job::Task> = (0..3)
        .map(|i| {
            serde_json::from_value(json!({"task_key": format!("t{i}"),
                "existing_cluster_id": c.cluster_id, "sql_task": {"file": {"path": "/x.sql"}}}))
            .unwrap()
        })
        .collect();
    let run = control
        .runs()
        .submit(None, tasks, None, "ana@x")
        .await
        .unwrap();
    reconciler.reconcile(&c.cluster_id).await.unwrap();
    assert_eq!(instances(&client, &c.cluster_id).await.len(), 3);
    assert_eq!(
        control
            .clusters()
            .get(&c.cluster_id)
            .await
            .unwrap()
            .target_workers,
        2
    );
    // The work goes away: no shrink on the first look, a decommission after the cooldown.
    control.runs().cancel(run).await.unwrap();
    reconciler.reconcile(&c.cluster_id).await.unwrap();
    assert_eq!(
        control
            .clusters()
            .get(&c.cluster_id)
            .await
            .unwrap()
            .target_workers,
        2
    );
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    reconciler.reconcile(&c.cluster_id).await.unwrap();
    reconciler.reconcile(&c.cluster_id).await.unwrap();
    assert_eq!(
        control
            .clusters()
            .get(&c.cluster_id)
            .await
            .unwrap()
            .target_workers,
        0
    );
    let view = control.clusters().view(&c.cluster_id).await.unwrap();
    assert_eq!(
        view.nodes.iter().filter(|n| n.drain.is_some()).count(),
        2,
        "the two workers decommissioned"
    );
}

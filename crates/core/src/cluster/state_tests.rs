use serde_json::json;

use super::*;

fn cluster(spec: serde_json::Value) -> Cluster {
    let spec = ClusterSpec::from_json(spec).unwrap();
    Cluster::new("c1".into(), spec, "u@x", ClusterSource::Api, 0)
}

#[test]
fn create_run_resize_terminate_start() {
    let mut c = cluster(json!({"num_workers": 2}));
    assert_eq!((c.state, c.desired_nodes()), (ClusterState::Pending, 3));
    assert!(c.became_running());
    c.resize(Some(4), None, 10).unwrap();
    assert_eq!((c.state, c.target_workers), (ClusterState::Resizing, 4));
    assert!(c.became_running());
    assert!(c.terminate(TerminationReason::user_request("u@x")));
    assert!(!c.terminate(TerminationReason::inactivity(5)));
    assert!(c.resize(Some(1), None, 11).is_err());
    c.terminated(20);
    assert_eq!(c.state, ClusterState::Terminated);
    assert_eq!(c.termination_reason.as_ref().unwrap().code, "USER_REQUEST");
    let generation = c.generation;
    assert!(c.start(30).unwrap());
    assert_eq!(
        (c.state, c.generation),
        (ClusterState::Pending, generation + 1)
    );
    assert!(c.termination_reason.is_none());
    assert!(!c.start(31).unwrap());
}

#[test]
fn edit_restarts_a_live_cluster_and_leaves_a_terminated_one() {
    let mut c = cluster(json!({"num_workers": 1}));
    c.became_running();
    c.edit(
        ClusterSpec::from_json(json!({"num_workers": 3})).unwrap(),
        5,
    )
    .unwrap();
    assert_eq!(
        (c.state, c.generation, c.target_workers),
        (ClusterState::Restarting, 1, 3)
    );
    c.terminate(TerminationReason::user_request("u"));
    assert!(c.edit(ClusterSpec::default(), 6).is_err());
    c.terminated(7);
    c.edit(
        ClusterSpec::from_json(json!({"num_workers": 2})).unwrap(),
        8,
    )
    .unwrap();
    assert_eq!(c.state, ClusterState::Terminated);
    assert!(c.restart(9).is_err());
}

#[test]
fn autoscaling_follows_busy_slots_within_its_range() {
    let mut c = cluster(json!({"autoscale": {"min_workers": 1, "max_workers": 3}}));
    c.became_running();
    assert_eq!(c.target_workers, 1);
    assert_eq!(c.autoscale_target(0, 4), None);
    assert_eq!(c.autoscale_target(9, 4), Some(2));
    assert_eq!(c.autoscale_target(100, 4), Some(3));
    c.scale_to(3);
    assert_eq!(c.state, ClusterState::Resizing);
    assert_eq!(c.autoscale_target(0, 4), Some(1));
    assert_eq!(
        cluster(json!({"num_workers": 2})).autoscale_target(50, 1),
        None
    );
}

#[test]
fn idles_out_after_its_minutes_unless_a_job_cluster() {
    let mut c = cluster(json!({"autotermination_minutes": 2}));
    c.became_running();
    assert_eq!(c.idle_too_long(119, 60), None);
    assert_eq!(c.idle_too_long(120, 60), Some(2));
    c.cluster_source = ClusterSource::Job;
    assert_eq!(c.idle_too_long(1_000, 60), None);
    let mut never = cluster(json!({"autotermination_minutes": 0}));
    never.became_running();
    assert_eq!(never.idle_too_long(i64::MAX / 2, 60), None);
}

#[test]
fn autoscaling_grows_at_once_and_shrinks_after_a_cooldown() {
    let mut c = cluster(json!({"autoscale": {"min_workers": 1, "max_workers": 4}}));
    c.became_running();
    assert_eq!(c.autoscale(20, 4, 0, 100), Some(4));
    c.became_running();
    assert_eq!(c.autoscale(0, 4, 10, 100), None, "not yet");
    assert_eq!(c.autoscale(0, 4, 50, 100), None, "still cooling");
    assert_eq!(
        c.autoscale(20, 4, 60, 100),
        None,
        "busy again: the wish is forgotten"
    );
    assert_eq!(c.shrink_wanted_since, None);
    assert_eq!(c.autoscale(0, 4, 70, 100), None);
    assert_eq!(c.autoscale(0, 4, 170, 100), Some(1));
    assert_eq!(c.target_workers, 1);
}

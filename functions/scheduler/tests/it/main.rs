//! The `scheduler` function's handler, in-process, fed the EventBridge event in
//! `events/scheduler/`, with state in DynamoDB on moto (started by `scripts/test`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::time::Duration;

use lakeplane_core::job::JobSettings;
use lakeplane_core::run::{RunResult, RunState};
use lakeplane_fn_scheduler::{control, handle, Config};
use serde_json::{json, Value};

#[tokio::test]
async fn a_sweep_ends_a_run_past_its_timeout_that_no_worker_holds() {
    let aws = lakeplane_testing::aws_config().await;
    let table = lakeplane_testing::unique("fn-scheduler");
    lakeplane_store::dynamodb::DynamoStore::new(&aws, table.clone())
        .create_table()
        .await
        .unwrap();
    let config = Config::from_lookup(|k| (k == "LAKEPLANE_TABLE").then(|| table.clone())).unwrap();
    assert_eq!(config.queues, vec!["default"]);
    let control = control(&aws, &config);
    let tasks = JobSettings::from_json(
        json!({"tasks": [{"task_key": "a", "sql_task": {"file": {"path": "/a.sql"}}}]}),
    )
    .unwrap()
    .tasks;
    let run = control
        .runs()
        .submit(None, tasks, Some(1), "me")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let path = lakeplane_testing::repo_root().join("events/scheduler/rate.json");
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let out = handle(&control, &config, &event).await.unwrap();
    assert_eq!(out["runs_checked"], 1);
    let v = control.runs().get(run).await.unwrap();
    assert_eq!(v.run.state, RunState::Terminated(RunResult::TimedOut));
    // Nothing left to do: a second delivery of the same event is harmless.
    let again = handle(&control, &config, &event).await.unwrap();
    assert_eq!(again["runs_checked"], 0);
}

#[test]
fn configuration_is_checked() {
    assert!(Config::from_lookup(|_| None).is_err());
    let c = Config::from_lookup(|k| match k {
        "LAKEPLANE_TABLE" => Some("t".into()),
        "LAKEPLANE_QUEUES" => Some("default, cluster-1".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(c.queues, vec!["default", "cluster-1"]);
}

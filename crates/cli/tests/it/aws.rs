//! Lakeplane on AWS (moto): a job created and run through the `jobs` Lambda handler (in-process,
//! API Gateway HTTP API events) is executed by a `lakeplane worker` process against the same
//! DynamoDB table; its SQL writes Delta tables to S3; the Python `deltalake` package reads them.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use lakeplane_fn_jobs::{app, control, Config};
use serde_json::{json, Value};
use tower::ServiceExt;

/// An API Gateway (HTTP API, payload 2.0) event, as the Lambda runtime hands it over.
fn event(method: &str, path_and_query: &str, body: Option<Value>) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "abc.execute-api.us-east-1.amazonaws.com",
                    "authorization": "Bearer aws-e2e-token"},
        "requestContext": {"accountId": "123456789012", "apiId": "abc", "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc", "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7", "userAgent": "test"}, "requestId": "r", "routeKey": "$default",
            "stage": "$default", "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false,
        "body": body.map(|b| b.to_string()),
    })
    .to_string()
}

async fn call(app: &axum::Router, method: &str, path: &str, body: Option<Value>) -> Value {
    let req = lambda_http::request::from_str(&event(method, path, body)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {path}: {status} {v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_run_through_the_lambda_handler_is_executed_by_a_worker_on_dynamodb_and_s3() {
    let _alone = crate::HEAVY.lock().await;
    let aws = lakeplane_testing::aws_config().await;
    let table = lakeplane_testing::unique("e2e-state");
    let bucket = lakeplane_testing::s3_bucket("e2e-lake").await;
    lakeplane_store::dynamodb::DynamoStore::new(&aws, table.clone())
        .create_table()
        .await
        .unwrap();

    // The admin token, as a new deployment gets it: `lakeplane token create`.
    let out = crate::lakeplane()
        .args([
            "token",
            "create",
            "--state",
            &format!("dynamodb://{table}"),
            "--user",
            "admin@example.com",
            "--admin",
        ])
        .args(["--token", "aws-e2e-token"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let config = Config::from_lookup(|k| (k == "LAKEPLANE_TABLE").then(|| table.clone())).unwrap();
    let app = app(control(&aws, &config), &config);
    let sql = |q: &str| json!({"query": {"query_id": q}});
    let load = call(&app, "POST", "/api/2.0/sql/queries", Some(json!({"query": {
        "display_name": "load", "query_text":
        "CREATE TABLE sales AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS t(id, name)"}}))).await;
    let more = call(
        &app,
        "POST",
        "/api/2.0/sql/queries",
        Some(json!({"query": {
        "display_name": "more", "query_text": "INSERT INTO sales VALUES (4, 'd'), (5, 'e')"}})),
    )
    .await;
    let job = call(
        &app,
        "POST",
        "/api/2.2/jobs/create",
        Some(json!({"name": "aws-e2e", "tasks": [
        {"task_key": "load", "sql_task": sql(load["id"].as_str().unwrap())},
        {"task_key": "more", "depends_on": [{"task_key": "load"}],
         "sql_task": sql(more["id"].as_str().unwrap())}]})),
    )
    .await;
    let run = call(
        &app,
        "POST",
        "/api/2.2/jobs/run-now",
        Some(json!({"job_id": job["job_id"]})),
    )
    .await;

    let mut w = crate::worker_with_lease(
        &[
            "--state",
            &format!("dynamodb://{table}"),
            "--storage",
            &format!("s3://{bucket}/lake"),
        ],
        "aws-worker",
        15,
    );
    let path = format!("/api/2.2/jobs/runs/get?run_id={}", run["run_id"]);
    let done = lakeplane_testing::eventually("the run's end", Duration::from_secs(60), || async {
        let v = call(&app, "GET", &path, None).await;
        (v["state"]["life_cycle_state"] == "TERMINATED").then_some(v)
    })
    .await;
    w.kill().unwrap();
    w.wait().unwrap();
    assert_eq!(done["state"]["result_state"], "SUCCESS", "{done}");
    assert_eq!(done["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(
        crate::python_count(
            &crate::location_of(
                Arc::new(lakeplane_store::dynamodb::DynamoStore::new(
                    &aws,
                    table.clone()
                )),
                "sales"
            )
            .await
        ),
        5,
        "the Python deltalake package reads the table the worker wrote"
    );
}

//! The `jobs` function's handler, in-process, fed the API Gateway (HTTP API v2) events in
//! `events/jobs/`, with state in DynamoDB on moto (started by `scripts/test`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use http_body_util::BodyExt;
use lakeplane_fn_jobs::{app, control, Config};
use serde_json::Value;
use tower::ServiceExt;

struct Function {
    app: axum::Router,
}

impl Function {
    async fn start() -> Function {
        let aws = lakeplane_testing::aws_config().await;
        let table = lakeplane_testing::unique("fn-jobs");
        let config = Config::from_lookup(|k| match k {
            "LAKEPLANE_TABLE" => Some(table.clone()),
            "LAKEPLANE_WORKSPACE_ID" => Some("4242".into()),
            _ => None,
        })
        .unwrap();
        lakeplane_store::dynamodb::DynamoStore::new(&aws, table.clone())
            .create_table()
            .await
            .unwrap();
        let control = control(&aws, &config);
        control
            .tokens()
            .add("lambda-test-token", "ci@example.com")
            .await
            .unwrap();
        Function {
            app: app(control, &config),
        }
    }

    /// Replays one event file through the handler as the Lambda runtime would.
    async fn replay(&self, event: &str) -> (u16, Value) {
        let path = lakeplane_testing::repo_root()
            .join("events/jobs")
            .join(event);
        let text = std::fs::read_to_string(&path).unwrap();
        let req = lambda_http::request::from_str(&text).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }
}

#[tokio::test]
async fn events_replay_against_dynamodb() {
    let f = Function::start().await;

    let (status, body) = f.replay("well-known.json").await;
    assert_eq!((status, body["workspace_id"].as_str()), (200, Some("4242")));

    let (status, body) = f.replay("create-job.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job_id"], 1);

    let (status, body) = f.replay("get-job.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["settings"]["name"], "nightly");
    assert_eq!(
        body["settings"]["tasks"][1]["depends_on"][0]["task_key"],
        "ingest"
    );
    assert_eq!(body["creator_user_name"], "ci@example.com");

    let (status, body) = f.replay("list-jobs.json").await;
    assert_eq!(status, 200);
    assert_eq!(body["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(body["has_more"], false);

    let (status, body) = f.replay("run-now.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["run_id"], 1);

    // No worker runs inside this function: the run waits, queued, with its state present.
    let (status, body) = f.replay("get-run.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"]["life_cycle_state"], "PENDING");
    let tasks = body["tasks"].as_array().unwrap();
    assert_eq!(tasks[0]["state"]["life_cycle_state"], "PENDING");
    assert_eq!(tasks[1]["state"]["life_cycle_state"], "BLOCKED");
}

#[tokio::test]
async fn bad_requests_get_databricks_errors() {
    let f = Function::start().await;
    for (event, status, code) in [
        ("get-missing-job.json", 404, "RESOURCE_DOES_NOT_EXIST"),
        ("create-job-cycle.json", 400, "INVALID_PARAMETER_VALUE"),
        ("malformed-json.json", 400, "INVALID_PARAMETER_VALUE"),
        ("no-token.json", 401, "UNAUTHENTICATED"),
        ("unknown-route.json", 404, "ENDPOINT_NOT_FOUND"),
    ] {
        let (got, body) = f.replay(event).await;
        assert_eq!(
            (got, body["error_code"].as_str()),
            (status, Some(code)),
            "{event}: {body}"
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[test]
fn configuration_is_checked_at_cold_start() {
    let err = Config::from_lookup(|_| None).unwrap_err();
    assert!(err.0.contains("LAKEPLANE_TABLE"));
}

/// A stack deployed with `AdminTokenSha256` stores that hash at cold start: the token it hashes
/// then authenticates as `admin`, and the token itself was never passed or stored.
#[tokio::test]
async fn the_admin_token_hash_from_the_stack_is_stored_at_cold_start() {
    let aws = lakeplane_testing::aws_config().await;
    let table = lakeplane_testing::unique("fn-jobs-admin");
    lakeplane_store::dynamodb::DynamoStore::new(&aws, table.clone())
        .create_table()
        .await
        .unwrap();
    let hash = lakeplane_control::tokens::hash_token("s3cret-admin");
    let config = Config::from_lookup(|k| match k {
        "LAKEPLANE_TABLE" => Some(table.clone()),
        "LAKEPLANE_ADMIN_TOKEN_SHA256" => Some(hash.clone()),
        _ => None,
    })
    .unwrap();
    let control = control(&aws, &config);
    lakeplane_fn_jobs::bootstrap(&control, &config)
        .await
        .unwrap();
    lakeplane_fn_jobs::bootstrap(&control, &config)
        .await
        .unwrap(); // a second cold start
    let who = control.tokens().authenticate("s3cret-admin").await.unwrap();
    assert_eq!(who.unwrap().user_name, lakeplane_fn_jobs::ADMIN_USER);

    let bad = Config {
        admin_token_sha256: Some("not-a-hash".into()),
        ..config
    };
    let err = lakeplane_fn_jobs::bootstrap(&control, &bad)
        .await
        .unwrap_err();
    assert!(err.0.contains("64 hexadecimal"), "{err}");
}

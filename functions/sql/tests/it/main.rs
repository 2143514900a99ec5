//! The `sql` function's handler, in-process, fed the API Gateway (HTTP API v2) events in
//! `events/sql/`, with state in DynamoDB and results on S3, both on moto (started by
//! `scripts/test`). Statements run inside the function (`LAKEPLANE_INLINE_SECONDS`), and links are
//! presigned S3 URLs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use http_body_util::BodyExt;
use lakeplane_fn_sql::{app, control, engine, Config};
use serde_json::Value;
use tower::ServiceExt;

struct Function {
    app: axum::Router,
    vars: Vec<(&'static str, String)>,
    bucket: String,
}

impl Function {
    async fn start(inline_seconds: &str) -> Function {
        let aws = lakeplane_testing::aws_config().await;
        let table = lakeplane_testing::unique("fn-sql");
        let bucket = lakeplane_testing::s3_bucket("fn-sql").await;
        let config = Config::from_lookup(|k| match k {
            "LAKEPLANE_TABLE" => Some(table.clone()),
            "LAKEPLANE_STORAGE" => Some(format!("s3://{bucket}/lake")),
            "LAKEPLANE_RESULTS" => Some(format!("s3://{bucket}/results")),
            "LAKEPLANE_INLINE_SECONDS" => Some(inline_seconds.to_string()),
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
        control
            .principals()
            .ensure_admin("ci@example.com")
            .await
            .unwrap();
        let engine = engine(&aws, &control, &config).unwrap();
        Function {
            app: app(control, engine, &config).unwrap(),
            vars: vec![],
            bucket,
        }
    }

    /// Replays one event file (with `{{name}}` placeholders filled) through the handler.
    async fn replay(&self, event: &str) -> (u16, Value) {
        let path = lakeplane_testing::repo_root()
            .join("events/sql")
            .join(event);
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (k, v) in &self.vars {
            text = text.replace(&format!("{{{{{k}}}}}"), v);
        }
        let req = lambda_http::request::from_str(&text).unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn small_statements_run_inside_the_function() {
    let mut f = Function::start("20").await;
    let (status, body) = f.replay("create-warehouse.json").await;
    assert_eq!(status, 200, "{body}");
    f.vars
        .push(("warehouse_id", body["id"].as_str().unwrap().to_string()));
    // With no workers, the function is the warehouse's compute: it starts on the next look.
    let (status, body) = f.replay("get-warehouse.json").await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("RUNNING")),
        "{body}"
    );

    let (status, body) = f.replay("execute-statement.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"]["state"], "SUCCEEDED", "{}", body["status"]);
    assert_eq!(
        body["result"]["data_array"],
        serde_json::json!([["41", "a"]])
    );

    let (status, body) = f.replay("execute-statement-links.json").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"]["state"], "SUCCEEDED", "{}", body["status"]);
    assert_eq!(body["manifest"]["total_row_count"], 100000);
    let link = body["result"]["external_links"][0]["external_link"]
        .as_str()
        .unwrap();
    assert!(
        link.contains("X-Amz-Signature="),
        "a presigned S3 URL: {link}"
    );
    // The link works without credentials.
    let got = reqwest_like_get(link).await;
    assert!(got > 0);

    let (status, body) = f.replay("execute-bad-sql.json").await;
    assert_eq!(
        (status, body["status"]["state"].as_str()),
        (200, Some("FAILED"))
    );
    assert_eq!(body["status"]["error"]["error_code"], "NOT_FOUND");
}

#[tokio::test]
async fn wasm_functions_run_inside_the_function() {
    let mut f = Function::start("20").await;
    let (status, body) = f.replay("create-warehouse.json").await;
    assert_eq!(status, 200, "{body}");
    f.vars
        .push(("warehouse_id", body["id"].as_str().unwrap().to_string()));
    // The module is in the stack's bucket, as a user puts it there.
    let module = std::fs::read(lakeplane_testing::udf_example("haversine")).unwrap();
    lakeplane_testing::s3_put(&f.bucket, "udfs/haversine.wasm", module).await;
    f.vars
        .push(("module", format!("s3://{}/udfs/haversine.wasm", f.bucket)));
    let (status, body) = f.replay("create-function.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"]["state"], "SUCCEEDED", "{}", body["status"]);
    let (status, body) = f.replay("call-function.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"]["state"], "SUCCEEDED", "{}", body["status"]);
    assert_eq!(body["result"]["data_array"], serde_json::json!([["877.5"]]));
}

/// Fetches a URL with no credentials and returns the body's length.
async fn reqwest_like_get(url: &str) -> usize {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("curl")
            .args(["-sf", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "GET {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout.len()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn without_inline_time_statements_wait_for_workers() {
    let mut f = Function::start("0").await;
    let (_, body) = f.replay("create-warehouse.json").await;
    f.vars
        .push(("warehouse_id", body["id"].as_str().unwrap().to_string()));
    let (status, body) = f.replay("execute-async.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"]["state"], "PENDING");
    f.vars.push((
        "statement_id",
        body["statement_id"].as_str().unwrap().to_string(),
    ));
    let (status, body) = f.replay("get-statement.json").await;
    assert_eq!(
        (status, body["status"]["state"].as_str()),
        (200, Some("PENDING"))
    );
}

#[tokio::test]
async fn bad_requests_get_databricks_errors() {
    let mut f = Function::start("20").await;
    let (_, body) = f.replay("create-warehouse.json").await;
    f.vars
        .push(("warehouse_id", body["id"].as_str().unwrap().to_string()));
    for (event, status, code) in [
        ("execute-bad-wait.json", 400, "INVALID_PARAMETER_VALUE"),
        ("no-token.json", 401, "UNAUTHENTICATED"),
    ] {
        let (got, body) = f.replay(event).await;
        assert_eq!(
            (got, body["error_code"].as_str()),
            (status, Some(code)),
            "{event}: {body}"
        );
    }
}

#[tokio::test]
async fn a_statement_that_outgrows_the_inline_budget_goes_back_to_its_queue() {
    let mut f = Function::start("1").await;
    let (_, body) = f.replay("create-warehouse.json").await;
    f.vars
        .push(("warehouse_id", body["id"].as_str().unwrap().to_string()));
    let (status, body) = f.replay("execute-long.json").await;
    assert_eq!(status, 200, "{body}");
    // Stopped after a second and handed back unclaimed: waiting for a worker, not failed.
    assert_eq!(body["status"]["state"], "PENDING", "{}", body["status"]);
}

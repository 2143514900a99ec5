//! The `catalog` function's handler, in-process, fed the API Gateway (HTTP API v2) events in
//! `events/catalog/`, with state in DynamoDB and tables on S3, both on moto (started by
//! `scripts/test`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use http_body_util::BodyExt;
use lakeplane_fn_catalog::{app, control, engine, Config};
use serde_json::Value;
use tower::ServiceExt;

struct Function {
    app: axum::Router,
    engine: lakeplane_engine::Engine,
}

impl Function {
    async fn start() -> Function {
        let aws = lakeplane_testing::aws_config().await;
        let table = lakeplane_testing::unique("fn-catalog");
        let bucket = lakeplane_testing::s3_bucket("fn-catalog").await;
        let config = Config::from_lookup(|k| match k {
            "LAKEPLANE_TABLE" => Some(table.clone()),
            "LAKEPLANE_STORAGE" => Some(format!("s3://{bucket}/lake")),
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
            app: app(control, engine.clone(), &config),
            engine,
        }
    }

    async fn replay(&self, event: &str) -> (u16, Value) {
        let path = lakeplane_testing::repo_root()
            .join("events/catalog")
            .join(event);
        let text = std::fs::read_to_string(&path).unwrap();
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
async fn events_replay_against_dynamodb_and_s3() {
    let f = Function::start().await;
    let (status, body) = f.replay("create-catalog.json").await;
    assert_eq!(
        (status, body["name"].as_str()),
        (200, Some("lambda_cat")),
        "{body}"
    );
    let (status, body) = f.replay("create-schema.json").await;
    assert_eq!(
        (status, body["full_name"].as_str()),
        (200, Some("lambda_cat.s")),
        "{body}"
    );
    let (_, body) = f.replay("list-catalogs.json").await;
    let names: Vec<&str> = body["catalogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"lambda_cat") && names.contains(&"main"),
        "{names:?}"
    );
    let (_, body) = f.replay("list-schemas.json").await;
    assert_eq!(
        body["schemas"].as_array().unwrap().len(),
        2,
        "default and s"
    );

    // A table made with SQL, its columns read from its Delta log on S3.
    f.engine
        .execute(
            &lakeplane_engine::ExecContext::new("ci@example.com"),
            "CREATE TABLE lambda_cat.s.t (id BIGINT NOT NULL, name STRING)",
        )
        .await
        .unwrap();
    let (status, body) = f.replay("get-table.json").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["storage_location"]
        .as_str()
        .unwrap()
        .starts_with("s3://"));
    assert_eq!(body["columns"][0]["type_name"], "LONG");
    let (_, body) = f.replay("list-tables.json").await;
    assert_eq!(body["tables"][0]["name"], "t");

    let (status, body) = f.replay("update-permissions.json").await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = f.replay("get-permissions.json").await;
    assert_eq!(
        body["privilege_assignments"],
        serde_json::json!([{"principal": "analysts", "privileges": ["SELECT"]}])
    );

    let (status, body) = f.replay("me.json").await;
    assert_eq!(
        (status, body["userName"].as_str()),
        (200, Some("ci@example.com"))
    );
    let (status, body) = f.replay("create-service-principal.json").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["applicationId"]
        .as_str()
        .is_some_and(|a| !a.is_empty()));
    let (status, body) = f.replay("create-token.json").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token_value"].as_str().unwrap().starts_with("dapi"));
}

#[tokio::test]
async fn bad_requests_get_databricks_errors() {
    let f = Function::start().await;
    f.replay("create-catalog.json").await;
    f.replay("create-schema.json").await;
    for (event, status, code) in [
        ("get-missing-table.json", 404, "RESOURCE_DOES_NOT_EXIST"),
        ("bad-securable-type.json", 400, "INVALID_PARAMETER_VALUE"),
        ("create-catalog.json", 409, "RESOURCE_ALREADY_EXISTS"),
    ] {
        let (got, body) = f.replay(event).await;
        assert_eq!(
            (got, body["error_code"].as_str()),
            (status, Some(code)),
            "{event}: {body}"
        );
    }
}

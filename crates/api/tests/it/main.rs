//! The API in-process over the embedded store: OpenAPI agreement, auth, limits and hostile input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod catalog;
mod clusters;
mod schemas;
mod sql;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use lakeplane_control::Control;
use serde_json::{json, Value};
use tower::ServiceExt;

const TOKEN: &str = "api-test-token";

pub struct Api {
    app: axum::Router,
    routes: Vec<(Method, String)>,
    doc: Value,
    pub control: Control,
    /// Where statement results go (a folder of `dir`).
    pub results: std::sync::Arc<dyn lakeplane_core::sql::ResultStore>,
    pub engine: lakeplane_engine::Engine,
    pub dir: tempfile::TempDir,
}

impl Api {
    pub async fn new() -> Api {
        let control = Control::new(lakeplane_testing::embedded_store().await);
        control.tokens().add(TOKEN, "tester").await.unwrap();
        control.principals().ensure_admin("tester").await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let signer = lakeplane_engine::results::LinkSigner::random();
        let results: std::sync::Arc<dyn lakeplane_core::sql::ResultStore> = std::sync::Arc::new(
            lakeplane_engine::results::ObjectResults::local(
                &dir.path().join("results"),
                Some(("http://lakeplane.test".into(), signer.clone())),
            )
            .unwrap(),
        );
        let root =
            lakeplane_engine::storage::StorageRoot::local(&dir.path().join("warehouse")).unwrap();
        let engine = lakeplane_engine::Engine::new(
            root,
            std::sync::Arc::new(control.catalogs().clone()),
            lakeplane_engine::access::AccessPolicy::local([dir.path().into()]),
            None,
        )
        .unwrap();
        let artifacts: std::sync::Arc<dyn lakeplane_core::mlflow::artifacts::ArtifactStore> =
            std::sync::Arc::new(
                lakeplane_engine::artifacts::ObjectArtifacts::under_root(&engine).unwrap(),
            );
        let shell = lakeplane_api::shell(control.clone())
            .area(lakeplane_api::sql::area(lakeplane_api::sql::SqlServices {
                results: results.clone(),
                signer: Some(signer),
                inline: None,
                moves_warehouses: false,
            }))
            .area(lakeplane_api::catalog::area(engine.clone()))
            .area(lakeplane_api::principals::area())
            .area(lakeplane_api::mlflow::area(
                lakeplane_api::mlflow::MlflowServices {
                    artifacts: artifacts.clone(),
                },
            ))
            .area(lakeplane_api::serving::area(
                lakeplane_api::serving::ServingServices {
                    endpoints: control.serving(std::sync::Arc::new(
                        lakeplane_serving::local::LocalScoring::new(
                            lakeplane_serving::local::LocalSettings::new(
                                "python3".into(),
                                dir.path().join("serving"),
                            ),
                            artifacts,
                        ),
                    )),
                },
            ))
            .area(lakeplane_api::clusters::area(
                lakeplane_api::clusters::ClusterServices { reconciler: None },
            ));
        let routes = shell.route_table();
        let doc = serde_json::from_str(&shell.openapi().to_json().unwrap()).unwrap();
        Api {
            app: shell.into_router(),
            routes,
            doc,
            control,
            results,
            engine,
            dir,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        body: Option<Vec<u8>>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Calls and checks the answer is the given Databricks error.
    async fn expect_error(
        &self,
        method: Method,
        uri: &str,
        body: Value,
        status: StatusCode,
        code: &str,
    ) {
        let (s, b) = self.call(method.clone(), uri, body).await;
        assert_eq!(
            (s, b["error_code"].as_str()),
            (status, Some(code)),
            "{method} {uri}: {b}"
        );
    }

    pub async fn call(&self, method: Method, uri: &str, body: Value) -> (StatusCode, Value) {
        let body = if method == Method::GET || method == Method::DELETE {
            None
        } else {
            Some(serde_json::to_vec(&body).unwrap())
        };
        self.send(method, uri, body, Some(TOKEN)).await
    }
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

#[tokio::test]
async fn openapi_documents_exactly_the_served_routes() {
    let api = Api::new().await;
    let served: BTreeSet<(String, String)> = api
        .routes
        .iter()
        .map(|(m, p)| (m.to_string(), p.clone()))
        .collect();
    let doc = documented(&api.doc);
    let undocumented: Vec<_> = served.difference(&doc).collect();
    let unserved: Vec<_> = doc.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in openapi.json: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "in openapi.json but not served: {unserved:?}"
    );

    // Every documented operation answers (no ENDPOINT_NOT_FOUND) with a documented status.
    let doc_json = &api.doc;
    for (method, path) in &doc {
        let uri = path
            .replace("{id}", "missing")
            .replace("{chunk}", "0")
            .replace("{securable_type}", "table")
            .replace("{client}", "PYTHON")
            .replace("{key}", "k")
            .replace("{name}", "missing")
            .replace("{path}", "missing/file");
        let (status, body) = api.call(method.parse().unwrap(), &uri, json!({})).await;
        assert_ne!(body["error_code"], "ENDPOINT_NOT_FOUND", "{method} {path}");
        let responses = &doc_json["paths"][path.as_str()][method.to_lowercase()]["responses"];
        assert!(
            responses.get(status.as_str()).is_some(),
            "{method} {path} answered {status}, which openapi.json does not list"
        );
    }
    let (status, served_doc) = api.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&served_doc, doc_json);
    assert!(served_doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let ids: Vec<&str> = doc_json["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "operation ids are unique");
}

#[tokio::test]
async fn auth_is_required_except_for_the_well_known_config() {
    let api = Api::new().await;
    let (s, b) = api
        .send(Method::GET, "/.well-known/databricks-config", None, None)
        .await;
    assert_eq!((s, b["cloud"].as_str()), (StatusCode::OK, Some("AWS")));
    let (s, b) = api
        .send(Method::GET, "/api/2.2/jobs/list", None, None)
        .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED"))
    );
    let (s, b) = api
        .send(Method::GET, "/api/2.2/jobs/list", None, Some("nope"))
        .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (StatusCode::FORBIDDEN, Some("PERMISSION_DENIED"))
    );
    let (s, _) = api
        .send(Method::GET, "/api/2.2/jobs/list", None, Some(TOKEN))
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn hostile_input_never_gets_a_500() {
    let api = Api::new().await;
    let bodies: Vec<Vec<u8>> = vec![
        br#"{"tasks": [{"task_key": "a", "sql_task": {}, "notebook_task": {}}]}"#.to_vec(),
        b"".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"str\"".to_vec(),
        b"{".to_vec(),
        vec![0xff, 0xfe, 0x00],
        br#"{"job_id": -1}"#.to_vec(),
        br#"{"job_id": "abc"}"#.to_vec(),
        br#"{"job_id": 1e30}"#.to_vec(),
        br#"{"job_id": 18446744073709551615}"#.to_vec(),
        br#"{"job_id": {"x": 1}}"#.to_vec(),
        br#"{"run_id": true}"#.to_vec(),
        br#"{"tasks": "x"}"#.to_vec(),
        br#"{"tasks": [{"task_key": 5}]}"#.to_vec(),
        br#"{"tasks": [{"task_key": "../../etc"}]}"#.to_vec(),
        br#"{"name": 5}"#.to_vec(),
        br#"{"new_settings": [], "job_id": 1}"#.to_vec(),
        br#"{"query": {"query_text": 7}}"#.to_vec(),
        br#"{"job_parameters": "x", "job_id": 1}"#.to_vec(),
    ];
    let queries = [
        "",
        "?job_id=",
        "?job_id=x",
        "?job_id=-5",
        "?job_id=99999999999999999999999",
        "?run_id=%00",
        "?limit=1000",
        "?limit=-1",
        "?expand_tasks=maybe",
        "?page_token=%%%",
        "?page_token=bm90LWEtdG9rZW4",
        "?active_only=true&completed_only=true",
    ];
    for (method, path) in api.routes.clone() {
        let path = path
            .replace("{id}", "x%2F..%2F")
            .replace("{chunk}", "..%2F0")
            .replace("{securable_type}", "TABLE")
            .replace("{client}", "PYTHON");
        for q in queries {
            let uri = format!("{path}{q}");
            let (s, b) = api.send(method.clone(), &uri, None, Some(TOKEN)).await;
            assert!(!s.is_server_error(), "{method} {uri} -> {s} {b}");
            if !s.is_success() {
                assert!(
                    b["error_code"].is_string() && b["message"].is_string(),
                    "{method} {uri} -> {b}"
                );
            }
        }
        if method == Method::POST {
            for body in &bodies {
                let (s, b) = api
                    .send(method.clone(), &path, Some(body.clone()), Some(TOKEN))
                    .await;
                assert!(
                    !s.is_server_error(),
                    "{method} {path} {:?} -> {s} {b}",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let api = Api::new().await;
    let big = format!(
        r#"{{"name": "{}"}}"#,
        "x".repeat(lakeplane_http::extract::MAX_BODY_BYTES)
    );
    let (s, b) = api
        .send(
            Method::POST,
            "/api/2.2/jobs/create",
            Some(big.into_bytes()),
            Some(TOKEN),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(b["error_code"], "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn unknown_routes_wrong_methods_bad_encoding_and_big_headers_get_error_json() {
    let api = Api::new().await;
    let (s, b) = api.call(Method::GET, "/api/2.2/jobs/nope", json!({})).await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ENDPOINT_NOT_FOUND"))
    );
    let (s, b) = api
        .call(Method::DELETE, "/api/2.2/jobs/create", json!({}))
        .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("METHOD_NOT_ALLOWED"))
    );
    let (s, b) = api
        .call(Method::GET, "/api/2.0/sql/queries/%FF", json!({}))
        .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE")),
        "{b}"
    );
    let req = Request::builder()
        .uri("/api/2.2/jobs/list")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header(
            "x-padding",
            "p".repeat(lakeplane_http::shell::MAX_HEADER_BYTES),
        )
        .body(Body::empty())
        .unwrap();
    let resp = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let b: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        b["error_code"].is_string() && b["message"].is_string(),
        "{b}"
    );
}

#[tokio::test]
async fn jobs_and_runs_round_trip_in_databricks_shapes() {
    let api = Api::new().await;
    let task = |k: &str, deps: &[&str]| {
        json!({"task_key": k, "depends_on": deps.iter().map(|d| json!({"task_key": d})).collect::<Vec<_>>(),
               "sql_task": {"warehouse_id": "w", "file": {"path": "/q.sql"}}, "timeout_seconds": 60})
    };
    let (s, b) = api
        .call(
            Method::POST,
            "/api/2.1/jobs/create",
            json!({"name": "j", "tags": {"team": "data"},
              "access_control_list": [{"user_name": "x", "permission_level": "CAN_VIEW"}],
              "tasks": [task("a", &[]), task("b", &["a"])]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let job_id = b["job_id"].as_u64().unwrap();
    let (_, job) = api
        .call(
            Method::GET,
            &format!("/api/2.2/jobs/get?job_id={job_id}"),
            json!({}),
        )
        .await;
    assert_eq!(
        job["settings"]["tags"]["team"], "data",
        "unknown settings are kept"
    );
    assert!(job["settings"].get("access_control_list").is_none());
    assert_eq!(job["settings"]["tasks"][0]["timeout_seconds"], 60);
    assert!(
        job.get("next_page_token").is_none(),
        "never an empty token on jobs/get"
    );

    let (_, list) = api.call(Method::GET, "/api/2.2/jobs/list", json!({})).await;
    assert!(
        list["jobs"][0]["settings"].get("tasks").is_none(),
        "no tasks without expand_tasks"
    );
    let (_, list) = api
        .call(
            Method::GET,
            "/api/2.2/jobs/list?expand_tasks=True",
            json!({}),
        )
        .await;
    assert_eq!(
        list["jobs"][0]["settings"]["tasks"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (s, r) = api
        .call(
            Method::POST,
            "/api/2.2/jobs/run-now",
            json!({"job_id": job_id.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let run_id = r["run_id"].as_u64().unwrap();
    let (_, run) = api
        .call(
            Method::GET,
            &format!("/api/2.2/jobs/runs/get?run_id={run_id}"),
            json!({}),
        )
        .await;
    assert_eq!(run["state"]["life_cycle_state"], "PENDING");
    assert_eq!(run["status"]["state"], "PENDING");
    assert_eq!(run["job_id"], job_id);
    assert_eq!(run["tasks"][1]["state"]["life_cycle_state"], "BLOCKED");
    let task_run = run["tasks"][0]["run_id"].as_u64().unwrap();
    assert_ne!(task_run, run_id);

    api.expect_error(
        Method::GET,
        &format!("/api/2.2/jobs/runs/get-output?run_id={run_id}"),
        json!({}),
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    let (s, out) = api
        .call(
            Method::GET,
            &format!("/api/2.2/jobs/runs/get-output?run_id={task_run}"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(out["metadata"]["run_id"], task_run);

    api.expect_error(
        Method::POST,
        "/api/2.2/jobs/runs/delete",
        json!({"run_id": run_id}),
        StatusCode::BAD_REQUEST,
        "INVALID_STATE",
    )
    .await;
    let (s, _) = api
        .call(
            Method::POST,
            "/api/2.2/jobs/runs/cancel",
            json!({"run_id": run_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, run) = api
        .call(
            Method::GET,
            &format!("/api/2.2/jobs/runs/get?run_id={run_id}"),
            json!({}),
        )
        .await;
    assert_eq!(run["state"]["result_state"], "CANCELED");
    assert_eq!(
        run["status"]["termination_details"]["code"],
        "USER_CANCELED"
    );
    let (s, _) = api
        .call(
            Method::POST,
            "/api/2.2/jobs/runs/delete",
            json!({"run_id": run_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    api.expect_error(
        Method::POST,
        "/api/2.2/jobs/run-now",
        json!({"job_id": job_id, "job_parameters": {"undeclared": "1"}}),
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
}

#[tokio::test]
async fn runs_list_paginates_newest_first() {
    let api = Api::new().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let (_, r) = api
            .call(
                Method::POST,
                "/api/2.2/jobs/runs/submit",
                json!({"run_name": format!("r{i}"),
                  "tasks": [{"task_key": "t", "sql_task": {"file": {"path": "/q.sql"}}}]}),
            )
            .await;
        ids.push(r["run_id"].as_u64().unwrap());
    }
    let mut seen = Vec::new();
    let mut uri = "/api/2.2/jobs/runs/list?limit=3".to_string();
    loop {
        let (s, page) = api.call(Method::GET, &uri, json!({})).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        seen.extend(
            page["runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["run_id"].as_u64().unwrap()),
        );
        match page["next_page_token"].as_str() {
            Some(t) => uri = format!("/api/2.2/jobs/runs/list?limit=3&page_token={t}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
    let (_, page) = api
        .call(
            Method::GET,
            "/api/2.2/jobs/runs/list?limit=3&offset=5",
            json!({}),
        )
        .await;
    assert_eq!(page["runs"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn queries_api_round_trips() {
    let api = Api::new().await;
    let (s, q) = api
        .call(
            Method::POST,
            "/api/2.0/sql/queries",
            json!({"query": {"display_name": "q", "query_text": "SELECT 1", "warehouse_id": "w"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    let id = q["id"].as_str().unwrap().to_string();
    assert!(q["create_time"].as_str().unwrap().ends_with('Z'));
    let (_, got) = api
        .call(
            Method::GET,
            &format!("/api/2.0/sql/queries/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(got["query_text"], "SELECT 1");
    let (_, list) = api
        .call(Method::GET, "/api/2.0/sql/queries", json!({}))
        .await;
    assert_eq!(list["results"][0]["id"], id.as_str());
    let (s, _) = api
        .call(
            Method::DELETE,
            &format!("/api/2.0/sql/queries/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    api.expect_error(
        Method::GET,
        &format!("/api/2.0/sql/queries/{id}"),
        json!({}),
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    )
    .await;
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_a_408_in_error_json() {
    let control = Control::new(lakeplane_testing::embedded_store().await);
    control.tokens().add(TOKEN, "tester").await.unwrap();
    let app = lakeplane_api::shell(control)
        .body_deadline(std::time::Duration::from_millis(200))
        .into_router();
    let pending = futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/2.2/jobs/create")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from_stream(pending))
        .unwrap();
    let resp = tokio::time::timeout(std::time::Duration::from_secs(10), app.oneshot(req))
        .await
        .expect("answered at the body deadline")
        .unwrap();
    assert_eq!(resp.status(), StatusCode::REQUEST_TIMEOUT);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let b: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(b["error_code"], "REQUEST_TIMEOUT");
}

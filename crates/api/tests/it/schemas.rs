//! Real answers validated against the schemas the OpenAPI document gives for them.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::Api;

/// Checks `body` against the document's schema for `method path` answering `status`.
pub(crate) fn check(doc: &Value, method: &str, path: &str, status: StatusCode, body: &Value) {
    let response = &doc["paths"][path][method]["responses"][status.as_str()];
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status}: no schema documented"
    );
    let root = json!({"components": doc["components"], "allOf": [schema]});
    let validator = jsonschema::validator_for(&root).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match its schema: {errors:#?}\n{body:#}"
    );
}

/// Calls an endpoint and validates the answer against the document.
async fn call(api: &Api, method: Method, path: &str, query: &str, body: Value) -> Value {
    let (status, answer) = api
        .call(method.clone(), &format!("{path}{query}"), body)
        .await;
    check(
        &api.doc,
        &method.as_str().to_lowercase(),
        path,
        status,
        &answer,
    );
    answer
}

#[tokio::test]
async fn answers_match_their_documented_schemas() {
    let api = Api::new().await;
    let jobs = "/api/2.2/jobs";
    let q = call(
        &api,
        Method::POST,
        "/api/2.0/sql/queries",
        "",
        json!({"query": {"display_name": "q", "query_text": "SELECT 1"}}),
    )
    .await;
    let qid = q["id"].as_str().unwrap();
    assert!(q.get("warehouse_id").is_none(), "absent, not null: {q}");
    let (_, got) = api
        .call(
            Method::GET,
            &format!("/api/2.0/sql/queries/{qid}"),
            json!({}),
        )
        .await;
    check(
        &api.doc,
        "get",
        "/api/2.0/sql/queries/{id}",
        StatusCode::OK,
        &got,
    );
    call(&api, Method::GET, "/api/2.0/sql/queries", "", json!({})).await;

    let created = call(
        &api,
        Method::POST,
        &format!("{jobs}/create"),
        "",
        json!({"name": "j", "parameters": [{"name": "p", "default": "1"}], "tags": {"a": "b"},
               "tasks": [
                 {"task_key": "a", "sql_task": {"query": {"query_id": qid}, "parameters": {"x": "1"}}},
                 {"task_key": "b", "depends_on": [{"task_key": "a"}], "run_if": "ALL_DONE",
                  "sql_task": {"file": {"path": "/b.sql"}}, "timeout_seconds": 5}]}),
    )
    .await;
    let job_id = created["job_id"].as_u64().unwrap();
    call(
        &api,
        Method::GET,
        &format!("{jobs}/get"),
        &format!("?job_id={job_id}"),
        json!({}),
    )
    .await;
    call(
        &api,
        Method::GET,
        &format!("{jobs}/list"),
        "?expand_tasks=true",
        json!({}),
    )
    .await;
    call(
        &api,
        Method::GET,
        &format!("{jobs}/list"),
        "?limit=1",
        json!({}),
    )
    .await;
    let run = call(
        &api,
        Method::POST,
        &format!("{jobs}/run-now"),
        "",
        json!({"job_id": job_id, "job_parameters": {"p": "2"}, "sql_params": {"x": "3"}}),
    )
    .await;
    let run_id = run["run_id"].as_u64().unwrap();
    let full = call(
        &api,
        Method::GET,
        &format!("{jobs}/runs/get"),
        &format!("?run_id={run_id}"),
        json!({}),
    )
    .await;
    assert_eq!(full["overriding_parameters"]["sql_params"]["x"], "3");
    let task_run = full["tasks"][0]["run_id"].as_u64().unwrap();
    call(
        &api,
        Method::GET,
        &format!("{jobs}/runs/get-output"),
        &format!("?run_id={task_run}"),
        json!({}),
    )
    .await;
    call(
        &api,
        Method::GET,
        &format!("{jobs}/runs/list"),
        "?expand_tasks=true",
        json!({}),
    )
    .await;
    call(
        &api,
        Method::POST,
        &format!("{jobs}/runs/cancel"),
        "",
        json!({"run_id": run_id}),
    )
    .await;
    let ended = call(
        &api,
        Method::GET,
        &format!("{jobs}/runs/get"),
        &format!("?run_id={run_id}"),
        json!({}),
    )
    .await;
    assert_eq!(ended["state"]["result_state"], "CANCELED");
    call(
        &api,
        Method::POST,
        &format!("{jobs}/runs/submit"),
        "",
        json!({"tasks": [{"task_key": "t", "sql_task": {"file": {"path": "/t.sql"}}}]}),
    )
    .await;
    // Errors match the error schema too.
    call(
        &api,
        Method::GET,
        &format!("{jobs}/get"),
        "?job_id=999",
        json!({}),
    )
    .await;
    call(
        &api,
        Method::POST,
        &format!("{jobs}/create"),
        "",
        json!({"tasks": "x"}),
    )
    .await;
}

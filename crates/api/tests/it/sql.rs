//! The SQL area in-process with a worker: warehouses, statements (inline and linked results,
//! chunks, cancel, close), the served links, every answer held to its documented schema.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use lakeplane_worker::{Worker, WorkerConfig};
use serde_json::{json, Value};

use crate::schemas::check;
use crate::Api;

const S: &str = "/api/2.0/sql/statements";
const W: &str = "/api/2.0/sql/warehouses";

/// Starts a worker serving the warehouses of `api`, with small chunks.
fn worker(api: &Api) -> tokio::task::JoinHandle<()> {
    let engine = api.engine.clone();
    let config = WorkerConfig {
        results: Some(api.results.clone()),
        chunk_bytes: 16 * 1024,
        poll: Duration::from_millis(20),
        heartbeat: Duration::from_millis(100),
        ..WorkerConfig::new("api-test-worker")
    };
    let worker = Worker::new(api.control.clone(), engine, config);
    tokio::spawn(worker.run(std::future::pending()))
}

pub(crate) async fn checked(
    api: &Api,
    method: Method,
    uri: &str,
    template: &str,
    body: Value,
) -> Value {
    let (status, answer) = api.call(method.clone(), uri, body).await;
    assert_eq!(status, StatusCode::OK, "{method} {uri}: {answer}");
    check(
        &api.doc,
        &method.as_str().to_lowercase(),
        template,
        status,
        &answer,
    );
    answer
}

async fn warehouse(api: &Api) -> String {
    let created = checked(
        api,
        Method::POST,
        W,
        W,
        json!({"name": "t", "cluster_size": "2X-Small"}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    lakeplane_testing::eventually("the warehouse runs", Duration::from_secs(20), || async {
        let w = checked(
            api,
            Method::GET,
            &format!("{W}/{id}"),
            &format!("{W}/{{id}}"),
            json!({}),
        )
        .await;
        (w["state"] == "RUNNING").then_some(())
    })
    .await;
    id
}

#[tokio::test]
async fn warehouses_round_trip_in_databricks_shapes() {
    let api = Api::new().await;
    let _worker = worker(&api);
    let id = warehouse(&api).await;
    let one = format!("{W}/{{id}}");
    let listed = checked(&api, Method::GET, W, W, json!({})).await;
    assert_eq!(listed["warehouses"][0]["id"], id.as_str());
    checked(
        &api,
        Method::POST,
        &format!("{W}/{id}/edit"),
        &format!("{one}/edit"),
        json!({"auto_stop_mins": 15}),
    )
    .await;
    let got = checked(&api, Method::GET, &format!("{W}/{id}"), &one, json!({})).await;
    assert_eq!(
        (got["auto_stop_mins"].as_u64(), got["name"].as_str()),
        (Some(15), Some("t"))
    );
    checked(
        &api,
        Method::POST,
        &format!("{W}/{id}/stop"),
        &format!("{one}/stop"),
        json!({}),
    )
    .await;
    lakeplane_testing::eventually("the warehouse stops", Duration::from_secs(20), || async {
        let (_, w) = api.call(Method::GET, &format!("{W}/{id}"), json!({})).await;
        (w["state"] == "STOPPED").then_some(())
    })
    .await;
    checked(
        &api,
        Method::POST,
        &format!("{W}/{id}/start"),
        &format!("{one}/start"),
        json!({}),
    )
    .await;
    checked(&api, Method::DELETE, &format!("{W}/{id}"), &one, json!({})).await;
    let (status, body) = api
        .call(
            Method::POST,
            S,
            json!({"statement": "SELECT 1", "warehouse_id": id}),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    for bad in [
        json!({"name": "x", "cluster_size": "Huge"}),
        json!({"cluster_size": "Small"}),
        json!({"name": "x", "auto_stop_mins": 99999999}),
        json!({"name": "x", "max_num_clusters": 0}),
    ] {
        let (status, body) = api.call(Method::POST, W, bad.clone()).await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn statements_answer_inline_and_by_link_in_documented_shapes() {
    let api = Api::new().await;
    let _worker = worker(&api);
    let wh = warehouse(&api).await;
    let one = format!("{S}/{{id}}");

    // Inline JSON over several chunks.
    let r = checked(&api, Method::POST, S, S, json!({
        "statement": "SELECT value AS id, :tag AS tag FROM range(5000) ORDER BY id", "warehouse_id": wh,
        "wait_timeout": "30s", "parameters": [{"name": "tag", "value": "x"}]})).await;
    assert_eq!(r["status"]["state"], "SUCCEEDED", "{}", r["status"]);
    let chunks = r["manifest"]["total_chunk_count"].as_u64().unwrap();
    assert!(chunks > 1, "{}", r["manifest"]);
    assert_eq!(r["result"]["data_array"][0], json!(["0", "x"]));
    let id = r["statement_id"].as_str().unwrap();
    let last = checked(
        &api,
        Method::GET,
        &format!("{S}/{id}/result/chunks/{}", chunks - 1),
        &format!("{one}/result/chunks/{{chunk}}"),
        json!({}),
    )
    .await;
    assert!(last.get("next_chunk_index").is_none());
    assert_eq!(
        last["data_array"].as_array().unwrap().last().unwrap(),
        &json!(["4999", "x"])
    );
    let (status, _) = api
        .call(
            Method::GET,
            &format!("{S}/{id}/result/chunks/{chunks}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Links: fetched through the served route without a token; a changed signature is refused.
    let r = checked(&api, Method::POST, S, S, json!({
        "statement": "SELECT value FROM range(3000)", "warehouse_id": wh, "wait_timeout": "30s",
        "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM", "result_compression": "LZ4_FRAME"})).await;
    assert_eq!(r["manifest"]["result_compression"], "LZ4_FRAME");
    // What the link serves is an LZ4 frame around an Arrow IPC stream of every row.
    let stored = api
        .results
        .get(r["statement_id"].as_str().unwrap(), 0)
        .await
        .unwrap();
    let mut ipc = Vec::new();
    std::io::Read::read_to_end(
        &mut lz4_flex::frame::FrameDecoder::new(&stored[..]),
        &mut ipc,
    )
    .unwrap();
    let reader =
        lakeplane_engine::arrow::ipc::reader::StreamReader::try_new(&ipc[..], None).unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(
        rows as u64,
        r["manifest"]["chunks"][0]["row_count"].as_u64().unwrap()
    );
    // A byte limit truncates, and says so.
    let small = checked(
        &api,
        Method::POST,
        S,
        S,
        json!({
        "statement": "SELECT value FROM range(100000)", "warehouse_id": wh, "wait_timeout": "30s",
        "byte_limit": 1000}),
    )
    .await;
    assert_eq!(small["manifest"]["truncated"], true);
    assert!(small["manifest"]["total_row_count"].as_u64().unwrap() < 100000);
    let link = r["result"]["external_links"][0]["external_link"]
        .as_str()
        .unwrap();
    let path = link.strip_prefix("http://lakeplane.test").unwrap();
    let (status, _) = api.send(Method::GET, path, None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .send(
            Method::GET,
            &path.replace("signature=", "signature=ab"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (StatusCode::FORBIDDEN, Some("PERMISSION_DENIED"))
    );

    // A failure is a 200 with the error; a bad request is not.
    let r = checked(
        &api,
        Method::POST,
        S,
        S,
        json!({"statement": "SELECT * FROM nope", "warehouse_id": wh}),
    )
    .await;
    assert_eq!(
        (
            r["status"]["state"].as_str(),
            r["status"]["error"]["error_code"].as_str()
        ),
        (Some("FAILED"), Some("NOT_FOUND"))
    );
    for bad in [
        json!({"statement": "SELECT 1", "warehouse_id": wh, "wait_timeout": "51s"}),
        json!({"statement": "SELECT 1", "warehouse_id": wh, "format": "XML"}),
        json!({"statement": "SELECT 1", "warehouse_id": wh, "format": "CSV"}),
        json!({"statement": "", "warehouse_id": wh}),
        json!({"statement": "x".repeat(200 * 1024), "warehouse_id": wh}),
    ] {
        let (status, body) = api.call(Method::POST, S, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }

    // Cancel, then close.
    let r = checked(&api, Method::POST, S, S, json!({
        "statement": "SELECT count(*) FROM range(100000000000)", "warehouse_id": wh, "wait_timeout": "0s"})).await;
    let long = r["statement_id"].as_str().unwrap();
    checked(
        &api,
        Method::POST,
        &format!("{S}/{long}/cancel"),
        &format!("{one}/cancel"),
        json!({}),
    )
    .await;
    let got = checked(&api, Method::GET, &format!("{S}/{long}"), &one, json!({})).await;
    assert_eq!(got["status"]["state"], "CANCELED");
    checked(&api, Method::DELETE, &format!("{S}/{id}"), &one, json!({})).await;
    let got = checked(&api, Method::GET, &format!("{S}/{id}"), &one, json!({})).await;
    assert_eq!(got["status"]["state"], "CLOSED");
    assert!(
        api.results.get(id, 0).await.is_err(),
        "a closed statement's chunks are deleted"
    );

    // Another principal sees none of it.
    api.control
        .tokens()
        .add("other-token", "someone-else")
        .await
        .unwrap();
    let (status, _) = api
        .send(Method::GET, &format!("{S}/{id}"), None, Some("other-token"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn on_wait_timeout_cancel_cancels() {
    let api = Api::new().await;
    let _worker = worker(&api);
    let wh = warehouse(&api).await;
    let r = checked(
        &api,
        Method::POST,
        S,
        S,
        json!({
        "statement": "SELECT count(*) FROM range(100000000000)", "warehouse_id": wh,
        "wait_timeout": "5s", "on_wait_timeout": "CANCEL"}),
    )
    .await;
    assert_eq!(r["status"]["state"], "CANCELED", "{r}");
}

//! The Clusters API in-process (records only: no compute acts here): Databricks errors for bad
//! input, wrong states and strangers; both API versions; list filters and event pages.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::Api;

const C: &str = "/api/2.1/clusters";

async fn create(api: &Api, body: serde_json::Value) -> String {
    let (s, b) = api.call(Method::POST, &format!("{C}/create"), body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["cluster_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn bad_input_wrong_states_and_strangers_get_databricks_errors() {
    let api = Api::new().await;
    let bad = StatusCode::BAD_REQUEST;
    for body in [
        json!({"node_type_id": "z9.galactic"}),
        json!({"num_workers": -1}),
        json!({"num_workers": 100000}),
        json!({"autoscale": {"min_workers": 4, "max_workers": 1}}),
        json!({"custom_tags": {"lakeplane:cluster-id": "mine"}}),
        json!({"aws_attributes": {"availability": "CHEAP"}}),
        json!({"aws_attributes": {"spot_bid_price_percent": 0}}),
    ] {
        api.expect_error(
            Method::POST,
            &format!("{C}/create"),
            body,
            bad,
            "INVALID_PARAMETER_VALUE",
        )
        .await;
    }
    api.expect_error(
        Method::POST,
        &format!("{C}/start"),
        json!({}),
        bad,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    let (s, b) = api
        .call(Method::GET, &format!("{C}/get?cluster_id=nope"), json!({}))
        .await;
    assert_eq!(s, bad);
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("Cluster nope does not exist"),
        "{b}"
    );

    let id = create(&api, json!({"cluster_name": "x", "num_workers": 1})).await;
    // Both versions serve it.
    let (s, b) = api
        .call(
            Method::GET,
            &format!("/api/2.0/clusters/get?cluster_id={id}"),
            json!({}),
        )
        .await;
    assert_eq!((s, b["state"].as_str()), (StatusCode::OK, Some("PENDING")));
    api.expect_error(
        Method::POST,
        &format!("{C}/resize"),
        json!({"cluster_id": id}),
        bad,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    api.expect_error(
        Method::POST,
        &format!("{C}/resize"),
        json!({"cluster_id": id, "num_workers": "two"}),
        bad,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    // Terminating (no compute acts here, so it stays so): restart, resize and start are refused.
    let (s, _) = api
        .call(
            Method::POST,
            &format!("{C}/delete"),
            json!({"cluster_id": id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        api.control
            .clusters()
            .get(&id)
            .await
            .unwrap()
            .state
            .as_str(),
        "TERMINATING"
    );
    for (op, extra) in [
        ("restart", json!({})),
        ("resize", json!({"num_workers": 2})),
        ("start", json!({})),
    ] {
        let mut body = json!({"cluster_id": id});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        api.expect_error(
            Method::POST,
            &format!("{C}/{op}"),
            body,
            bad,
            "INVALID_STATE",
        )
        .await;
    }

    // A stranger may read but not change it.
    api.control
        .tokens()
        .add("stranger-token", "eve@x")
        .await
        .unwrap();
    let (s, b) = api
        .send(
            Method::POST,
            &format!("{C}/pin"),
            Some(serde_json::to_vec(&json!({"cluster_id": id})).unwrap()),
            Some("stranger-token"),
        )
        .await;
    assert_eq!(
        (s, b["error_code"].as_str()),
        (StatusCode::FORBIDDEN, Some("PERMISSION_DENIED")),
        "{b}"
    );
    let (s, _) = api
        .send(
            Method::GET,
            &format!("{C}/get?cluster_id={id}"),
            None,
            Some("stranger-token"),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn lists_filter_and_events_page() {
    let api = Api::new().await;
    let a = create(&api, json!({"cluster_name": "a", "num_workers": 0})).await;
    let b = create(&api, json!({"cluster_name": "b", "num_workers": 0})).await;
    api.call(Method::POST, &format!("{C}/pin"), json!({"cluster_id": b}))
        .await;
    api.call(
        Method::POST,
        &format!("{C}/unpin"),
        json!({"cluster_id": b}),
    )
    .await;
    api.call(Method::POST, &format!("{C}/pin"), json!({"cluster_id": b}))
        .await;
    let (_, all) = api
        .call(
            Method::GET,
            &format!("{C}/list?filter_by.cluster_states=PENDING&filter_by.cluster_states=RUNNING"),
            json!({}),
        )
        .await;
    assert_eq!(all["clusters"].as_array().unwrap().len(), 2);
    let (_, pinned) = api
        .call(
            Method::GET,
            &format!("{C}/list?filter_by.is_pinned=true"),
            json!({}),
        )
        .await;
    let ids: Vec<&str> = pinned["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cluster_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![b.as_str()]);
    let (_, none) = api
        .call(
            Method::GET,
            &format!("{C}/list?filter_by.cluster_states=TERMINATED"),
            json!({}),
        )
        .await;
    assert!(none["clusters"].as_array().unwrap().is_empty());
    let (_, page) = api
        .call(Method::GET, &format!("{C}/list?page_size=1"), json!({}))
        .await;
    assert_eq!(
        page["clusters"][0]["cluster_id"].as_str(),
        Some(a.as_str()).min(Some(b.as_str()))
    );
    assert!(page["next_page_token"].is_string());
    // b has CREATING, PINNED, UNPINNED, PINNED: two pages of two.
    let (_, first) = api
        .call(
            Method::POST,
            &format!("{C}/events"),
            json!({"cluster_id": b, "limit": 2}),
        )
        .await;
    assert_eq!(first["total_count"], 4);
    assert_eq!(first["events"][0]["type"], "PINNED");
    let next = first["next_page"].clone();
    let (_, second) = api.call(Method::POST, &format!("{C}/events"), next).await;
    assert_eq!(second["events"].as_array().unwrap().len(), 2);
    assert_eq!(second["events"][1]["type"], "CREATING");
    assert!(second.get("next_page").is_none());
    api.expect_error(
        Method::POST,
        &format!("{C}/events"),
        json!({"cluster_id": b, "event_types": ["NOPE"]}),
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
    )
    .await;
    let (_, types) = api
        .call(Method::GET, &format!("{C}/list-node-types"), json!({}))
        .await;
    assert!(types["node_types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["node_type_id"] == "m5.xlarge"));
}

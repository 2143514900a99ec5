//! The Clusters API's reads: get, list, events, and the catalogs of versions, node types and zones.

use axum::extract::{RawQuery, State};
use lakeplane_control::clusters::EventFilter;
use lakeplane_control::PageRequest;
use lakeplane_core::cluster::{node_types, EventType, RUNTIME_VERSIONS};
use lakeplane_http::extract::Json;
use lakeplane_http::{ApiError, ApiResult, AppState};
use serde_json::{json, Value};

use super::handlers::{existing, required};
use super::wire::*;
use crate::Errors;

/// The most clusters one list page holds.
const MAX_PAGE: usize = 100;
/// The most events one page holds.
const MAX_EVENTS_PAGE: usize = 500;

/// Get a cluster.
#[utoipa::path(operation_id = "clusters_get", get, path = "/api/2.1/clusters/get", tag = "Clusters",
    params(("cluster_id" = String, Query, description = "The cluster")),
    responses((status = 200, body = Object), Errors))]
pub async fn get(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<axum::Json<Value>> {
    let params = query(q.as_deref());
    let id = required(first(&params, "cluster_id"))?;
    let view = app
        .control
        .clusters()
        .view(&id)
        .await
        .map_err(|_| ApiError::invalid(format!("Cluster {id} does not exist")))?;
    Ok(axum::Json(details(&view)))
}

fn query(q: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn first(params: &[(String, String)], key: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// List clusters, by id, filtered by state, source and pinning.
#[utoipa::path(operation_id = "clusters_list", get, path = "/api/2.1/clusters/list", tag = "Clusters",
    params(("page_size" = Option<u32>, Query, description = "Clusters per page"),
        ("page_token" = Option<String>, Query, description = "The page to read"),
        ("filter_by.cluster_states" = Option<String>, Query, description = "States (repeatable)"),
        ("filter_by.cluster_sources" = Option<String>, Query, description = "Sources (repeatable)"),
        ("filter_by.is_pinned" = Option<bool>, Query, description = "Only pinned ones")),
    responses((status = 200, body = ListClustersResponse), Errors))]
pub async fn list(
    State(app): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<axum::Json<ListClustersResponse>> {
    let params = query(q.as_deref());
    let all = |key: &str| -> Vec<String> {
        params
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.to_ascii_uppercase())
            .collect()
    };
    let states = all("filter_by.cluster_states");
    let sources = all("filter_by.cluster_sources");
    let pinned = first(&params, "filter_by.is_pinned").map(|v| v.eq_ignore_ascii_case("true"));
    let limit = match first(&params, "page_size").map(|s| s.parse::<usize>()) {
        None => MAX_PAGE,
        Some(Ok(n)) => n.clamp(1, MAX_PAGE),
        Some(Err(_)) => return Err(ApiError::invalid("page_size must be a number")),
    };
    let page = PageRequest {
        limit,
        offset: 0,
        page_token: first(&params, "page_token").filter(|t| !t.is_empty()),
    };
    let listed = app
        .control
        .clusters()
        .list(&page, |c| {
            (states.is_empty() || states.iter().any(|s| s == c.state.as_str()))
                && (sources.is_empty()
                    || sources.iter().any(|s| {
                        Some(s.as_str())
                            == serde_json::to_value(c.cluster_source)
                                .ok()
                                .as_ref()
                                .and_then(Value::as_str)
                    }))
                && pinned.is_none_or(|p| c.pinned == p)
        })
        .await?;
    let mut clusters = Vec::with_capacity(listed.items.len());
    for c in listed.items {
        let view = app.control.clusters().view(&c.cluster_id).await?;
        clusters.push(details(&view));
    }
    Ok(axum::Json(ListClustersResponse {
        clusters,
        next_page_token: listed.next_page_token,
    }))
}

/// A cluster's events, newest first; `next_page` is the request for the next page.
#[utoipa::path(operation_id = "clusters_events", post, path = "/api/2.1/clusters/events", tag = "Clusters",
    request_body = EventsBody, responses((status = 200, body = EventsResponse), Errors))]
pub async fn events(
    State(app): State<AppState>,
    Json(body): Json<EventsBody>,
) -> ApiResult<axum::Json<EventsResponse>> {
    let id = required(body.cluster_id.clone())?;
    existing(&app, &id).await?;
    let mut kinds = Vec::new();
    for t in &body.event_types {
        kinds.push(
            serde_json::from_value::<EventType>(Value::String(t.clone()))
                .map_err(|_| ApiError::invalid(format!("event_types: unknown type {t}")))?,
        );
    }
    let offset = body.offset.unwrap_or(0);
    let limit = body
        .limit
        .or(body.page_size)
        .unwrap_or(50)
        .clamp(1, MAX_EVENTS_PAGE);
    let filter = EventFilter {
        start_time: body.start_time,
        end_time: body.end_time,
        kinds,
        oldest_first: body
            .order
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case("ASC")),
        offset,
        limit,
    };
    let (events, total) = app.control.clusters().events(&id, &filter).await?;
    let next_page = (offset + events.len() < total).then(|| json!({
        "cluster_id": id, "start_time": body.start_time, "end_time": body.end_time,
        "order": body.order, "event_types": body.event_types, "offset": offset + events.len(), "limit": limit,
    }));
    Ok(axum::Json(EventsResponse {
        events,
        next_page,
        total_count: total,
    }))
}

/// lakeplane's runtime versions.
#[utoipa::path(operation_id = "clusters_spark_versions", get, path = "/api/2.1/clusters/spark-versions", tag = "Clusters",
    responses((status = 200, body = Object), Errors))]
pub async fn spark_versions() -> axum::Json<Value> {
    let versions: Vec<Value> = RUNTIME_VERSIONS
        .iter()
        .map(|(k, n)| json!({"key": k, "name": n}))
        .collect();
    axum::Json(json!({ "versions": versions }))
}

/// The node types clusters may use (EC2 instance types).
#[utoipa::path(operation_id = "clusters_list_node_types", get, path = "/api/2.1/clusters/list-node-types", tag = "Clusters",
    responses((status = 200, body = Object), Errors))]
pub async fn list_node_types() -> axum::Json<Value> {
    let types: Vec<Value> = node_types::NODE_TYPES.iter().map(|t| json!({
        "node_type_id": t.node_type_id, "instance_type_id": t.node_type_id,
        "memory_mb": t.memory_mb, "num_cores": t.num_cores, "category": t.category,
        "description": format!("{} ({} cores, {} GiB)", t.node_type_id, t.num_cores, t.memory_mb / 1024),
        "is_deprecated": false, "is_hidden": false, "support_port_forwarding": true,
        "node_info": {"status": []},
        "on_demand_price_per_hour_usd": t.on_demand_per_hour,
    })).collect();
    axum::Json(json!({ "node_types": types }))
}

/// Availability zones: `auto` lets EC2 choose.
#[utoipa::path(operation_id = "clusters_list_zones", get, path = "/api/2.1/clusters/list-zones", tag = "Clusters",
    responses((status = 200, body = Object), Errors))]
pub async fn list_zones() -> axum::Json<Value> {
    axum::Json(json!({ "zones": ["auto"], "default_zone": "auto" }))
}

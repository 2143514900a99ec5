//! `/api/2.1/clusters/*` (and `/api/2.0/clusters/*`): each handler writes what is asked and has
//! the reconciler act on the cluster at once, so that states move on the SDK's first polls.

use axum::extract::{RawQuery, State};
use axum::Extension;
use lakeplane_control::clusters::EventFilter;
use lakeplane_control::{ClusterReconciler, PageRequest, Principal};
use lakeplane_core::cluster::{
    node_types, Autoscale, ClusterSource, ClusterSpec, EventType, TerminationReason,
    RUNTIME_VERSIONS,
};
use lakeplane_http::extract::Json;
use lakeplane_http::{ApiError, ApiResult, AppState};
use serde_json::{json, Map, Value};

use super::wire::*;
use crate::Errors;

/// The most clusters one list page holds.
const MAX_PAGE: usize = 100;
/// The most events one page holds.
const MAX_EVENTS_PAGE: usize = 500;

/// What the clusters area needs besides the control plane.
#[derive(Debug, Clone)]
pub struct ClusterServices {
    /// Acts on a cluster right after a change; `None` leaves it to the next sweep.
    pub reconciler: Option<ClusterReconciler>,
}

async fn kick(services: &ClusterServices, id: &str) {
    if let Some(r) = &services.reconciler {
        if let Err(e) = r.reconcile(id).await {
            tracing::warn!(cluster_id = id, error = %e, "reconciling after a change failed; the next sweep tries again");
        }
    }
}

fn required(id: Option<String>) -> ApiResult<String> {
    id.filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("cluster_id is required"))
}

/// Missing clusters are answered as Databricks does (400, "Cluster X does not exist"), which the
/// SDK reads as `ResourceDoesNotExist`.
async fn existing(app: &AppState, id: &str) -> ApiResult<lakeplane_core::cluster::Cluster> {
    app.control
        .clusters()
        .get(id)
        .await
        .map_err(|_| ApiError::invalid(format!("Cluster {id} does not exist")))
}

/// Managing a cluster is its creator's or an admin's.
async fn require_manager(app: &AppState, who: &Principal, id: &str) -> ApiResult<()> {
    let c = existing(app, id).await?;
    if c.creator_user_name == who.user_name
        || app.control.principals().is_admin(&who.user_name).await?
    {
        return Ok(());
    }
    Err(ApiError::permission_denied(format!(
        "Only the creator of cluster {id} or an admin may change it."
    )))
}

fn spec_from(mut body: Map<String, Value>) -> ApiResult<ClusterSpec> {
    for field in ["cluster_id", "clone_from", "apply_policy_default_values"] {
        body.remove(field);
    }
    ClusterSpec::from_json(Value::Object(body)).map_err(|e| ApiError::invalid(e.to_string()))
}

/// Create a cluster; it is PENDING until its driver's worker reports in, then RUNNING.
#[utoipa::path(operation_id = "clusters_create", post, path = "/api/2.1/clusters/create", tag = "Clusters",
    request_body = Object, responses((status = 200, body = CreateClusterResponse), Errors))]
pub async fn create(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(services): Extension<ClusterServices>,
    Json(Object(body)): Json<Object>,
) -> ApiResult<axum::Json<CreateClusterResponse>> {
    let mut spec = spec_from(body.clone())?;
    if let Some(from) = body
        .get("clone_from")
        .and_then(|c| c.get("source_cluster_id"))
        .and_then(Value::as_str)
    {
        let source = existing(&app, from).await?;
        let mut merged = serde_json::to_value(&source.spec).unwrap_or_default();
        if let (Value::Object(m), Ok(Value::Object(ours))) =
            (&mut merged, serde_json::to_value(&spec))
        {
            m.extend(ours);
        }
        spec = ClusterSpec::from_json(merged).map_err(|e| ApiError::invalid(e.to_string()))?;
    }
    let c = app
        .control
        .clusters()
        .create(spec, &who.user_name, ClusterSource::Api)
        .await?;
    kick(&services, &c.cluster_id).await;
    Ok(axum::Json(CreateClusterResponse {
        cluster_id: c.cluster_id,
    }))
}

/// Replace a cluster's spec; a running cluster restarts with it.
#[utoipa::path(operation_id = "clusters_edit", post, path = "/api/2.1/clusters/edit", tag = "Clusters",
    request_body = Object, responses((status = 200, body = Empty), Errors))]
pub async fn edit(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(services): Extension<ClusterServices>,
    Json(Object(body)): Json<Object>,
) -> ApiResult<axum::Json<Empty>> {
    let id = required(
        body.get("cluster_id")
            .and_then(Value::as_str)
            .map(str::to_string),
    )?;
    require_manager(&app, &who, &id).await?;
    let spec = spec_from(body)?;
    app.control
        .clusters()
        .edit(&id, spec, &who.user_name)
        .await?;
    kick(&services, &id).await;
    Ok(axum::Json(Empty {}))
}

/// Change the fields of a cluster's spec that `update_mask` names.
#[utoipa::path(operation_id = "clusters_update", post, path = "/api/2.1/clusters/update", tag = "Clusters",
    request_body = Object, responses((status = 200, body = Empty), Errors))]
pub async fn update(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(services): Extension<ClusterServices>,
    Json(Object(body)): Json<Object>,
) -> ApiResult<axum::Json<Empty>> {
    let id = required(
        body.get("cluster_id")
            .and_then(Value::as_str)
            .map(str::to_string),
    )?;
    require_manager(&app, &who, &id).await?;
    let current = existing(&app, &id).await?;
    let mask = body
        .get("update_mask")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let given = body
        .get("cluster")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut spec = match serde_json::to_value(&current.spec) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for field in mask.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        match given.get(field) {
            Some(v) => spec.insert(field.to_string(), v.clone()),
            None => spec.remove(field),
        };
    }
    let spec = spec_from(spec)?;
    spec.validate()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    app.control
        .clusters()
        .edit(&id, spec, &who.user_name)
        .await?;
    kick(&services, &id).await;
    Ok(axum::Json(Empty {}))
}

macro_rules! simple {
    ($name:ident, $path:literal, $doc:literal, |$app:ident, $who:ident, $id:ident, $body:ident| $act:expr) => {
        #[doc = $doc]
        #[utoipa::path(operation_id = concat!("clusters_", stringify!($name)), post, path = $path, tag = "Clusters",
            request_body = ClusterIdBody, responses((status = 200, body = Empty), Errors))]
        pub async fn $name(
            State($app): State<AppState>,
            Extension($who): Extension<Principal>,
            Extension(services): Extension<ClusterServices>,
            Json($body): Json<ClusterIdBody>,
        ) -> ApiResult<axum::Json<Empty>> {
            let $id = required($body.cluster_id.clone())?;
            require_manager(&$app, &$who, &$id).await?;
            $act;
            kick(&services, &$id).await;
            Ok(axum::Json(Empty {}))
        }
    };
}

simple!(
    start,
    "/api/2.1/clusters/start",
    "Start a terminated cluster.",
    |app, who, id, _b| { app.control.clusters().start(&id, &who.user_name).await? }
);
simple!(
    restart,
    "/api/2.1/clusters/restart",
    "Restart a cluster on new nodes.",
    |app, who, id, _b| { app.control.clusters().restart(&id, &who.user_name).await? }
);
simple!(
    delete,
    "/api/2.1/clusters/delete",
    "Terminate a cluster (it stays listed).",
    |app, who, id, _b| {
        app.control
            .clusters()
            .terminate(&id, TerminationReason::user_request(&who.user_name))
            .await?
    }
);
simple!(
    permanent_delete,
    "/api/2.1/clusters/permanent-delete",
    "Terminate and forget a cluster.",
    |app, who, id, _b| {
        app.control
            .clusters()
            .permanent_delete(&id, &who.user_name)
            .await?
    }
);
simple!(
    pin,
    "/api/2.1/clusters/pin",
    "Pin a cluster.",
    |app, who, id, _b| {
        app.control
            .clusters()
            .pin(&id, true, &who.user_name)
            .await?
    }
);
simple!(
    unpin,
    "/api/2.1/clusters/unpin",
    "Unpin a cluster.",
    |app, who, id, _b| {
        app.control
            .clusters()
            .pin(&id, false, &who.user_name)
            .await?
    }
);
simple!(
    change_owner,
    "/api/2.1/clusters/change-owner",
    "Give a cluster another owner.",
    |app, who, id, b| {
        let owner = b
            .owner_username
            .clone()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| ApiError::invalid("owner_username is required"))?;
        if !app.control.principals().is_admin(&who.user_name).await? {
            return Err(ApiError::permission_denied(
                "Only an admin may change a cluster's owner.",
            ));
        }
        app.control.clusters().change_owner(&id, &owner).await?
    }
);

/// Resize a cluster: `num_workers`, or an `autoscale` range.
#[utoipa::path(operation_id = "clusters_resize", post, path = "/api/2.1/clusters/resize", tag = "Clusters",
    request_body = Object, responses((status = 200, body = Empty), Errors))]
pub async fn resize(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Extension(services): Extension<ClusterServices>,
    Json(Object(body)): Json<Object>,
) -> ApiResult<axum::Json<Empty>> {
    let id = required(
        body.get("cluster_id")
            .and_then(Value::as_str)
            .map(str::to_string),
    )?;
    require_manager(&app, &who, &id).await?;
    let num_workers = match body.get("num_workers") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| ApiError::invalid("num_workers must be a non-negative integer"))?,
        ),
    };
    let autoscale = match body.get("autoscale") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<Autoscale>(v.clone())
                .map_err(|e| ApiError::invalid(format!("autoscale: {e}")))?,
        ),
    };
    app.control
        .clusters()
        .resize(&id, num_workers, autoscale, &who.user_name)
        .await?;
    kick(&services, &id).await;
    Ok(axum::Json(Empty {}))
}

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

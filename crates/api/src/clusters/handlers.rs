//! The Clusters API's changes: each handler writes what is asked and has the reconciler act on the
//! cluster at once, so that states move on the SDK's first polls. Reads are in `reads`.

use axum::extract::State;
use axum::Extension;
use lakeplane_control::{ClusterReconciler, Principal};
use lakeplane_core::cluster::{Autoscale, ClusterSource, ClusterSpec, TerminationReason};
use lakeplane_http::extract::Json;
use lakeplane_http::{ApiError, ApiResult, AppState};
use serde_json::{Map, Value};

use super::wire::*;
use crate::Errors;

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

pub(super) fn required(id: Option<String>) -> ApiResult<String> {
    id.filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("cluster_id is required"))
}

/// Missing clusters are answered as Databricks does (400, "Cluster X does not exist"), which the
/// SDK reads as `ResourceDoesNotExist`.
pub(super) async fn existing(
    app: &AppState,
    id: &str,
) -> ApiResult<lakeplane_core::cluster::Cluster> {
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

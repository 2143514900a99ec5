//! `/api/2.0/sql/sessions`: what `databricks-sql-connector` opens with `use_sea=True` or
//! `use_kernel=True`.

use axum::extract::State;
use axum::Extension;
use lakeplane_control::Principal;
use lakeplane_http::extract::{Json, PathParam};
use lakeplane_http::{ApiResult, AppState};

use super::wire::*;
use crate::Errors;

/// Open a session on a warehouse (started if stopped).
#[utoipa::path(operation_id = "sessions_create", post, path = "/api/2.0/sql/sessions", tag = "Statement Execution",
    request_body = CreateSession, responses((status = 200, body = SessionResponse), Errors))]
pub async fn create(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<CreateSession>,
) -> ApiResult<axum::Json<SessionResponse>> {
    let warehouse = app.control.warehouses().usable(&body.warehouse_id).await?;
    app.control.warehouses().start(&warehouse.id).await?;
    let session = app
        .control
        .sessions()
        .create(
            &warehouse.id,
            &who.user_name,
            body.catalog.filter(|c| !c.is_empty()),
            body.schema.filter(|s| !s.is_empty()),
            body.session_confs.unwrap_or_default(),
        )
        .await?;
    Ok(axum::Json(SessionResponse {
        session_id: session.id,
    }))
}

/// Close a session.
#[utoipa::path(operation_id = "sessions_delete", delete, path = "/api/2.0/sql/sessions/{id}", tag = "Statement Execution",
    params(("id" = String, Path, description = "The session's id")),
    responses((status = 200, body = Empty), Errors))]
pub async fn delete(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Empty>> {
    app.control.sessions().delete(&id, &who.user_name).await?;
    Ok(axum::Json(Empty {}))
}

/// The feature flags the connector asks for: none (its defaults apply).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FeatureFlags {
    pub flags: Vec<FeatureFlag>,
    pub ttl_seconds: u64,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FeatureFlag {
    pub name: String,
    pub value: String,
}

/// The SQL connector's feature flags (it asks at connect time): none, so its defaults apply.
#[utoipa::path(operation_id = "connector_feature_flags", get, path = "/api/2.0/connector-service/feature-flags/{client}/{id}",
    tag = "Statement Execution",
    params(("client" = String, Path, description = "PYTHON, …"), ("id" = String, Path, description = "The connector's version")),
    responses((status = 200, body = FeatureFlags), Errors))]
pub async fn feature_flags() -> axum::Json<FeatureFlags> {
    axum::Json(FeatureFlags {
        flags: vec![],
        ttl_seconds: 3600,
    })
}

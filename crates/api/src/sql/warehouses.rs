//! `/api/2.0/sql/warehouses`: create, get, list, edit, start, stop, delete.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Extension;
use lakeplane_control::{PageRequest, Principal};
use lakeplane_http::extract::{lenient, Json, PathParam, Query};
use lakeplane_http::{ApiError, ApiResult, AppState};
use serde::Deserialize;

use super::warehouse_wire::*;
use super::wire::Empty;
use super::SqlServices;
use crate::Errors;

/// The host clients reached this API at (for `odbc_params`), without its port.
fn host(headers: &HeaderMap) -> String {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.rsplit_once(':').map_or(h, |(host, _)| host).to_string())
        .unwrap_or_else(|| "localhost".into())
}

/// Create a warehouse; it starts at once (STARTING, then RUNNING).
#[utoipa::path(operation_id = "warehouses_create", post, path = "/api/2.0/sql/warehouses", tag = "Warehouses",
    request_body = WarehouseBody, responses((status = 200, body = CreateWarehouseResponse), Errors))]
pub async fn create(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<WarehouseBody>,
) -> ApiResult<axum::Json<CreateWarehouseResponse>> {
    let spec = body.spec(None).map_err(ApiError::invalid)?;
    let w = app
        .control
        .warehouses()
        .create(spec, &who.user_name)
        .await?;
    Ok(axum::Json(CreateWarehouseResponse { id: w.id }))
}

/// Where this process is the compute (the `sql` function runs statements itself), it moves
/// warehouses on as a worker pool would: a starting one runs, an idle one stops.
async fn serve(app: &AppState, sql: &SqlServices) -> ApiResult<()> {
    if sql.moves_warehouses {
        app.control
            .warehouses()
            .serve(lakeplane_control::time::now_ms())
            .await?;
    }
    Ok(())
}

/// Get a warehouse.
#[utoipa::path(operation_id = "warehouses_get", get, path = "/api/2.0/sql/warehouses/{id}", tag = "Warehouses",
    params(("id" = String, Path, description = "The warehouse's id")),
    responses((status = 200, body = WarehouseResponse), Errors))]
pub async fn get(
    State(app): State<AppState>,
    Extension(sql): Extension<SqlServices>,
    headers: HeaderMap,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<WarehouseResponse>> {
    serve(&app, &sql).await?;
    let w = app.control.warehouses().get(&id).await?;
    Ok(axum::Json(WarehouseResponse::new(&w, &host(&headers))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListWarehouses {
    /// 1–1000, default 100.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub page_size: Option<u64>,
    #[serde(default)]
    pub page_token: Option<String>,
    /// Accepted and ignored.
    #[serde(default)]
    #[allow(dead_code)] // accepted and ignored
    pub run_as_user_id: Option<String>,
}

/// List the warehouses.
#[utoipa::path(operation_id = "warehouses_list", get, path = "/api/2.0/sql/warehouses", tag = "Warehouses",
    params(ListWarehouses), responses((status = 200, body = ListWarehousesResponse), Errors))]
pub async fn list(
    State(app): State<AppState>,
    Extension(sql): Extension<SqlServices>,
    headers: HeaderMap,
    Query(q): Query<ListWarehouses>,
) -> ApiResult<axum::Json<ListWarehousesResponse>> {
    serve(&app, &sql).await?;
    let limit = match q.page_size {
        None | Some(0) => 100,
        Some(n) => n.min(1000) as usize,
    };
    let page = app
        .control
        .warehouses()
        .list(&PageRequest {
            limit,
            page_token: q.page_token.filter(|t| !t.is_empty()),
            offset: 0,
        })
        .await?;
    let host = host(&headers);
    Ok(axum::Json(ListWarehousesResponse {
        warehouses: page
            .items
            .iter()
            .map(|w| WarehouseResponse::new(w, &host))
            .collect(),
        next_page_token: page.next_page_token,
    }))
}

/// Edit a warehouse; fields left out keep their values. A stopped warehouse starts.
#[utoipa::path(operation_id = "warehouses_edit", post, path = "/api/2.0/sql/warehouses/{id}/edit", tag = "Warehouses",
    params(("id" = String, Path, description = "The warehouse's id")), request_body = WarehouseBody,
    responses((status = 200, body = Empty), Errors))]
pub async fn edit(
    State(app): State<AppState>,
    PathParam(id): PathParam,
    Json(body): Json<WarehouseBody>,
) -> ApiResult<axum::Json<Empty>> {
    let current = app.control.warehouses().get(&id).await?;
    let spec = body.spec(Some(&current.spec)).map_err(ApiError::invalid)?;
    app.control.warehouses().edit(&id, spec).await?;
    Ok(axum::Json(Empty {}))
}

/// Start a warehouse.
#[utoipa::path(operation_id = "warehouses_start", post, path = "/api/2.0/sql/warehouses/{id}/start", tag = "Warehouses",
    params(("id" = String, Path, description = "The warehouse's id")),
    responses((status = 200, body = Empty), Errors))]
pub async fn start(
    State(app): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Empty>> {
    app.control.warehouses().start(&id).await?;
    Ok(axum::Json(Empty {}))
}

/// Stop a warehouse; statements waiting in its queue are cancelled.
#[utoipa::path(operation_id = "warehouses_stop", post, path = "/api/2.0/sql/warehouses/{id}/stop", tag = "Warehouses",
    params(("id" = String, Path, description = "The warehouse's id")),
    responses((status = 200, body = Empty), Errors))]
pub async fn stop(
    State(app): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Empty>> {
    app.control.warehouses().stop(&id).await?;
    Ok(axum::Json(Empty {}))
}

/// Delete a warehouse.
#[utoipa::path(operation_id = "warehouses_delete", delete, path = "/api/2.0/sql/warehouses/{id}", tag = "Warehouses",
    params(("id" = String, Path, description = "The warehouse's id")),
    responses((status = 200, body = Empty), Errors))]
pub async fn delete(
    State(app): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Empty>> {
    app.control.warehouses().delete(&id).await?;
    Ok(axum::Json(Empty {}))
}

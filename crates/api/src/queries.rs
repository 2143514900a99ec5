//! The Queries API subset a `sql_task` references (`/api/2.0/sql/queries`).

use axum::extract::State;
use axum::http::Method;
use axum::Extension;
use lakeplane_control::{NewQuery, PageRequest, Principal, SavedQuery};
use lakeplane_http::extract::{lenient, Json, PathParam, Query};
use lakeplane_http::{ApiResult, AppState, Area, Routes};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::Errors;

const PREFIX: &str = "/api/2.0/sql/queries";

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, delete))]
struct QueriesDoc;

/// The Queries area.
pub fn area() -> Area {
    let routes = Routes::new()
        .route(Method::POST, PREFIX, axum::routing::post(create))
        .route(Method::GET, PREFIX, axum::routing::get(list))
        .route(
            Method::GET,
            &format!("{PREFIX}/{{id}}"),
            axum::routing::get(get),
        )
        .route(
            Method::DELETE,
            &format!("{PREFIX}/{{id}}"),
            axum::routing::delete(delete),
        );
    Area::new(routes, <QueriesDoc as utoipa::OpenApi>::openapi())
}

/// `{"query": {...}}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateQuery {
    pub query: QuerySpec,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct QuerySpec {
    #[serde(default)]
    pub display_name: Option<String>,
    pub query_text: String,
    #[serde(default)]
    pub warehouse_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A saved query.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueryResponse {
    pub id: String,
    pub display_name: String,
    pub query_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warehouse_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub owner_user_name: String,
    pub last_modifier_user_name: String,
    /// RFC 3339.
    pub create_time: String,
    /// RFC 3339.
    pub update_time: String,
    pub lifecycle_state: String,
}

impl From<&SavedQuery> for QueryResponse {
    fn from(q: &SavedQuery) -> QueryResponse {
        QueryResponse {
            id: q.id.clone(),
            display_name: q.display_name.clone(),
            query_text: q.query_text.clone(),
            warehouse_id: q.warehouse_id.clone(),
            description: q.description.clone(),
            owner_user_name: q.owner_user_name.clone(),
            last_modifier_user_name: q.owner_user_name.clone(),
            create_time: crate::rfc3339(q.created_ms),
            update_time: crate::rfc3339(q.updated_ms),
            lifecycle_state: "ACTIVE".into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListQueriesResponse {
    pub results: Vec<QueryResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQueries {
    /// 1–100, default 20.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub page_size: Option<u64>,
    #[serde(default)]
    pub page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {}

/// Save a query.
#[utoipa::path(operation_id = "queries_create", post, path = "/api/2.0/sql/queries", tag = "Queries", request_body = CreateQuery,
    responses((status = 200, body = QueryResponse), Errors))]
async fn create(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<CreateQuery>,
) -> ApiResult<axum::Json<QueryResponse>> {
    let q = body.query;
    let saved = app
        .control
        .queries()
        .create(
            NewQuery {
                display_name: q.display_name.unwrap_or_else(|| "New Query".into()),
                query_text: q.query_text,
                warehouse_id: q.warehouse_id,
                description: q.description,
            },
            &who.user_name,
        )
        .await?;
    Ok(axum::Json(QueryResponse::from(&saved)))
}

/// Get a saved query.
#[utoipa::path(operation_id = "queries_get", get, path = "/api/2.0/sql/queries/{id}", tag = "Queries",
    params(("id" = String, Path, description = "The query's id")),
    responses((status = 200, body = QueryResponse), Errors))]
async fn get(
    State(app): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<QueryResponse>> {
    Ok(axum::Json(QueryResponse::from(
        &app.control.queries().get(&id).await?,
    )))
}

/// List saved queries.
#[utoipa::path(operation_id = "queries_list", get, path = "/api/2.0/sql/queries", tag = "Queries", params(ListQueries),
    responses((status = 200, body = ListQueriesResponse), Errors))]
async fn list(
    State(app): State<AppState>,
    Query(q): Query<ListQueries>,
) -> ApiResult<axum::Json<ListQueriesResponse>> {
    let limit = match q.page_size {
        None | Some(0) => 20,
        Some(n) => n.min(100) as usize,
    };
    let request = PageRequest {
        limit,
        page_token: q.page_token.filter(|t| !t.is_empty()),
        offset: 0,
    };
    let page = app.control.queries().list(&request).await?;
    Ok(axum::Json(ListQueriesResponse {
        results: page.items.iter().map(QueryResponse::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// Delete a saved query.
#[utoipa::path(operation_id = "queries_delete", delete, path = "/api/2.0/sql/queries/{id}", tag = "Queries",
    params(("id" = String, Path, description = "The query's id")),
    responses((status = 200, body = Deleted), Errors))]
async fn delete(
    State(app): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<axum::Json<Deleted>> {
    app.control.queries().delete(&id).await?;
    Ok(axum::Json(Deleted {}))
}

//! The Queries API subset a `sql_task` references (`/api/2.0/sql/queries`).

use axum::extract::{Path, State};
use axum::http::Method;
use axum::{Extension, Json};
use lakeplane_control::Principal;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params};
use crate::{render, AppState, Routes};

const PREFIX: &str = "/api/2.0/sql/queries";

pub fn routes() -> Routes {
    Routes::new()
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
        )
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    query_text: Option<String>,
    #[serde(default)]
    warehouse_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

async fn create(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let q: NewQuery = body
        .opt("query")?
        .ok_or_else(|| ApiError::invalid("Missing required field: query"))?;
    let text = q
        .query_text
        .ok_or_else(|| ApiError::invalid("Missing required field: query.query_text"))?;
    let saved = app
        .control
        .create_query(
            q.display_name.unwrap_or_else(|| "New Query".into()),
            text,
            q.warehouse_id,
            q.description,
            &who.user_name,
        )
        .await?;
    Ok(Json(render::query(&saved)))
}

async fn get(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(render::query(&app.control.get_query(&id).await?)))
}

async fn list(State(app): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    let size = match params.opt_u64("page_size")? {
        None | Some(0) => 20,
        Some(n) => n.min(100) as usize,
    };
    let page = app
        .control
        .list_queries(size, params.str("page_token").filter(|t| !t.is_empty()))
        .await?;
    let mut out = json!({ "results": page.items.iter().map(render::query).collect::<Vec<_>>() });
    if let Some(t) = page.next_page_token {
        out["next_page_token"] = json!(t);
    }
    Ok(Json(out))
}

async fn delete(State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    app.control.delete_query(&id).await?;
    Ok(Json(json!({})))
}

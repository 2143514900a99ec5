//! MLflow 3's logged models (`/api/2.0/mlflow/logged-models…`).

use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json};
use lakeplane_control::mlflow::logged::NewLoggedModel;
use lakeplane_control::Principal;
use lakeplane_core::mlflow::artifacts::FileInfo;
use lakeplane_core::mlflow::logged::LoggedModel;
use lakeplane_core::mlflow::KeyValue;
use lakeplane_http::extract::PathParam;
use lakeplane_http::{ApiError, ApiResult, AppState, Routes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{at, lenient, search, Empty, Input, MlflowServices};
use crate::Errors;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create,
    get_logged,
    finalize,
    delete_logged,
    search_logged,
    set_tags,
    delete_logged_tag,
    log_params,
    list_files
))]
pub(super) struct Doc;

pub(super) fn routes() -> Routes {
    Routes::new()
        .route(Method::POST, &at("logged-models"), post(create))
        .route(Method::GET, &at("logged-models/{id}"), get(get_logged))
        .route(Method::PATCH, &at("logged-models/{id}"), patch(finalize))
        .route(
            Method::DELETE,
            &at("logged-models/{id}"),
            delete(delete_logged),
        )
        .route(
            Method::POST,
            &at("logged-models/search"),
            post(search_logged),
        )
        .route(
            Method::PATCH,
            &at("logged-models/{id}/tags"),
            patch(set_tags),
        )
        .route(
            Method::DELETE,
            &at("logged-models/{id}/tags/{key}"),
            delete(delete_logged_tag),
        )
        .route(
            Method::POST,
            &at("logged-models/{id}/params"),
            post(log_params),
        )
        .route(
            Method::GET,
            &at("logged-models/{id}/artifacts/directories"),
            get(list_files),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateLoggedModel {
    #[serde(deserialize_with = "lenient::text")]
    experiment_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    source_run_id: Option<String>,
    #[serde(default)]
    params: Vec<KeyValue>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelAnswer {
    model: LoggedModel,
}

/// Create a logged model (pending until finalized).
#[utoipa::path(post, path = "/api/2.0/mlflow/logged-models", tag = "MLflow", request_body = CreateLoggedModel,
    responses((status = 200, body = ModelAnswer), Errors))]
async fn create(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Input(b): Input<CreateLoggedModel>,
) -> ApiResult<Json<ModelAnswer>> {
    let new = NewLoggedModel {
        experiment_id: b.experiment_id,
        name: b.name,
        model_type: b.model_type,
        source_run_id: b.source_run_id,
        params: b.params,
        tags: b.tags,
    };
    Ok(Json(ModelAnswer {
        model: app
            .control
            .mlflow()
            .create_logged_model(new, &who.user_name)
            .await?,
    }))
}

#[utoipa::path(get, path = "/api/2.0/mlflow/logged-models/{id}", tag = "MLflow", params(("id" = String, Path)),
    responses((status = 200, body = ModelAnswer), Errors))]
async fn get_logged(
    State(app): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Json<ModelAnswer>> {
    Ok(Json(ModelAnswer {
        model: app.control.mlflow().logged_model(&id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Finalize {
    status: String,
}

/// Finalize a logged model: `LOGGED_MODEL_READY` or `LOGGED_MODEL_UPLOAD_FAILED`.
#[utoipa::path(patch, path = "/api/2.0/mlflow/logged-models/{id}", tag = "MLflow", params(("id" = String, Path)), request_body = Finalize,
    responses((status = 200, body = ModelAnswer), Errors))]
async fn finalize(
    State(app): State<AppState>,
    PathParam(id): PathParam,
    Input(b): Input<Finalize>,
) -> ApiResult<Json<ModelAnswer>> {
    Ok(Json(ModelAnswer {
        model: app
            .control
            .mlflow()
            .finalize_logged_model(&id, &b.status)
            .await?,
    }))
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/logged-models/{id}", tag = "MLflow", params(("id" = String, Path)),
    responses((status = 200, body = Empty), Errors))]
async fn delete_logged(
    State(app): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Json<Empty>> {
    app.control.mlflow().delete_logged_model(&id).await?;
    Ok(Json(Empty {}))
}

/// One `order_by` entry of a logged-model search.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderBy {
    field_name: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    ascending: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SearchModels {
    #[serde(default, deserialize_with = "lenient::list")]
    experiment_ids: Vec<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_usize")]
    max_results: Option<usize>,
    #[serde(default)]
    order_by: Vec<OrderBy>,
    #[serde(default)]
    page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Models {
    models: Vec<LoggedModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

#[utoipa::path(post, path = "/api/2.0/mlflow/logged-models/search", tag = "MLflow", request_body = SearchModels,
    responses((status = 200, body = Models), Errors))]
async fn search_logged(
    State(app): State<AppState>,
    Input(b): Input<SearchModels>,
) -> ApiResult<Json<Models>> {
    let order = b
        .order_by
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o.field_name,
                if o.ascending.unwrap_or(true) {
                    "ASC"
                } else {
                    "DESC"
                }
            )
        })
        .collect();
    let page = app
        .control
        .mlflow()
        .search_logged_models(
            &b.experiment_ids,
            &search(b.filter, order, b.max_results, b.page_token),
        )
        .await?;
    Ok(Json(Models {
        models: page.items,
        next_page_token: page.next_page_token,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Tags {
    #[serde(default)]
    tags: Vec<KeyValue>,
}

#[utoipa::path(patch, path = "/api/2.0/mlflow/logged-models/{id}/tags", tag = "MLflow", params(("id" = String, Path)), request_body = Tags,
    responses((status = 200, body = ModelAnswer), Errors))]
async fn set_tags(
    State(app): State<AppState>,
    PathParam(id): PathParam,
    Input(b): Input<Tags>,
) -> ApiResult<Json<ModelAnswer>> {
    Ok(Json(ModelAnswer {
        model: app
            .control
            .mlflow()
            .set_logged_model_tags(&id, b.tags)
            .await?,
    }))
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/logged-models/{id}/tags/{key}", tag = "MLflow",
    params(("id" = String, Path), ("key" = String, Path)),
    responses((status = 200, body = Empty), Errors))]
async fn delete_logged_tag(
    State(app): State<AppState>,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
) -> ApiResult<Json<Empty>> {
    let Path((id, key)) =
        path.map_err(|e| ApiError::invalid(format!("Invalid path: {}", e.body_text())))?;
    app.control
        .mlflow()
        .delete_logged_model_tag(&id, &key)
        .await?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Params {
    #[serde(default)]
    params: Vec<KeyValue>,
}

#[utoipa::path(post, path = "/api/2.0/mlflow/logged-models/{id}/params", tag = "MLflow", params(("id" = String, Path)), request_body = Params,
    responses((status = 200, body = Empty), Errors))]
async fn log_params(
    State(app): State<AppState>,
    PathParam(id): PathParam,
    Input(b): Input<Params>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .log_logged_model_params(&id, b.params)
        .await?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Directory {
    #[serde(default)]
    artifact_directory_path: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Files {
    #[schema(value_type = Vec<Object>)]
    files: Vec<FileInfo>,
}

/// The files of a logged model (one folder).
#[utoipa::path(get, path = "/api/2.0/mlflow/logged-models/{id}/artifacts/directories", tag = "MLflow",
    params(("id" = String, Path), ("artifact_directory_path" = Option<String>, Query)),
    responses((status = 200, body = Files), Errors))]
async fn list_files(
    State(app): State<AppState>,
    Extension(services): Extension<MlflowServices>,
    PathParam(id): PathParam,
    Input(b): Input<Directory>,
) -> ApiResult<Json<Files>> {
    let model = app.control.mlflow().logged_model(&id).await?;
    let sub = super::artifacts::checked(b.artifact_directory_path.as_deref().unwrap_or(""))?;
    let dir = format!("{}/{sub}", model.artifact_path());
    let files =
        super::artifacts::list_relative(&*services.artifacts, dir.trim_end_matches('/'), &sub)
            .await?;
    Ok(Json(Files { files }))
}

//! Model versions (`/api/2.0/mlflow/model-versions/…`).

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json};
use lakeplane_control::mlflow::versions::NewVersion;
use lakeplane_control::Principal;
use lakeplane_http::{ApiResult, AppState, Routes};
use serde::Serialize;
use utoipa::ToSchema;

use super::registry::{required, RegistryRequest, VersionAnswer, Versions};
use super::{at, search, Empty, Input};
use crate::Errors;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_version,
    get_version,
    update_version,
    delete_version,
    search_versions,
    download_uri,
    transition_stage,
    set_version_tag,
    delete_version_tag
))]
pub(super) struct Doc;

pub(super) fn routes() -> Routes {
    let v = |p: &str| at(&format!("model-versions/{p}"));
    Routes::new()
        .route(Method::POST, &v("create"), post(create_version))
        .route(Method::GET, &v("get"), get(get_version))
        .route(Method::PATCH, &v("update"), patch(update_version))
        .route(Method::DELETE, &v("delete"), delete(delete_version))
        .route(Method::GET, &v("search"), get(search_versions))
        .route(Method::GET, &v("get-download-uri"), get(download_uri))
        .route(Method::POST, &v("transition-stage"), post(transition_stage))
        .route(Method::POST, &v("set-tag"), post(set_version_tag))
        .route(Method::DELETE, &v("delete-tag"), delete(delete_version_tag))
}

/// Register a version; `source` is `models:/<logged model id>`, `runs:/<run>/<path>` or a URI.
#[utoipa::path(post, path = "/api/2.0/mlflow/model-versions/create", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = VersionAnswer), Errors))]
async fn create_version(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<VersionAnswer>> {
    let new = NewVersion {
        name: b.name()?,
        source: required(&b.source, "source")?,
        run_id: b.run_id,
        run_link: b.run_link,
        description: b.description,
        model_id: b.model_id,
        tags: b.tags,
    };
    Ok(Json(VersionAnswer {
        model_version: app
            .control
            .mlflow()
            .create_model_version(new, &who.user_name)
            .await?,
    }))
}

#[utoipa::path(get, path = "/api/2.0/mlflow/model-versions/get", tag = "MLflow registry",
    params(("name" = String, Query), ("version" = String, Query)),
    responses((status = 200, body = VersionAnswer), Errors))]
async fn get_version(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<VersionAnswer>> {
    Ok(Json(VersionAnswer {
        model_version: app
            .control
            .mlflow()
            .model_version(&b.name()?, &b.version()?)
            .await?,
    }))
}

#[utoipa::path(patch, path = "/api/2.0/mlflow/model-versions/update", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = VersionAnswer), Errors))]
async fn update_version(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<VersionAnswer>> {
    let v = app
        .control
        .mlflow()
        .update_model_version(&b.name()?, &b.version()?, b.description.clone())
        .await?;
    Ok(Json(VersionAnswer { model_version: v }))
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/model-versions/delete", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = Empty), Errors))]
async fn delete_version(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .delete_model_version(&b.name()?, &b.version()?)
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(get, path = "/api/2.0/mlflow/model-versions/search", tag = "MLflow registry",
    params(("filter" = Option<String>, Query), ("max_results" = Option<u64>, Query), ("page_token" = Option<String>, Query)),
    responses((status = 200, body = Versions), Errors))]
async fn search_versions(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Versions>> {
    let page = app
        .control
        .mlflow()
        .search_model_versions(&search(b.filter, b.order_by, b.max_results, b.page_token))
        .await?;
    Ok(Json(Versions {
        model_versions: page.items,
        next_page_token: page.next_page_token,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadUri {
    artifact_uri: String,
}

#[utoipa::path(get, path = "/api/2.0/mlflow/model-versions/get-download-uri", tag = "MLflow registry",
    params(("name" = String, Query), ("version" = String, Query)),
    responses((status = 200, body = DownloadUri), Errors))]
async fn download_uri(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<DownloadUri>> {
    Ok(Json(DownloadUri {
        artifact_uri: app
            .control
            .mlflow()
            .download_uri(&b.name()?, &b.version()?)
            .await?,
    }))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/model-versions/transition-stage", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = VersionAnswer), Errors))]
async fn transition_stage(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<VersionAnswer>> {
    let stage = required(&b.stage, "stage")?;
    let v = app
        .control
        .mlflow()
        .transition_stage(
            &b.name()?,
            &b.version()?,
            &stage,
            b.archive_existing_versions.unwrap_or(false),
        )
        .await?;
    Ok(Json(VersionAnswer { model_version: v }))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/model-versions/set-tag", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = Empty), Errors))]
async fn set_version_tag(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Empty>> {
    let value = b.value.clone().unwrap_or_default();
    app.control
        .mlflow()
        .set_model_version_tag(&b.name()?, &b.version()?, &b.key()?, Some(&value))
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/model-versions/delete-tag", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = Empty), Errors))]
async fn delete_version_tag(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .set_model_version_tag(&b.name()?, &b.version()?, &b.key()?, None)
        .await?;
    Ok(Json(Empty {}))
}

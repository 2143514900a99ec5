//! MLflow's artifact proxy (`/api/2.0/mlflow-artifacts/artifacts[/<path>]`): the client puts,
//! gets, lists and deletes run and model files here, and lakeplane keeps them in the artifact
//! store (under the storage root). Also `artifacts/list`, a run's files by run id.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json};
use lakeplane_control::ControlError;
use lakeplane_core::mlflow::artifacts::{
    check_path, proxied_path, ArtifactError, ArtifactStore, FileInfo,
};
use lakeplane_core::mlflow::limits::MAX_ARTIFACT_BYTES;
use lakeplane_http::extract::PathParam;
use lakeplane_http::{ApiError, ApiResult, AppState, Routes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{at, Empty, Input, MlflowServices};
use crate::Errors;

/// The most entries one listing answers.
pub const MAX_LIST_ENTRIES: usize = 10_000;
/// How long an upload may take to arrive.
const UPLOAD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);
const PROXY: &str = "/api/2.0/mlflow-artifacts/artifacts";

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, download, upload, delete, list_run_files))]
pub(super) struct Doc;

pub(super) fn routes() -> Routes {
    let file = format!("{PROXY}/{{*path}}");
    Routes::new()
        .route(Method::GET, PROXY, get(list))
        .route(Method::GET, &file, get(download))
        .route(Method::PUT, &file, axum::routing::put(upload))
        .route(Method::DELETE, &file, axum::routing::delete(delete))
        .route(Method::GET, &at("artifacts/list"), get(list_run_files))
}

pub(super) fn checked(path: &str) -> ApiResult<String> {
    check_path(path).map_err(|e| ApiError::from(ControlError::from(e)))
}

fn store_error(e: ArtifactError) -> ApiError {
    match e {
        ArtifactError::NotFound { path } => {
            ApiError::not_found(format!("Artifact '{path}' does not exist."))
        }
        e => {
            tracing::error!(error = %e, "artifact store failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "TEMPORARILY_UNAVAILABLE",
                "The artifact store is unavailable; try again.",
            )
        }
    }
}

/// The entries of folder `dir`, named as MLflow's listing names them: `prefix/<basename>`.
pub(super) async fn list_relative(
    store: &dyn ArtifactStore,
    dir: &str,
    prefix: &str,
) -> ApiResult<Vec<FileInfo>> {
    let mut files = store.list(dir).await.map_err(store_error)?;
    files.truncate(MAX_LIST_ENTRIES);
    for f in &mut files {
        let base = f.path.rsplit('/').next().unwrap_or_default().to_string();
        f.path = if prefix.is_empty() {
            base
        } else {
            format!("{}/{base}", prefix.trim_end_matches('/'))
        };
    }
    Ok(files)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ListRequest {
    #[serde(default)]
    path: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Listing {
    #[schema(value_type = Vec<Object>)]
    files: Vec<FileInfo>,
}

/// The files and folders directly in a folder (`path`), by name.
#[utoipa::path(get, path = "/api/2.0/mlflow-artifacts/artifacts", tag = "MLflow artifacts", params(("path" = Option<String>, Query)),
    responses((status = 200, body = Listing), Errors))]
async fn list(
    Extension(services): Extension<MlflowServices>,
    Input(b): Input<ListRequest>,
) -> ApiResult<Json<Listing>> {
    let dir = checked(b.path.as_deref().unwrap_or(""))?;
    let mut files = list_relative(&*services.artifacts, &dir, "").await?;
    // The proxy's listing names entries by their base name.
    for f in &mut files {
        f.path = f.path.rsplit('/').next().unwrap_or_default().to_string();
    }
    Ok(Json(Listing { files }))
}

/// Download one file.
#[utoipa::path(get, path = "/api/2.0/mlflow-artifacts/artifacts/{path}", tag = "MLflow artifacts", params(("path" = String, Path)),
    responses((status = 200, description = "The file's bytes", content_type = "application/octet-stream"), Errors))]
async fn download(
    Extension(services): Extension<MlflowServices>,
    PathParam(path): PathParam,
) -> ApiResult<Response> {
    let path = checked(&path)?;
    let bytes = services.artifacts.get(&path).await.map_err(store_error)?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from(bytes),
    )
        .into_response())
}

/// Upload one file (the body, at most 512 MiB).
#[utoipa::path(put, path = "/api/2.0/mlflow-artifacts/artifacts/{path}", tag = "MLflow artifacts", params(("path" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Empty), Errors))]
async fn upload(
    Extension(services): Extension<MlflowServices>,
    PathParam(path): PathParam,
    req: Request,
) -> ApiResult<Json<Empty>> {
    let path = checked(&path)?;
    if path.is_empty() {
        return Err(ApiError::invalid("An artifact upload names a file."));
    }
    let read = axum::body::to_bytes(req.into_body(), MAX_ARTIFACT_BYTES);
    let bytes = match tokio::time::timeout(UPLOAD_DEADLINE, read).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                format!("The upload did not arrive within {UPLOAD_DEADLINE:?}."),
            ))
        }
        Ok(Err(_)) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "INVALID_PARAMETER_VALUE",
                format!("The artifact is larger than the {MAX_ARTIFACT_BYTES} byte limit."),
            ))
        }
        Ok(Ok(b)) => b,
    };
    services
        .artifacts
        .put(&path, bytes.to_vec())
        .await
        .map_err(store_error)?;
    Ok(Json(Empty {}))
}

#[utoipa::path(delete, path = "/api/2.0/mlflow-artifacts/artifacts/{path}", tag = "MLflow artifacts", params(("path" = String, Path)),
    responses((status = 200, body = Empty), Errors))]
async fn delete(
    Extension(services): Extension<MlflowServices>,
    PathParam(path): PathParam,
) -> ApiResult<Json<Empty>> {
    let path = checked(&path)?;
    services
        .artifacts
        .delete(&path)
        .await
        .map_err(store_error)?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RunFiles {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunListing {
    root_uri: String,
    #[schema(value_type = Vec<Object>)]
    files: Vec<FileInfo>,
}

/// A run's files (one folder, `path` below the run's artifact root).
#[utoipa::path(get, path = "/api/2.0/mlflow/artifacts/list", tag = "MLflow", params(("run_id" = String, Query), ("path" = Option<String>, Query)),
    responses((status = 200, body = RunListing), Errors))]
async fn list_run_files(
    State(app): State<AppState>,
    Extension(services): Extension<MlflowServices>,
    Input(b): Input<RunFiles>,
) -> ApiResult<Json<RunListing>> {
    let run = app
        .control
        .mlflow()
        .run(&super::run_id(b.run_id, b.run_uuid)?)
        .await?;
    let root = run.info.artifact_uri.clone();
    let base = proxied_path(&root).unwrap_or_default().to_string();
    let sub = checked(b.path.as_deref().unwrap_or(""))?;
    let dir = if sub.is_empty() {
        base
    } else {
        format!("{base}/{sub}")
    };
    let files = list_relative(&*services.artifacts, &dir, &sub).await?;
    Ok(Json(RunListing {
        root_uri: root,
        files,
    }))
}

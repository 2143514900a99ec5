//! The model registry (`/api/2.0/mlflow/registered-models/…`, `model-versions/…`).

use axum::extract::State;
use axum::http::Method;
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json};
use lakeplane_control::Principal;
use lakeplane_core::mlflow::registry::{ModelVersion, RegisteredModel};
use lakeplane_core::mlflow::KeyValue;
use lakeplane_http::{ApiError, ApiResult, AppState, Routes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{at, lenient, search, Empty, Input};
use crate::Errors;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_model,
    get_model,
    search_models,
    update_model,
    delete_model,
    set_model_tag,
    delete_model_tag,
    latest_versions,
    set_alias,
    delete_alias,
    get_by_alias
))]
pub(super) struct Doc;

pub(super) fn routes() -> Routes {
    let m = |p: &str| at(&format!("registered-models/{p}"));
    Routes::new()
        .route(Method::POST, &m("create"), post(create_model))
        .route(Method::GET, &m("get"), get(get_model))
        .route(Method::GET, &m("search"), get(search_models))
        .route(Method::PATCH, &m("update"), patch(update_model))
        .route(Method::DELETE, &m("delete"), delete(delete_model))
        .route(Method::POST, &m("set-tag"), post(set_model_tag))
        .route(Method::DELETE, &m("delete-tag"), delete(delete_model_tag))
        .route(
            Method::POST,
            &m("get-latest-versions"),
            post(latest_versions),
        )
        .route(Method::POST, &m("alias"), post(set_alias))
        .route(Method::DELETE, &m("alias"), delete(delete_alias))
        .route(Method::GET, &m("alias"), get(get_by_alias))
}

/// Every registry request's fields; each call reads the ones it needs.
#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct RegistryRequest {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_text")]
    pub(super) version: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) tags: Vec<KeyValue>,
    #[serde(default)]
    pub(super) key: Option<String>,
    #[serde(default)]
    pub(super) value: Option<String>,
    #[serde(default)]
    pub(super) alias: Option<String>,
    #[serde(default)]
    pub(super) source: Option<String>,
    #[serde(default)]
    pub(super) run_id: Option<String>,
    #[serde(default)]
    pub(super) run_link: Option<String>,
    #[serde(default)]
    pub(super) model_id: Option<String>,
    #[serde(default)]
    pub(super) stage: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub(super) archive_existing_versions: Option<bool>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub(super) stages: Vec<String>,
    #[serde(default)]
    pub(super) filter: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_usize")]
    pub(super) max_results: Option<usize>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub(super) order_by: Vec<String>,
    #[serde(default)]
    pub(super) page_token: Option<String>,
}

pub(super) fn required(field: &Option<String>, name: &str) -> ApiResult<String> {
    field
        .clone()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::invalid(format!("Missing value for required parameter '{name}'.")))
}

impl RegistryRequest {
    pub(super) fn name(&self) -> ApiResult<String> {
        required(&self.name, "name")
    }
    pub(super) fn version(&self) -> ApiResult<String> {
        required(&self.version, "version")
    }
    pub(super) fn key(&self) -> ApiResult<String> {
        required(&self.key, "key")
    }
    pub(super) fn alias(&self) -> ApiResult<String> {
        required(&self.alias, "alias")
    }
}

/// A registered model with the newest version of each stage.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelOut {
    #[serde(flatten)]
    model: RegisteredModel,
    latest_versions: Vec<ModelVersion>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelAnswer {
    registered_model: ModelOut,
}

async fn model_out(app: &AppState, model: RegisteredModel) -> ApiResult<ModelOut> {
    let latest_versions = app.control.mlflow().latest_versions(&model, &[]).await?;
    Ok(ModelOut {
        model,
        latest_versions,
    })
}

#[utoipa::path(post, path = "/api/2.0/mlflow/registered-models/create", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = ModelAnswer), Errors))]
async fn create_model(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<ModelAnswer>> {
    let m = app
        .control
        .mlflow()
        .create_registered_model(&b.name()?, b.description, b.tags, &who.user_name)
        .await?;
    Ok(Json(ModelAnswer {
        registered_model: model_out(&app, m).await?,
    }))
}

#[utoipa::path(get, path = "/api/2.0/mlflow/registered-models/get", tag = "MLflow registry", params(("name" = String, Query)),
    responses((status = 200, body = ModelAnswer), Errors))]
async fn get_model(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<ModelAnswer>> {
    let m = app.control.mlflow().registered_model(&b.name()?).await?;
    Ok(Json(ModelAnswer {
        registered_model: model_out(&app, m).await?,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Models {
    registered_models: Vec<ModelOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

#[utoipa::path(get, path = "/api/2.0/mlflow/registered-models/search", tag = "MLflow registry",
    params(("filter" = Option<String>, Query), ("max_results" = Option<u64>, Query), ("page_token" = Option<String>, Query)),
    responses((status = 200, body = Models), Errors))]
async fn search_models(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Models>> {
    let page = app
        .control
        .mlflow()
        .search_registered_models(&search(b.filter, b.order_by, b.max_results, b.page_token))
        .await?;
    let mut out = vec![];
    for m in page.items {
        out.push(model_out(&app, m).await?);
    }
    Ok(Json(Models {
        registered_models: out,
        next_page_token: page.next_page_token,
    }))
}

#[utoipa::path(patch, path = "/api/2.0/mlflow/registered-models/update", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = ModelAnswer), Errors))]
async fn update_model(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<ModelAnswer>> {
    let m = app
        .control
        .mlflow()
        .update_registered_model(&b.name()?, b.description)
        .await?;
    Ok(Json(ModelAnswer {
        registered_model: model_out(&app, m).await?,
    }))
}

/// Delete a registered model with all its versions.
#[utoipa::path(delete, path = "/api/2.0/mlflow/registered-models/delete", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = Empty), Errors))]
async fn delete_model(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .delete_registered_model(&b.name()?)
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/registered-models/set-tag", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = Empty), Errors))]
async fn set_model_tag(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Empty>> {
    let value = b.value.clone().unwrap_or_default();
    app.control
        .mlflow()
        .set_registered_model_tag(&b.name()?, &b.key()?, Some(&value))
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/registered-models/delete-tag", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = Empty), Errors))]
async fn delete_model_tag(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .set_registered_model_tag(&b.name()?, &b.key()?, None)
        .await?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Versions {
    pub(super) model_versions: Vec<ModelVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) next_page_token: Option<String>,
}

#[utoipa::path(post, path = "/api/2.0/mlflow/registered-models/get-latest-versions", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = Versions), Errors))]
async fn latest_versions(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Versions>> {
    let model = app.control.mlflow().registered_model(&b.name()?).await?;
    let versions = app
        .control
        .mlflow()
        .latest_versions(&model, &b.stages)
        .await?;
    Ok(Json(Versions {
        model_versions: versions,
        next_page_token: None,
    }))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/registered-models/alias", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = Empty), Errors))]
async fn set_alias(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .set_alias(&b.name()?, &b.alias()?, &b.version()?)
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(delete, path = "/api/2.0/mlflow/registered-models/alias", tag = "MLflow registry", request_body = RegistryRequest,
    responses((status = 200, body = Empty), Errors))]
async fn delete_alias(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .delete_alias(&b.name()?, &b.alias()?)
        .await?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionAnswer {
    pub(super) model_version: ModelVersion,
}

#[utoipa::path(get, path = "/api/2.0/mlflow/registered-models/alias", tag = "MLflow registry",
    params(("name" = String, Query), ("alias" = String, Query)),
    responses((status = 200, body = VersionAnswer), Errors))]
async fn get_by_alias(
    State(app): State<AppState>,
    Input(b): Input<RegistryRequest>,
) -> ApiResult<Json<VersionAnswer>> {
    let v = app
        .control
        .mlflow()
        .version_by_alias(&b.name()?, &b.alias()?)
        .await?;
    Ok(Json(VersionAnswer { model_version: v }))
}

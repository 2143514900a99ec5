//! Experiments (`/api/2.0/mlflow/experiments/…`).

use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post};
use axum::Json;
use lakeplane_control::mlflow::ViewType;
use lakeplane_core::mlflow::tracking::Experiment;
use lakeplane_core::mlflow::KeyValue;
use lakeplane_http::{ApiResult, AppState, Routes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{at, lenient, search, Empty, Input};
use crate::Errors;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_experiment,
    get_experiment,
    get_experiment_by_name,
    search_experiments,
    delete_experiment,
    restore_experiment,
    update_experiment,
    set_experiment_tag,
    delete_experiment_tag
))]
pub(super) struct Doc;

pub(super) fn routes() -> Routes {
    let r = |m: Method, p: &str, h| (m, at(p), h);
    let table: Vec<(Method, String, axum::routing::MethodRouter<AppState>)> = vec![
        r(Method::POST, "experiments/create", post(create_experiment)),
        r(Method::GET, "experiments/get", get(get_experiment)),
        r(
            Method::GET,
            "experiments/get-by-name",
            get(get_experiment_by_name),
        ),
        r(Method::POST, "experiments/search", post(search_experiments)),
        r(Method::POST, "experiments/delete", post(delete_experiment)),
        r(
            Method::POST,
            "experiments/restore",
            post(restore_experiment),
        ),
        r(Method::POST, "experiments/update", post(update_experiment)),
        r(
            Method::POST,
            "experiments/set-experiment-tag",
            post(set_experiment_tag),
        ),
        r(
            Method::POST,
            "experiments/delete-experiment-tag",
            post(delete_experiment_tag),
        ),
    ];
    table
        .into_iter()
        .fold(Routes::new(), |routes, (m, p, h)| routes.route(m, &p, h))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateExperiment {
    name: String,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExperimentId {
    experiment_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExperimentAnswer {
    experiment: Experiment,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExperimentRef {
    #[serde(deserialize_with = "lenient::text")]
    experiment_id: String,
    #[serde(default)]
    new_name: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExperimentByName {
    experiment_name: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
pub struct SearchRequest {
    #[serde(default, deserialize_with = "lenient::opt_usize")]
    pub(super) max_results: Option<usize>,
    #[serde(default)]
    pub(super) page_token: Option<String>,
    #[serde(default)]
    pub(super) filter: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub(super) order_by: Vec<String>,
    #[serde(default)]
    pub(super) view_type: Option<String>,
    #[serde(default)]
    pub(super) run_view_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub(super) experiment_ids: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Experiments {
    experiments: Vec<Experiment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// Create an experiment. Its artifacts go through the artifact proxy, whatever location is asked.
#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/create", tag = "MLflow", request_body = CreateExperiment,
    responses((status = 200, body = ExperimentId), Errors))]
async fn create_experiment(
    State(app): State<AppState>,
    Input(b): Input<CreateExperiment>,
) -> ApiResult<Json<ExperimentId>> {
    let e = app
        .control
        .mlflow()
        .create_experiment(&b.name, b.tags)
        .await?;
    Ok(Json(ExperimentId {
        experiment_id: e.experiment_id,
    }))
}

#[utoipa::path(get, path = "/api/2.0/mlflow/experiments/get", tag = "MLflow", params(("experiment_id" = String, Query)),
    responses((status = 200, body = ExperimentAnswer), Errors))]
async fn get_experiment(
    State(app): State<AppState>,
    Input(b): Input<ExperimentRef>,
) -> ApiResult<Json<ExperimentAnswer>> {
    Ok(Json(ExperimentAnswer {
        experiment: app.control.mlflow().experiment(&b.experiment_id).await?,
    }))
}

#[utoipa::path(get, path = "/api/2.0/mlflow/experiments/get-by-name", tag = "MLflow", params(("experiment_name" = String, Query)),
    responses((status = 200, body = ExperimentAnswer), Errors))]
async fn get_experiment_by_name(
    State(app): State<AppState>,
    Input(b): Input<ExperimentByName>,
) -> ApiResult<Json<ExperimentAnswer>> {
    Ok(Json(ExperimentAnswer {
        experiment: app
            .control
            .mlflow()
            .experiment_by_name(&b.experiment_name)
            .await?,
    }))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/search", tag = "MLflow", request_body = SearchRequest,
    responses((status = 200, body = Experiments), Errors))]
async fn search_experiments(
    State(app): State<AppState>,
    Input(b): Input<SearchRequest>,
) -> ApiResult<Json<Experiments>> {
    let view = ViewType::parse(b.view_type.as_deref())?;
    let page = app
        .control
        .mlflow()
        .search_experiments(
            view,
            &search(b.filter, b.order_by, b.max_results, b.page_token),
        )
        .await?;
    Ok(Json(Experiments {
        experiments: page.items,
        next_page_token: page.next_page_token,
    }))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/delete", tag = "MLflow", request_body = ExperimentRef,
    responses((status = 200, body = Empty), Errors))]
async fn delete_experiment(
    State(app): State<AppState>,
    Input(b): Input<ExperimentRef>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .set_experiment_deleted(&b.experiment_id, true)
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/restore", tag = "MLflow", request_body = ExperimentRef,
    responses((status = 200, body = Empty), Errors))]
async fn restore_experiment(
    State(app): State<AppState>,
    Input(b): Input<ExperimentRef>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .set_experiment_deleted(&b.experiment_id, false)
        .await?;
    Ok(Json(Empty {}))
}

/// Rename an experiment (`new_name`).
#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/update", tag = "MLflow", request_body = ExperimentRef,
    responses((status = 200, body = Empty), Errors))]
async fn update_experiment(
    State(app): State<AppState>,
    Input(b): Input<ExperimentRef>,
) -> ApiResult<Json<Empty>> {
    if let Some(n) = b.new_name.as_deref() {
        app.control
            .mlflow()
            .rename_experiment(&b.experiment_id, n)
            .await?;
    }
    Ok(Json(Empty {}))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/set-experiment-tag", tag = "MLflow", request_body = ExperimentRef,
    responses((status = 200, body = Empty), Errors))]
async fn set_experiment_tag(
    State(app): State<AppState>,
    Input(b): Input<ExperimentRef>,
) -> ApiResult<Json<Empty>> {
    let key = b.key.unwrap_or_default();
    app.control
        .mlflow()
        .set_experiment_tag(
            &b.experiment_id,
            &key,
            Some(b.value.as_deref().unwrap_or("")),
        )
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/experiments/delete-experiment-tag", tag = "MLflow", request_body = ExperimentRef,
    responses((status = 200, body = Empty), Errors))]
async fn delete_experiment_tag(
    State(app): State<AppState>,
    Input(b): Input<ExperimentRef>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .set_experiment_tag(&b.experiment_id, &b.key.unwrap_or_default(), None)
        .await?;
    Ok(Json(Empty {}))
}

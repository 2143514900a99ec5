//! Runs: params, metrics, tags, search (`/api/2.0/mlflow/runs/…`, `metrics/get-history`).

use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post};
use axum::{Extension, Json};
use lakeplane_control::mlflow::runs::NewRun;
use lakeplane_control::mlflow::ViewType;
use lakeplane_control::Principal;
use lakeplane_core::mlflow::tracking::{Metric, ModelRef, Run, RunInfo};
use lakeplane_core::mlflow::KeyValue;
use lakeplane_http::{ApiResult, AppState, Routes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::experiments::SearchRequest;
use super::{at, lenient, run_id, search, Empty, Input};
use crate::Errors;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_run,
    update_run,
    delete_run,
    restore_run,
    get_run,
    log_metric,
    log_parameter,
    set_tag,
    delete_tag,
    log_batch,
    search_runs,
    metric_history,
    log_outputs,
    log_inputs
))]
pub(super) struct Doc;

pub(super) fn routes() -> Routes {
    let r = |m: Method, p: &str, h| (m, at(p), h);
    let table: Vec<(Method, String, axum::routing::MethodRouter<AppState>)> = vec![
        r(Method::POST, "runs/create", post(create_run)),
        r(Method::POST, "runs/update", post(update_run)),
        r(Method::POST, "runs/delete", post(delete_run)),
        r(Method::POST, "runs/restore", post(restore_run)),
        r(Method::GET, "runs/get", get(get_run)),
        r(Method::POST, "runs/log-metric", post(log_metric)),
        r(Method::POST, "runs/log-parameter", post(log_parameter)),
        r(Method::POST, "runs/set-tag", post(set_tag)),
        r(Method::POST, "runs/delete-tag", post(delete_tag)),
        r(Method::POST, "runs/log-batch", post(log_batch)),
        r(Method::POST, "runs/search", post(search_runs)),
        r(Method::GET, "metrics/get-history", get(metric_history)),
        r(Method::POST, "runs/outputs", post(log_outputs)),
        r(Method::POST, "runs/log-inputs", post(log_inputs)),
    ];
    table
        .into_iter()
        .fold(Routes::new(), |routes, (m, p, h)| routes.route(m, &p, h))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRun {
    #[serde(default, deserialize_with = "lenient::opt_text")]
    experiment_id: Option<String>,
    #[serde(default)]
    run_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    start_time: Option<i64>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunAnswer {
    run: Run,
}

/// Create a run (in experiment `0` when none is named).
#[utoipa::path(post, path = "/api/2.0/mlflow/runs/create", tag = "MLflow", request_body = CreateRun,
    responses((status = 200, body = RunAnswer), Errors))]
async fn create_run(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Input(b): Input<CreateRun>,
) -> ApiResult<Json<RunAnswer>> {
    let new = NewRun {
        experiment_id: b.experiment_id.unwrap_or_else(|| "0".into()),
        run_name: b.run_name,
        start_time: b.start_time,
        tags: b.tags,
    };
    Ok(Json(RunAnswer {
        run: app.control.mlflow().create_run(new, &who.user_name).await?,
    }))
}

/// A run and what to do to it: the fields each call reads.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RunRequest {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    end_time: Option<i64>,
    #[serde(default)]
    run_name: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    timestamp: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    step: Option<i64>,
    #[serde(default)]
    model_id: Option<String>,
    #[serde(default)]
    dataset_name: Option<String>,
    #[serde(default)]
    dataset_digest: Option<String>,
    #[serde(default)]
    metrics: Vec<Metric>,
    #[serde(default)]
    params: Vec<KeyValue>,
    #[serde(default)]
    tags: Vec<KeyValue>,
    #[serde(default)]
    models: Vec<ModelRef>,
    #[serde(default)]
    metric_key: Option<String>,
}

impl RunRequest {
    fn id(&self) -> ApiResult<String> {
        run_id(self.run_id.clone(), self.run_uuid.clone())
    }

    fn key(&self) -> ApiResult<String> {
        self.key.clone().ok_or_else(|| {
            lakeplane_http::ApiError::invalid("Missing value for required parameter 'key'.")
        })
    }

    fn text_value(&self) -> String {
        match &self.value {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunInfoAnswer {
    run_info: RunInfo,
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/update", tag = "MLflow", request_body = RunRequest,
    responses((status = 200, body = RunInfoAnswer), Errors))]
async fn update_run(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<RunInfoAnswer>> {
    let run = app
        .control
        .mlflow()
        .update_run(
            &b.id()?,
            b.status.as_deref(),
            b.end_time,
            b.run_name.as_deref(),
        )
        .await?;
    Ok(Json(RunInfoAnswer { run_info: run.info }))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/delete", tag = "MLflow", request_body = RunRequest,
    responses((status = 200, body = Empty), Errors))]
async fn delete_run(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<Empty>> {
    app.control.mlflow().set_run_deleted(&b.id()?, true).await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/restore", tag = "MLflow", request_body = RunRequest,
    responses((status = 200, body = Empty), Errors))]
async fn restore_run(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .set_run_deleted(&b.id()?, false)
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(get, path = "/api/2.0/mlflow/runs/get", tag = "MLflow", params(("run_id" = String, Query)),
    responses((status = 200, body = RunAnswer), Errors))]
async fn get_run(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<RunAnswer>> {
    Ok(Json(RunAnswer {
        run: app.control.mlflow().run(&b.id()?).await?,
    }))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/log-metric", tag = "MLflow", request_body = RunRequest,
    responses((status = 200, body = Empty), Errors))]
async fn log_metric(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<Empty>> {
    let value = serde_json::json!({"key": b.key()?, "value": b.value.clone().unwrap_or_default()});
    let mut m: Metric = serde_json::from_value(value)
        .map_err(|e| lakeplane_http::ApiError::invalid(format!("Invalid metric: {e}")))?;
    m.timestamp = b.timestamp.unwrap_or_else(lakeplane_control::time::now_ms);
    m.step = b.step.unwrap_or(0);
    (m.model_id, m.dataset_name, m.dataset_digest) = (
        b.model_id.clone(),
        b.dataset_name.clone(),
        b.dataset_digest.clone(),
    );
    app.control
        .mlflow()
        .log_batch(&b.id()?, vec![m], vec![], vec![])
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/log-parameter", tag = "MLflow", request_body = RunRequest,
    responses((status = 200, body = Empty), Errors))]
async fn log_parameter(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<Empty>> {
    let p = KeyValue::new(b.key()?, b.text_value());
    app.control
        .mlflow()
        .log_batch(&b.id()?, vec![], vec![p], vec![])
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/set-tag", tag = "MLflow", request_body = RunRequest,
    responses((status = 200, body = Empty), Errors))]
async fn set_tag(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<Empty>> {
    let t = KeyValue::new(b.key()?, b.text_value());
    app.control
        .mlflow()
        .log_batch(&b.id()?, vec![], vec![], vec![t])
        .await?;
    Ok(Json(Empty {}))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/delete-tag", tag = "MLflow", request_body = RunRequest,
    responses((status = 200, body = Empty), Errors))]
async fn delete_tag(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .delete_run_tag(&b.id()?, &b.key()?)
        .await?;
    Ok(Json(Empty {}))
}

/// Log metrics, params and tags at once (bounded: 1000 metrics, 100 params, 100 tags).
#[utoipa::path(post, path = "/api/2.0/mlflow/runs/log-batch", tag = "MLflow", request_body = RunRequest,
    responses((status = 200, body = Empty), Errors))]
async fn log_batch(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<Empty>> {
    let id = b.id()?;
    let now = lakeplane_control::time::now_ms();
    let metrics = b.metrics.into_iter().map(|mut m| {
        if m.timestamp == 0 {
            m.timestamp = now;
        }
        m
    });
    app.control
        .mlflow()
        .log_batch(&id, metrics.collect(), b.params, b.tags)
        .await?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Runs {
    runs: Vec<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/search", tag = "MLflow", request_body = SearchRequest,
    responses((status = 200, body = Runs), Errors))]
async fn search_runs(
    State(app): State<AppState>,
    Input(b): Input<SearchRequest>,
) -> ApiResult<Json<Runs>> {
    let view = ViewType::parse(b.run_view_type.as_deref())?;
    let page = app
        .control
        .mlflow()
        .search_runs(
            &b.experiment_ids,
            view,
            &search(b.filter, b.order_by, b.max_results, b.page_token),
        )
        .await?;
    Ok(Json(Runs {
        runs: page.items,
        next_page_token: page.next_page_token,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricHistory {
    metrics: Vec<Metric>,
}

#[utoipa::path(get, path = "/api/2.0/mlflow/metrics/get-history", tag = "MLflow",
    params(("run_id" = String, Query), ("metric_key" = String, Query)),
    responses((status = 200, body = MetricHistory), Errors))]
async fn metric_history(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<MetricHistory>> {
    let key = b.metric_key.clone().ok_or_else(|| {
        lakeplane_http::ApiError::invalid("Missing value for required parameter 'metric_key'.")
    })?;
    Ok(Json(MetricHistory {
        metrics: app.control.mlflow().metric_history(&b.id()?, &key).await?,
    }))
}

#[utoipa::path(post, path = "/api/2.0/mlflow/runs/outputs", tag = "MLflow", request_body = RunRequest,
    responses((status = 200, body = Empty), Errors))]
async fn log_outputs(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .log_models(&b.id()?, b.models, vec![])
        .await?;
    Ok(Json(Empty {}))
}

/// Record a run's inputs: the models it read (datasets are accepted and not kept).
#[utoipa::path(post, path = "/api/2.0/mlflow/runs/log-inputs", tag = "MLflow", request_body = RunRequest,
    responses((status = 200, body = Empty), Errors))]
async fn log_inputs(
    State(app): State<AppState>,
    Input(b): Input<RunRequest>,
) -> ApiResult<Json<Empty>> {
    app.control
        .mlflow()
        .log_models(&b.id()?, vec![], b.models)
        .await?;
    Ok(Json(Empty {}))
}

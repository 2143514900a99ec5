//! Experiments, runs, params, metrics and tags (`/api/2.0/mlflow/experiments/…`, `runs/…`,
//! `metrics/get-history`).

use axum::extract::State;
use axum::http::Method;
use axum::routing::{get, post};
use axum::{Extension, Json};
use lakeplane_control::mlflow::runs::NewRun;
use lakeplane_control::mlflow::ViewType;
use lakeplane_control::Principal;
use lakeplane_core::mlflow::tracking::{Experiment, Metric, ModelRef, Run, RunInfo};
use lakeplane_core::mlflow::KeyValue;
use lakeplane_http::{ApiResult, AppState, Routes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{at, lenient, run_id, search, Empty, Input};
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
    delete_experiment_tag,
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
    max_results: Option<usize>,
    #[serde(default)]
    page_token: Option<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    order_by: Vec<String>,
    #[serde(default)]
    view_type: Option<String>,
    #[serde(default)]
    run_view_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    experiment_ids: Vec<String>,
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

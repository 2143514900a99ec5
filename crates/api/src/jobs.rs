//! The Jobs API (`/api/2.1/jobs/*` and `/api/2.2/jobs/*`, same handlers).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::Method;
use axum::{Extension, Json};
use lakeplane_control::{Principal, RunFilter};
use lakeplane_core::job::{JobSettings, Task};
use lakeplane_core::{JobId, RunId};
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params};
use crate::{render, AppState, Routes};

/// Fields of a create body that are not job settings.
const NOT_SETTINGS: &[&str] = &["access_control_list"];

pub fn routes(prefix: &str) -> Routes {
    Routes::new()
        .route(
            Method::POST,
            &format!("{prefix}/create"),
            axum::routing::post(create),
        )
        .route(
            Method::GET,
            &format!("{prefix}/get"),
            axum::routing::get(get),
        )
        .route(
            Method::GET,
            &format!("{prefix}/list"),
            axum::routing::get(list),
        )
        .route(
            Method::POST,
            &format!("{prefix}/update"),
            axum::routing::post(update),
        )
        .route(
            Method::POST,
            &format!("{prefix}/reset"),
            axum::routing::post(reset),
        )
        .route(
            Method::POST,
            &format!("{prefix}/delete"),
            axum::routing::post(delete),
        )
        .route(
            Method::POST,
            &format!("{prefix}/run-now"),
            axum::routing::post(run_now),
        )
        .route(
            Method::POST,
            &format!("{prefix}/runs/submit"),
            axum::routing::post(submit),
        )
        .route(
            Method::GET,
            &format!("{prefix}/runs/get"),
            axum::routing::get(get_run),
        )
        .route(
            Method::GET,
            &format!("{prefix}/runs/list"),
            axum::routing::get(list_runs),
        )
        .route(
            Method::POST,
            &format!("{prefix}/runs/cancel"),
            axum::routing::post(cancel_run),
        )
        .route(
            Method::POST,
            &format!("{prefix}/runs/delete"),
            axum::routing::post(delete_run),
        )
        .route(
            Method::GET,
            &format!("{prefix}/runs/get-output"),
            axum::routing::get(get_output),
        )
}

fn settings_from(body: Map<String, Value>, field: &str) -> ApiResult<JobSettings> {
    JobSettings::from_json(Value::Object(body))
        .map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

async fn create(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Body(mut body): Body,
) -> ApiResult<Json<Value>> {
    for f in NOT_SETTINGS {
        body.remove(*f);
    }
    let settings = settings_from(body, "job settings")?;
    let id = app.control.create_job(settings, &who.user_name).await?;
    Ok(Json(json!({ "job_id": id.0 })))
}

async fn get(State(app): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    let job = app.control.get_job(JobId(params.id("job_id")?)).await?;
    Ok(Json(render::job(&job, true, true)))
}

async fn list(State(app): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    let limit = params.limit(20, 100)?;
    let offset = params.opt_u64("offset")?.unwrap_or(0) as usize;
    let expand = params.bool("expand_tasks")?;
    let page = app
        .control
        .list_jobs(
            limit,
            params.str("page_token").filter(|t| !t.is_empty()),
            offset,
            params.str("name"),
        )
        .await?;
    let mut out = json!({
        "jobs": page.items.iter().map(|j| render::job(j, false, expand)).collect::<Vec<_>>(),
        "has_more": page.next_page_token.is_some(),
    });
    if let Some(t) = page.next_page_token {
        out["next_page_token"] = json!(t);
    }
    Ok(Json(out))
}

async fn update(State(app): State<AppState>, body: Body) -> ApiResult<Json<Value>> {
    let id = JobId(body.id("job_id")?);
    let new_settings: Map<String, Value> = body.opt("new_settings")?.unwrap_or_default();
    let remove: Vec<String> = body.opt("fields_to_remove")?.unwrap_or_default();
    app.control.update_job(id, new_settings, remove).await?;
    Ok(Json(json!({})))
}

async fn reset(State(app): State<AppState>, body: Body) -> ApiResult<Json<Value>> {
    let id = JobId(body.id("job_id")?);
    let new_settings: Map<String, Value> = body
        .opt("new_settings")?
        .ok_or_else(|| ApiError::invalid("Missing required field: new_settings"))?;
    app.control
        .reset_job(id, settings_from(new_settings, "new_settings")?)
        .await?;
    Ok(Json(json!({})))
}

async fn delete(State(app): State<AppState>, body: Body) -> ApiResult<Json<Value>> {
    app.control.delete_job(JobId(body.id("job_id")?)).await?;
    Ok(Json(json!({})))
}

async fn run_now(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let id = JobId(body.id("job_id")?);
    let job_parameters: BTreeMap<String, String> = body.opt("job_parameters")?.unwrap_or_default();
    let sql_params: BTreeMap<String, String> = body.opt("sql_params")?.unwrap_or_default();
    let run_id = app
        .control
        .run_now(id, job_parameters, sql_params, &who.user_name)
        .await?;
    Ok(Json(
        json!({ "run_id": run_id.0, "number_in_job": run_id.0 }),
    ))
}

async fn submit(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let run_name: Option<String> = body.opt("run_name")?;
    let tasks: Vec<Task> = body
        .opt("tasks")?
        .ok_or_else(|| ApiError::invalid("Missing required field: tasks"))?;
    let run_id = app
        .control
        .submit_run(run_name, tasks, &who.user_name)
        .await?;
    Ok(Json(json!({ "run_id": run_id.0 })))
}

async fn get_run(State(app): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    let view = app.control.get_run(RunId(params.id("run_id")?)).await?;
    Ok(Json(render::run(&view, true)))
}

async fn list_runs(State(app): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    let filter = RunFilter {
        job_id: params.opt_u64("job_id")?.map(JobId),
        active_only: params.bool("active_only")?,
        completed_only: params.bool("completed_only")?,
    };
    let limit = params.limit(20, 25)?;
    let offset = params.opt_u64("offset")?.unwrap_or(0) as usize;
    let expand = params.bool("expand_tasks")?;
    let page = app
        .control
        .list_runs(
            &filter,
            limit,
            params.str("page_token").filter(|t| !t.is_empty()),
            offset,
            expand,
        )
        .await?;
    let mut out = json!({
        "runs": page.items.iter().map(|r| render::run(r, expand)).collect::<Vec<_>>(),
        "has_more": page.next_page_token.is_some(),
    });
    if let Some(t) = page.next_page_token {
        out["next_page_token"] = json!(t);
    }
    Ok(Json(out))
}

async fn cancel_run(State(app): State<AppState>, body: Body) -> ApiResult<Json<Value>> {
    app.control.cancel_run(RunId(body.id("run_id")?)).await?;
    Ok(Json(json!({})))
}

async fn delete_run(State(app): State<AppState>, body: Body) -> ApiResult<Json<Value>> {
    app.control.delete_run(RunId(body.id("run_id")?)).await?;
    Ok(Json(json!({})))
}

async fn get_output(State(app): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    let (parent, task) = app.control.get_output(RunId(params.id("run_id")?)).await?;
    Ok(Json(render::run_output(&parent, &task)))
}

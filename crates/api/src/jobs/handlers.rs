//! The Jobs API's handlers: parse, call the control plane, render. Documented at their 2.2 paths;
//! the same handlers serve 2.1 (see [`super::area`]).

use axum::extract::State;
use axum::Extension;
use lakeplane_control::{PageRequest, Principal, RunFilter, RunNow as RunNowRequest};
use lakeplane_core::job::JobSettings;
use lakeplane_core::{JobId, RunId};
use lakeplane_http::extract::{Json, Query};
use lakeplane_http::{ApiError, ApiResult, AppState};
use serde_json::{Map, Value};

use super::requests::*;
use super::schema::JobSettingsSchema;
use super::wire::*;
use crate::Errors;

type Answer<T> = ApiResult<axum::Json<T>>;

/// Fields of a create body that are not job settings.
const NOT_SETTINGS: &[&str] = &["access_control_list"];

fn settings_from(body: Map<String, Value>, field: &str) -> ApiResult<JobSettings> {
    JobSettings::from_json(Value::Object(body))
        .map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

/// Changing, deleting and running a job are its owner's or an admin's: its tasks run as the owner
/// (or its `run_as`), with their privileges.
async fn require_job_owner(app: &AppState, who: &Principal, job: JobId) -> ApiResult<()> {
    let job = app.control.jobs().get(job).await?;
    if job.creator_user_name == who.user_name
        || app.control.principals().is_admin(&who.user_name).await?
    {
        return Ok(());
    }
    Err(ApiError::permission_denied(format!(
        "Only the owner of job {} or an admin may change, delete or run it.",
        job.job_id
    )))
}

/// Cancelling or deleting a run is its creator's, its principal's or an admin's.
async fn require_run_party(app: &AppState, who: &Principal, run: RunId) -> ApiResult<()> {
    let view = app.control.runs().get(run).await?;
    if who.user_name == view.run.creator_user_name
        || who.user_name == view.run.runs_as()
        || app.control.principals().is_admin(&who.user_name).await?
    {
        return Ok(());
    }
    Err(ApiError::permission_denied(format!(
        "Only the run's creator, its principal or an admin may change run {run}."
    )))
}

/// `run_as` someone else is an admin's to set.
async fn may_run_as(app: &AppState, who: &Principal, settings: &JobSettings) -> ApiResult<()> {
    match settings.run_as() {
        Some(p)
            if p != who.user_name && !app.control.principals().is_admin(&who.user_name).await? =>
        {
            Err(ApiError::permission_denied(format!(
                "Only an admin may set run_as to another principal ({p})."
            )))
        }
        _ => Ok(()),
    }
}

/// `limit` within `1..=max`, `default` when absent or 0.
fn page(paging: &Paging, default: u64, max: u64) -> ApiResult<PageRequest> {
    let limit = match paging.limit {
        None | Some(0) => default,
        Some(n) if n <= max => n,
        Some(n) => {
            return Err(ApiError::invalid(format!(
                "limit must be between 1 and {max}, got {n}"
            )))
        }
    };
    Ok(PageRequest {
        limit: limit as usize,
        page_token: paging.page_token.clone().filter(|t| !t.is_empty()),
        offset: paging.offset.unwrap_or(0) as usize,
    })
}

/// Create a job.
#[utoipa::path(operation_id = "jobs_create", post, path = "/api/2.2/jobs/create", tag = "Jobs",
    request_body = JobSettingsSchema,
    responses((status = 200, body = CreateJobResponse), Errors))]
pub async fn create(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(mut body): Json<Map<String, Value>>,
) -> Answer<CreateJobResponse> {
    for f in NOT_SETTINGS {
        body.remove(*f);
    }
    let settings = settings_from(body, "job settings")?;
    may_run_as(&app, &who, &settings).await?;
    let id = app.control.jobs().create(settings, &who.user_name).await?;
    Ok(axum::Json(CreateJobResponse { job_id: id.0 }))
}

/// Get a job.
#[utoipa::path(operation_id = "jobs_get", get, path = "/api/2.2/jobs/get", tag = "Jobs", params(JobRef),
    responses((status = 200, body = JobResponse), Errors))]
pub async fn get(State(app): State<AppState>, Query(q): Query<JobRef>) -> Answer<JobResponse> {
    let job = app.control.jobs().get(JobId(q.job_id)).await?;
    Ok(axum::Json(JobResponse::new(&job, true, true)))
}

/// List jobs, paginated, in id order.
#[utoipa::path(operation_id = "jobs_list", get, path = "/api/2.2/jobs/list", tag = "Jobs", params(ListJobs),
    responses((status = 200, body = ListJobsResponse), Errors))]
pub async fn list(
    State(app): State<AppState>,
    Query(q): Query<ListJobs>,
) -> Answer<ListJobsResponse> {
    let request = page(&q.paging, 20, 100)?;
    let expand = q.paging.expand_tasks.unwrap_or(false);
    let page = app.control.jobs().list(&request, q.name.as_deref()).await?;
    Ok(axum::Json(ListJobsResponse {
        jobs: page
            .items
            .iter()
            .map(|j| JobResponse::new(j, false, expand))
            .collect(),
        has_more: page.next_page_token.is_some(),
        next_page_token: page.next_page_token,
    }))
}

/// Update some of a job's settings.
#[utoipa::path(operation_id = "jobs_update", post, path = "/api/2.2/jobs/update", tag = "Jobs", request_body = UpdateJob,
    responses((status = 200, body = Empty), Errors))]
pub async fn update(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<UpdateJob>,
) -> Answer<Empty> {
    require_job_owner(&app, &who, JobId(body.job_id)).await?;
    if let Some(new) = &body.new_settings {
        if new.contains_key("run_as") {
            let settings = settings_from(new.clone(), "new_settings")?;
            may_run_as(&app, &who, &settings).await?;
        }
    }
    app.control
        .jobs()
        .update(
            JobId(body.job_id),
            body.new_settings.unwrap_or_default(),
            body.fields_to_remove.unwrap_or_default(),
        )
        .await?;
    Ok(axum::Json(Empty {}))
}

/// Replace a job's settings.
#[utoipa::path(operation_id = "jobs_reset", post, path = "/api/2.2/jobs/reset", tag = "Jobs", request_body = ResetJob,
    responses((status = 200, body = Empty), Errors))]
pub async fn reset(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<ResetJob>,
) -> Answer<Empty> {
    require_job_owner(&app, &who, JobId(body.job_id)).await?;
    let settings = settings_from(body.new_settings, "new_settings")?;
    may_run_as(&app, &who, &settings).await?;
    app.control
        .jobs()
        .reset(JobId(body.job_id), settings)
        .await?;
    Ok(axum::Json(Empty {}))
}

/// Delete a job.
#[utoipa::path(operation_id = "jobs_delete", post, path = "/api/2.2/jobs/delete", tag = "Jobs", request_body = JobRef,
    responses((status = 200, body = Empty), Errors))]
pub async fn delete(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<JobRef>,
) -> Answer<Empty> {
    require_job_owner(&app, &who, JobId(body.job_id)).await?;
    app.control.jobs().delete(JobId(body.job_id)).await?;
    Ok(axum::Json(Empty {}))
}

/// Run a job now.
#[utoipa::path(operation_id = "jobs_run_now", post, path = "/api/2.2/jobs/run-now", tag = "Jobs", request_body = RunNow,
    responses((status = 200, body = RunNowResponse), Errors))]
pub async fn run_now(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<RunNow>,
) -> Answer<RunNowResponse> {
    require_job_owner(&app, &who, JobId(body.job_id)).await?;
    let request = RunNowRequest {
        job_parameters: body.job_parameters.unwrap_or_default(),
        sql_params: body.sql_params.unwrap_or_default(),
    };
    let run_id = app
        .control
        .runs()
        .run_now(JobId(body.job_id), request, &who.user_name)
        .await?;
    Ok(axum::Json(RunNowResponse {
        run_id: run_id.0,
        number_in_job: run_id.0,
    }))
}

/// Submit a one-time run.
#[utoipa::path(operation_id = "jobs_submit", post, path = "/api/2.2/jobs/runs/submit", tag = "Jobs", request_body = SubmitRun,
    responses((status = 200, body = SubmitRunResponse), Errors))]
pub async fn submit(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<SubmitRun>,
) -> Answer<SubmitRunResponse> {
    let run_id = app
        .control
        .runs()
        .submit(
            body.run_name,
            body.tasks,
            body.timeout_seconds,
            &who.user_name,
        )
        .await?;
    Ok(axum::Json(SubmitRunResponse { run_id: run_id.0 }))
}

/// Get a run with its task runs.
#[utoipa::path(operation_id = "jobs_get_run", get, path = "/api/2.2/jobs/runs/get", tag = "Jobs", params(RunRef),
    responses((status = 200, body = RunResponse), Errors))]
pub async fn get_run(State(app): State<AppState>, Query(q): Query<RunRef>) -> Answer<RunResponse> {
    let view = app.control.runs().get(RunId(q.run_id)).await?;
    let mut answer = RunResponse::new(&view, true);
    if view.tasks.iter().any(|t| t.cluster_id.is_some()) {
        answer.cost = Some(
            app.control
                .clusters()
                .run_cost(view.run.run_id, &view.tasks)
                .await?,
        );
    }
    Ok(axum::Json(answer))
}

/// List runs, newest first.
#[utoipa::path(operation_id = "jobs_list_runs", get, path = "/api/2.2/jobs/runs/list", tag = "Jobs", params(ListRuns),
    responses((status = 200, body = ListRunsResponse), Errors))]
pub async fn list_runs(
    State(app): State<AppState>,
    Query(q): Query<ListRuns>,
) -> Answer<ListRunsResponse> {
    let filter = RunFilter {
        job_id: q.job_id.map(JobId),
        active_only: q.active_only.unwrap_or(false),
        completed_only: q.completed_only.unwrap_or(false),
    };
    let request = page(&q.paging, 20, 25)?;
    let expand = q.paging.expand_tasks.unwrap_or(false);
    let page = app.control.runs().list(&filter, &request, expand).await?;
    Ok(axum::Json(ListRunsResponse {
        runs: page
            .items
            .iter()
            .map(|r| RunResponse::new(r, expand))
            .collect(),
        has_more: page.next_page_token.is_some(),
        next_page_token: page.next_page_token,
    }))
}

/// Cancel a run.
#[utoipa::path(operation_id = "jobs_cancel_run", post, path = "/api/2.2/jobs/runs/cancel", tag = "Jobs", request_body = RunRef,
    responses((status = 200, body = Empty), Errors))]
pub async fn cancel_run(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<RunRef>,
) -> Answer<Empty> {
    require_run_party(&app, &who, RunId(body.run_id)).await?;
    app.control.runs().cancel(RunId(body.run_id)).await?;
    Ok(axum::Json(Empty {}))
}

/// Delete an ended run.
#[utoipa::path(operation_id = "jobs_delete_run", post, path = "/api/2.2/jobs/runs/delete", tag = "Jobs", request_body = RunRef,
    responses((status = 200, body = Empty), Errors))]
pub async fn delete_run(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(body): Json<RunRef>,
) -> Answer<Empty> {
    require_run_party(&app, &who, RunId(body.run_id)).await?;
    app.control.runs().delete(RunId(body.run_id)).await?;
    Ok(axum::Json(Empty {}))
}

/// Get the output of a task run.
#[utoipa::path(operation_id = "jobs_get_output", get, path = "/api/2.2/jobs/runs/get-output", tag = "Jobs", params(RunRef),
    responses((status = 200, body = RunOutputResponse), Errors))]
pub async fn get_output(
    State(app): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(q): Query<RunRef>,
) -> Answer<RunOutputResponse> {
    let (parent, task) = app.control.runs().output(RunId(q.run_id)).await?;
    // The output holds rows read with the run's principal's privileges.
    if !(who.user_name == parent.run.creator_user_name
        || who.user_name == parent.run.runs_as()
        || app.control.principals().is_admin(&who.user_name).await?)
    {
        return Err(ApiError::permission_denied(format!(
            "Only the run's creator, its principal or an admin may read run {}'s output.",
            q.run_id
        )));
    }
    Ok(axum::Json(RunOutputResponse::new(&parent, &task)))
}

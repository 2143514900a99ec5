//! The Jobs API's requests, typed: bodies of the POSTs and query parameters of the GETs. Ids are
//! accepted as numbers or numeric strings and booleans in any case, as the SDK sends them.

use std::collections::BTreeMap;

use lakeplane_core::job::Task;
use lakeplane_http::extract::lenient;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::schema::{JobSettingsSchema, TaskSchema};

/// `job_id` alone (`jobs/get`, `jobs/delete`).
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobRef {
    #[serde(deserialize_with = "lenient::id")]
    #[param(value_type = u64)]
    #[schema(value_type = u64)]
    pub job_id: u64,
}

/// `run_id` alone (`runs/get`, `runs/cancel`, `runs/delete`, `runs/get-output`).
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunRef {
    #[serde(deserialize_with = "lenient::id")]
    #[param(value_type = u64)]
    #[schema(value_type = u64)]
    pub run_id: u64,
}

/// Paging shared by the listings.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Paging {
    /// Items per page; `jobs/list` 1–100 (default 20), `runs/list` 1–25 (default 20).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub limit: Option<u64>,
    /// Items to skip first (legacy; prefer `page_token`).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub offset: Option<u64>,
    /// `next_page_token` of the previous page.
    #[serde(default)]
    pub page_token: Option<String>,
    /// Include each item's tasks.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub expand_tasks: Option<bool>,
}

/// `jobs/list`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListJobs {
    #[serde(flatten)]
    pub paging: Paging,
    /// Only jobs with exactly this name (case-insensitive).
    #[serde(default)]
    pub name: Option<String>,
}

/// `runs/list`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListRuns {
    #[serde(flatten)]
    pub paging: Paging,
    /// Only runs of this job.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub job_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub active_only: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub completed_only: Option<bool>,
}

/// `jobs/update`: top-level fields of `new_settings` replace the job's; `tasks` merge by key.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateJob {
    #[serde(deserialize_with = "lenient::id")]
    #[schema(value_type = u64)]
    pub job_id: u64,
    #[serde(default)]
    #[schema(value_type = Option<JobSettingsSchema>)]
    pub new_settings: Option<Map<String, Value>>,
    /// Top-level fields, or `tasks/<task_key>`, to remove.
    #[serde(default)]
    pub fields_to_remove: Option<Vec<String>>,
}

/// `jobs/reset`: the job's settings replaced whole.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetJob {
    #[serde(deserialize_with = "lenient::id")]
    #[schema(value_type = u64)]
    pub job_id: u64,
    #[schema(value_type = JobSettingsSchema)]
    pub new_settings: Map<String, Value>,
}

/// `jobs/run-now`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RunNow {
    #[serde(deserialize_with = "lenient::id")]
    #[schema(value_type = u64)]
    pub job_id: u64,
    /// Overrides of the job's parameter defaults.
    #[serde(default)]
    pub job_parameters: Option<BTreeMap<String, String>>,
    /// Legacy overrides of the SQL tasks' parameters.
    #[serde(default)]
    pub sql_params: Option<BTreeMap<String, String>>,
}

/// `runs/submit`: a one-time run of tasks that belong to no job.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SubmitRun {
    #[serde(default)]
    pub run_name: Option<String>,
    #[schema(value_type = Vec<TaskSchema>)]
    pub tasks: Vec<Task>,
    /// The longest the run may take; 0 or absent means no limit.
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

//! The document's schemas of job settings and tasks, as Databricks defines them: the fields lakeplane
//! acts on, typed. Requests and answers carry `lakeplane_core::job` values, whose serde shapes these
//! describe; every other Databricks field is accepted and returned as given (additional properties),
//! and a test validates real answers against these schemas.

#![allow(dead_code)] // documentation types: only their schemas are used

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// `JobSettings`: the body of `jobs/create`, `settings` in `jobs/get`.
#[derive(Serialize, ToSchema)]
#[schema(as = JobSettings)]
pub struct JobSettingsSchema {
    /// The job's name; "Untitled" when absent.
    name: Option<String>,
    /// The task DAG (at most 99 tasks).
    tasks: Option<Vec<TaskSchema>>,
    /// Job parameters and their defaults, overridden by run-now's `job_parameters`.
    parameters: Option<Vec<JobParameterSchema>>,
}

/// `{name, default}`.
#[derive(Serialize, ToSchema)]
#[schema(as = JobParameterDefinition)]
pub struct JobParameterSchema {
    name: String,
    default: Option<String>,
}

/// One task. Exactly one task type field is set; lakeplane runs `sql_task`.
#[derive(Serialize, ToSchema)]
#[schema(as = Task)]
pub struct TaskSchema {
    /// 1 to 100 characters of `[A-Za-z0-9_-]`, unique in the job.
    task_key: String,
    depends_on: Option<Vec<TaskDependencySchema>>,
    run_if: Option<RunIfSchema>,
    sql_task: Option<SqlTaskSchema>,
}

/// `depends_on[]`.
#[derive(Serialize, ToSchema)]
#[schema(as = TaskDependency)]
pub struct TaskDependencySchema {
    task_key: String,
    outcome: Option<String>,
}

/// When a task runs, given how its dependencies ended.
#[derive(Serialize, ToSchema)]
#[schema(as = RunIf)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunIfSchema {
    AllSuccess,
    AllDone,
    NoneFailed,
    AtLeastOneSuccess,
    AllFailed,
    AtLeastOneFailed,
}

/// `sql_task`: SQL from a saved query or a `.sql` file (a local path or an `s3://` URI).
#[derive(Serialize, ToSchema)]
#[schema(as = SqlTask)]
pub struct SqlTaskSchema {
    warehouse_id: Option<String>,
    /// Values for `:name` markers and `{{name}}` references, bound as values.
    parameters: Option<BTreeMap<String, String>>,
    query: Option<SqlTaskQuerySchema>,
    file: Option<SqlTaskFileSchema>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SqlTaskQuery)]
pub struct SqlTaskQuerySchema {
    query_id: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SqlTaskFile)]
pub struct SqlTaskFileSchema {
    path: String,
    source: Option<String>,
}

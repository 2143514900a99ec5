//! The Jobs API's answers, typed: what `jobs/get`, `runs/get`, `runs/get-output` and the listings
//! return, rendered from the domain in Databricks' shapes.

use std::collections::BTreeMap;

use lakeplane_control::RunView;
use lakeplane_core::job::{Job, Task};
use lakeplane_core::run::{Attempt, Run, RunType, TaskResult, TaskRun, TaskState};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::schema::{JobSettingsSchema, TaskSchema};
use super::states::{run_state, run_status, task_state, task_status, StateWire, StatusWire};

/// `{}`: the answer of calls that return nothing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateJobResponse {
    pub job_id: u64,
}

/// A job (`jobs/get`, and the items of `jobs/list`).
#[derive(Debug, Serialize, ToSchema)]
pub struct JobResponse {
    pub job_id: u64,
    /// Epoch milliseconds.
    pub created_time: i64,
    pub creator_user_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as_user_name: Option<String>,
    /// Without `tasks` in listings unless `expand_tasks`.
    #[schema(value_type = JobSettingsSchema)]
    pub settings: Map<String, Value>,
    pub has_more: bool,
}

impl JobResponse {
    pub fn new(job: &Job, full: bool, with_tasks: bool) -> JobResponse {
        let mut settings = match serde_json::to_value(&job.settings) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if !with_tasks {
            settings.remove("tasks");
            settings.remove("job_clusters");
        }
        JobResponse {
            job_id: job.job_id.0,
            created_time: job.created_time,
            creator_user_name: job.creator_user_name.clone(),
            run_as_user_name: full.then(|| {
                job.settings
                    .run_as()
                    .unwrap_or_else(|| job.creator_user_name.clone())
            }),
            settings,
            has_more: false,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListJobsResponse {
    pub jobs: Vec<JobResponse>,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunNowResponse {
    pub run_id: u64,
    pub number_in_job: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmitRunResponse {
    pub run_id: u64,
}

/// `{name, value}` of a run's resolved job parameters.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobParameter {
    pub name: String,
    pub value: String,
}

/// run-now's legacy overrides, as the run records them.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverridingParameters {
    pub sql_params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunTypeWire {
    JobRun,
    SubmitRun,
}

/// Durations and times shared by runs and task runs (epoch milliseconds; 0 when not yet known).
#[derive(Debug, Serialize, ToSchema)]
pub struct Timing {
    pub start_time: i64,
    pub end_time: i64,
    pub setup_duration: i64,
    pub execution_duration: i64,
    pub cleanup_duration: i64,
    pub run_duration: i64,
    pub queue_duration: i64,
}

fn duration(start: Option<i64>, end: Option<i64>) -> i64 {
    match (start, end) {
        (Some(s), Some(e)) if e >= s => e - s,
        _ => 0,
    }
}

fn page_url(job: Option<lakeplane_core::JobId>, run: lakeplane_core::RunId) -> String {
    format!("/#job/{}/run/{}", job.map_or(0, |j| j.0), run.0)
}

/// One task's run, as an element of `tasks` in `runs/get`: the task's fields and its run's.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunTask {
    #[serde(flatten)]
    #[schema(value_type = TaskSchema)]
    pub task: Task,
    pub run_id: u64,
    pub attempt_number: u32,
    pub state: StateWire,
    pub status: StatusWire,
    #[serde(flatten)]
    pub timing: Timing,
    pub run_page_url: String,
    /// The cluster the attempt ran on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_instance: Option<ClusterInstance>,
}

/// `cluster_instance`: the cluster (and, in lakeplane, the node) an attempt ran on.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterInstance {
    pub cluster_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spark_context_id: Option<String>,
}

impl RunTask {
    /// Every attempt of a task run, earliest first: its earlier attempts, then the current one.
    pub fn attempts(t: &TaskRun, run: &Run) -> impl Iterator<Item = RunTask> {
        let earlier: Vec<RunTask> = t
            .attempts
            .iter()
            .map(|a| RunTask::earlier(t, a, run))
            .collect();
        earlier.into_iter().chain([RunTask::new(t, run)])
    }

    fn earlier(t: &TaskRun, a: &Attempt, run: &Run) -> RunTask {
        let ended = TaskRun {
            run_id: a.run_id,
            attempt_number: a.attempt_number,
            state: TaskState::Terminated(a.result),
            state_message: a.state_message.clone(),
            start_time: a.start_time,
            end_time: Some(a.end_time),
            attempts: Vec::new(),
            output: None,
            lease: None,
            worker: a.worker.clone(),
            ..t.clone()
        };
        RunTask::new(&ended, run)
    }

    pub fn new(t: &TaskRun, run: &Run) -> RunTask {
        RunTask {
            task: t.task.clone(),
            run_id: t.run_id.0,
            attempt_number: t.attempt_number,
            state: task_state(t),
            status: task_status(t),
            timing: Timing {
                start_time: t.start_time.unwrap_or(0),
                end_time: t.end_time.unwrap_or(0),
                setup_duration: 0,
                execution_duration: duration(t.start_time, t.end_time),
                cleanup_duration: 0,
                run_duration: duration(t.start_time, t.end_time),
                queue_duration: duration(t.queued_at, t.start_time),
            },
            run_page_url: page_url(run.job_id, t.run_id),
            cluster_instance: t.cluster_id.as_ref().map(|c| ClusterInstance {
                cluster_id: c.clone(),
                spark_context_id: t.worker.clone(),
            }),
        }
    }
}

/// A run (`runs/get`, and the items of `runs/list`).
#[derive(Debug, Serialize, ToSchema)]
pub struct RunResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<u64>,
    pub run_id: u64,
    pub number_in_job: u64,
    pub original_attempt_run_id: u64,
    pub attempt_number: u32,
    pub run_name: String,
    pub creator_user_name: String,
    pub run_as_user_name: String,
    pub state: StateWire,
    pub status: StatusWire,
    #[serde(flatten)]
    pub timing: Timing,
    pub run_type: RunTypeWire,
    pub trigger: String,
    pub format: String,
    pub has_more: bool,
    pub run_page_url: String,
    pub job_parameters: Vec<JobParameter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overriding_parameters: Option<OverridingParameters>,
    /// With `runs/get`, and with `runs/list?expand_tasks=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<RunTask>>,
    /// lakeplane's own: the instance-seconds and estimated cost of the clusters the run ran on
    /// (`runs/get` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub cost: Option<lakeplane_control::clusters::RunCost>,
}

impl RunResponse {
    pub fn new(view: &RunView, with_tasks: bool) -> RunResponse {
        let r = &view.run;
        let first_start = view.tasks.iter().filter_map(|t| t.start_time).min();
        RunResponse {
            job_id: r.job_id.map(|j| j.0),
            run_id: r.run_id.0,
            number_in_job: r.run_id.0,
            original_attempt_run_id: r.run_id.0,
            attempt_number: 0,
            run_name: r.run_name.clone(),
            creator_user_name: r.creator_user_name.clone(),
            run_as_user_name: r.runs_as().to_string(),
            state: run_state(r),
            status: run_status(r),
            timing: Timing {
                start_time: r.start_time,
                end_time: r.end_time.unwrap_or(0),
                setup_duration: 0,
                execution_duration: duration(first_start, r.end_time),
                cleanup_duration: 0,
                run_duration: duration(Some(r.start_time), r.end_time),
                queue_duration: duration(Some(r.start_time), first_start),
            },
            run_type: match r.run_type {
                RunType::JobRun => RunTypeWire::JobRun,
                RunType::SubmitRun => RunTypeWire::SubmitRun,
            },
            trigger: "ONE_TIME".into(),
            format: "MULTI_TASK".into(),
            has_more: false,
            run_page_url: page_url(r.job_id, r.run_id),
            job_parameters: r
                .job_parameters
                .iter()
                .map(|(k, v)| JobParameter {
                    name: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            overriding_parameters: (!r.sql_params.is_empty()).then(|| OverridingParameters {
                sql_params: r.sql_params.clone(),
            }),
            tasks: with_tasks.then(|| {
                view.tasks
                    .iter()
                    .flat_map(|t| RunTask::attempts(t, r))
                    .collect()
            }),
            cost: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListRunsResponse {
    pub runs: Vec<RunResponse>,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// A task run with its parent run's identity: `metadata` of `runs/get-output`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutputMetadata {
    #[serde(flatten)]
    pub task: RunTask,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<u64>,
    pub parent_run_id: u64,
    pub run_name: String,
}

/// The first rows of a SQL task's last statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueryOutput {
    pub sql_statements: Vec<String>,
    pub row_count: u64,
    /// Rows as objects of text values (null for SQL NULL).
    pub sample: Vec<Map<String, Value>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SqlOutput {
    pub query_output: QueryOutput,
}

/// `runs/get-output`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunOutputResponse {
    pub metadata: OutputMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs_truncated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_output: Option<SqlOutput>,
}

impl RunOutputResponse {
    pub fn new(parent: &RunView, t: &TaskRun) -> RunOutputResponse {
        let metadata = OutputMetadata {
            task: RunTask::new(t, &parent.run),
            job_id: parent.run.job_id.map(|j| j.0),
            parent_run_id: parent.run.run_id.0,
            run_name: parent.run.run_name.clone(),
        };
        let failed = t.state == TaskState::Terminated(TaskResult::Failed);
        let mut out = RunOutputResponse {
            metadata,
            error: failed.then(|| t.state_message.clone()),
            logs: None,
            logs_truncated: None,
            sql_output: None,
        };
        if let Some(o) = &t.output {
            let mut logs = format!(
                "{} statement(s) ran; the last produced {} row(s).\n",
                o.statements, o.rows
            );
            for row in &o.sample {
                logs.push_str(&row.to_string());
                logs.push('\n');
            }
            out.logs = Some(logs);
            out.logs_truncated = Some(o.rows as usize > o.sample.len());
            out.sql_output = Some(SqlOutput {
                query_output: QueryOutput {
                    sql_statements: vec![],
                    row_count: o.rows,
                    sample: o
                        .sample
                        .iter()
                        .filter_map(|v| v.as_object().cloned())
                        .collect(),
                },
            });
        }
        out
    }
}

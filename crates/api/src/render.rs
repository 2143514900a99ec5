//! Domain objects rendered in Databricks' REST shapes.

use lakeplane_control::time::rfc3339;
use lakeplane_control::{RunView, SavedQuery};
use lakeplane_core::job::Job;
use lakeplane_core::run::{Run, RunType, TaskRun};
use serde_json::{json, Map, Value};

fn object(v: impl serde::Serialize) -> Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// `jobs/get`, or a `jobs/list` item (without tasks unless `with_tasks`).
pub fn job(job: &Job, full: bool, with_tasks: bool) -> Value {
    let mut settings = object(&job.settings);
    if !with_tasks {
        settings.remove("tasks");
        settings.remove("job_clusters");
    }
    let mut out = json!({
        "job_id": job.job_id.0,
        "created_time": job.created_time,
        "creator_user_name": job.creator_user_name,
        "settings": settings,
        "has_more": false,
    });
    if full {
        out["run_as_user_name"] = json!(job.creator_user_name);
    }
    out
}

fn duration(start: Option<i64>, end: Option<i64>) -> i64 {
    match (start, end) {
        (Some(s), Some(e)) if e >= s => e - s,
        _ => 0,
    }
}

/// One task run, as an element of `tasks` in `runs/get`.
pub fn task_run(t: &TaskRun, run: &Run) -> Value {
    let mut out = object(&t.task);
    let fields = json!({
        "run_id": t.run_id.0,
        "attempt_number": t.attempt_number,
        "state": t.databricks_state(),
        "status": t.databricks_status(),
        "start_time": t.start_time.unwrap_or(0),
        "end_time": t.end_time.unwrap_or(0),
        "setup_duration": 0,
        "execution_duration": duration(t.start_time, t.end_time),
        "cleanup_duration": 0,
        "run_duration": duration(t.start_time, t.end_time),
        "queue_duration": duration(t.queued_at, t.start_time),
        "run_page_url": format!("/#job/{}/run/{}", run.job_id.map_or(0, |j| j.0), t.run_id.0),
    });
    if let Value::Object(f) = fields {
        out.extend(f);
    }
    Value::Object(out)
}

/// `runs/get`, or a `runs/list` item.
pub fn run(view: &RunView, with_tasks: bool) -> Value {
    let r = &view.run;
    let first_start = view.tasks.iter().filter_map(|t| t.start_time).min();
    let mut out = json!({
        "run_id": r.run_id.0,
        "number_in_job": r.run_id.0,
        "original_attempt_run_id": r.run_id.0,
        "attempt_number": 0,
        "run_name": r.run_name,
        "creator_user_name": r.creator_user_name,
        "run_as_user_name": r.creator_user_name,
        "state": r.databricks_state(),
        "status": r.databricks_status(),
        "start_time": r.start_time,
        "end_time": r.end_time.unwrap_or(0),
        "setup_duration": 0,
        "execution_duration": duration(first_start, r.end_time),
        "cleanup_duration": 0,
        "run_duration": duration(Some(r.start_time), r.end_time),
        "queue_duration": duration(Some(r.start_time), first_start),
        "run_type": match r.run_type { RunType::JobRun => "JOB_RUN", RunType::SubmitRun => "SUBMIT_RUN" },
        "trigger": "ONE_TIME",
        "format": "MULTI_TASK",
        "has_more": false,
        "run_page_url": format!("/#job/{}/run/{}", r.job_id.map_or(0, |j| j.0), r.run_id.0),
        "job_parameters": r.job_parameters.iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect::<Vec<_>>(),
    });
    if let Some(j) = r.job_id {
        out["job_id"] = json!(j.0);
    }
    if with_tasks {
        out["tasks"] = Value::Array(view.tasks.iter().map(|t| task_run(t, r)).collect());
    }
    out
}

/// `runs/get-output`.
pub fn run_output(parent: &RunView, t: &TaskRun) -> Value {
    let mut metadata = task_run(t, &parent.run);
    if let Some(j) = parent.run.job_id {
        metadata["job_id"] = json!(j.0);
    }
    metadata["parent_run_id"] = json!(parent.run.run_id.0);
    metadata["run_name"] = json!(parent.run.run_name);
    let mut out = json!({ "metadata": metadata });
    if matches!(
        t.state,
        lakeplane_core::run::TaskState::Terminated(lakeplane_core::run::TaskResult::Failed)
    ) {
        out["error"] = json!(t.state_message);
    }
    if let Some(o) = &t.output {
        let mut logs = format!(
            "{} statement(s) ran; the last produced {} row(s).\n",
            o.statements, o.rows
        );
        for row in &o.sample {
            logs.push_str(&row.to_string());
            logs.push('\n');
        }
        out["logs"] = json!(logs);
        out["logs_truncated"] = json!(o.rows as usize > o.sample.len());
        out["sql_output"] = json!({"query_output": {"sql_statements": [], "row_count": o.rows, "sample": o.sample}});
    }
    out
}

/// A saved query in the Queries API shape.
pub fn query(q: &SavedQuery) -> Value {
    json!({
        "id": q.id,
        "display_name": q.display_name,
        "query_text": q.query_text,
        "warehouse_id": q.warehouse_id,
        "description": q.description,
        "owner_user_name": q.owner_user_name,
        "last_modifier_user_name": q.owner_user_name,
        "create_time": rfc3339(q.created_ms),
        "update_time": rfc3339(q.updated_ms),
        "lifecycle_state": "ACTIVE",
    })
}

//! Jobs: settings with a task DAG, and their validation.
//!
//! Settings keep the Databricks shape. Fields lakeplane acts on are typed; every other field
//! (`schedule`, `email_notifications`, ...) is kept as given in `extra` and returned unchanged.

mod compute;
mod task;

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{DomainError, DomainResult};
use crate::ids::{JobId, TaskKey};

pub use compute::TaskCompute;
pub use task::{
    RetryPolicy, RunIf, SqlSource, SqlTask, SqlTaskFile, SqlTaskQuery, Task, TaskDependency,
    TaskKind,
};

/// The most tasks a job may have: a run and its task runs are created in one store transaction
/// (at most 100 items), and `jobs/get` never has to paginate (API 2.2 pages above 100).
pub const MAX_TASKS: usize = 99;

/// A stored job (`jobs/get`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: JobId,
    /// Epoch milliseconds.
    pub created_time: i64,
    pub creator_user_name: String,
    pub settings: JobSettings,
}

/// `JobSettings`: the body of `jobs/create` and `settings` in `jobs/get`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub tasks: Vec<Task>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<JobParameterDefinition>,
    /// The longest a run of the job may take; `0` or absent means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Everything else, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A job parameter definition (`{name, default}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobParameterDefinition {
    pub name: String,
    #[serde(default)]
    pub default: String,
}

impl JobSettings {
    /// Who the job's runs run as, if `run_as` names someone: `{"user_name": …}` or
    /// `{"service_principal_name": …}` (an application id).
    pub fn run_as(&self) -> Option<String> {
        let r = self.extra.get("run_as")?;
        ["user_name", "service_principal_name"]
            .iter()
            .find_map(|k| r.get(k).and_then(Value::as_str))
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
    }

    /// The name shown in lists and runs.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("Untitled")
    }

    /// Checks the settings: task types, unique `task_key`s, dependencies that exist, no cycles.
    pub fn validate(&self) -> DomainResult<()> {
        if self.tasks.len() > MAX_TASKS {
            return Err(DomainError::invalid(format!(
                "a job may have at most {MAX_TASKS} tasks, got {}",
                self.tasks.len()
            )));
        }
        if let Some(name) = &self.name {
            if name.len() > 4096 {
                return Err(DomainError::invalid("name is longer than 4096 characters"));
            }
        }
        let mut seen = BTreeSet::new();
        for t in &self.tasks {
            if !seen.insert(&t.task_key) {
                return Err(DomainError::invalid(format!(
                    "task_key '{}' is used by more than one task",
                    t.task_key
                )));
            }
        }
        for t in &self.tasks {
            t.validate()?;
            let mut deps = BTreeSet::new();
            for d in &t.depends_on {
                if d.task_key == t.task_key {
                    return Err(DomainError::invalid(format!(
                        "task '{}' depends on itself",
                        t.task_key
                    )));
                }
                if !seen.contains(&d.task_key) {
                    return Err(DomainError::invalid(format!(
                        "task '{}' depends on '{}', which is not a task of this job",
                        t.task_key, d.task_key
                    )));
                }
                if !deps.insert(&d.task_key) {
                    return Err(DomainError::invalid(format!(
                        "task '{}' lists dependency '{}' twice",
                        t.task_key, d.task_key
                    )));
                }
            }
        }
        self.validate_compute()?;
        self.topological_order().map(|_| ())
    }

    /// The task keys in an order where every task comes after its dependencies; an error names a cycle.
    pub fn topological_order(&self) -> DomainResult<Vec<TaskKey>> {
        topological_order(&self.tasks)
    }

    /// Applies a `jobs/update` body: top-level fields of `new_settings` replace the current ones,
    /// except `tasks`, which are merged by `task_key`; `fields_to_remove` drops top-level fields or
    /// `tasks/<key>`. The result is validated.
    pub fn apply_update(
        &self,
        new_settings: Map<String, Value>,
        fields_to_remove: &[String],
    ) -> DomainResult<JobSettings> {
        let mut current = match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(DomainError::invalid(
                    "the job settings are not a JSON object",
                ))
            }
        };
        for field in fields_to_remove {
            if let Some(key) = field.strip_prefix("tasks/") {
                let tasks = current.get_mut("tasks").and_then(Value::as_array_mut);
                let before = tasks.as_ref().map_or(0, |t| t.len());
                if let Some(tasks) = tasks {
                    tasks.retain(|t| t.get("task_key").and_then(Value::as_str) != Some(key));
                    if tasks.len() == before {
                        return Err(DomainError::invalid(format!(
                            "fields_to_remove: no task with task_key '{key}'"
                        )));
                    }
                }
            } else {
                current.remove(field);
            }
        }
        for (k, v) in new_settings {
            if k == "tasks" {
                let Value::Array(new_tasks) = v else {
                    return Err(DomainError::invalid("new_settings.tasks must be an array"));
                };
                let tasks = current
                    .entry("tasks")
                    .or_insert_with(|| Value::Array(vec![]));
                let Value::Array(tasks) = tasks else {
                    return Err(DomainError::invalid("the job's tasks are not an array"));
                };
                for nt in new_tasks {
                    let key = nt.get("task_key").cloned();
                    match tasks.iter_mut().find(|t| t.get("task_key") == key.as_ref()) {
                        Some(existing) => *existing = nt,
                        None => tasks.push(nt),
                    }
                }
            } else {
                current.insert(k, v);
            }
        }
        let updated = JobSettings::from_json(Value::Object(current))?;
        updated.validate()?;
        Ok(updated)
    }

    /// Parses settings from JSON with a message that names the bad field.
    pub fn from_json(v: Value) -> DomainResult<JobSettings> {
        serde_json::from_value(v)
            .map_err(|e| DomainError::invalid(format!("invalid job settings: {e}")))
    }
}

/// Kahn's algorithm over tasks; an error names the tasks that form a cycle.
pub fn topological_order(tasks: &[Task]) -> DomainResult<Vec<TaskKey>> {
    let mut indegree: HashMap<&TaskKey, usize> = HashMap::new();
    let mut dependents: HashMap<&TaskKey, Vec<&TaskKey>> = HashMap::new();
    for t in tasks {
        indegree.entry(&t.task_key).or_insert(0);
        for d in &t.depends_on {
            *indegree.entry(&t.task_key).or_insert(0) += 1;
            dependents.entry(&d.task_key).or_default().push(&t.task_key);
        }
    }
    let mut ready: Vec<&TaskKey> = tasks
        .iter()
        .map(|t| &t.task_key)
        .filter(|k| indegree.get(k) == Some(&0))
        .collect();
    let mut order = Vec::with_capacity(tasks.len());
    while let Some(k) = ready.pop() {
        order.push(k.clone());
        for dep in dependents.get(k).into_iter().flatten() {
            if let Some(n) = indegree.get_mut(dep) {
                *n -= 1;
                if *n == 0 {
                    ready.push(dep);
                }
            }
        }
    }
    if order.len() < tasks.len() {
        let mut cyclic: Vec<&str> = indegree
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, _)| k.as_str())
            .collect();
        cyclic.sort_unstable();
        return Err(DomainError::invalid(format!(
            "the task dependencies form a cycle among: {}",
            cyclic.join(", ")
        )));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(v: Value) -> JobSettings {
        JobSettings::from_json(v).unwrap()
    }

    fn sql(key: &str, deps: &[&str]) -> Value {
        json!({
            "task_key": key,
            "depends_on": deps.iter().map(|d| json!({"task_key": d})).collect::<Vec<_>>(),
            "sql_task": {"warehouse_id": "w", "file": {"path": "/x.sql"}}
        })
    }

    #[test]
    fn a_valid_dag_is_ordered() {
        let s = settings(
            json!({"name": "j", "tasks": [sql("c", &["a", "b"]), sql("a", &[]), sql("b", &["a"])]}),
        );
        s.validate().unwrap();
        let order: Vec<String> = s
            .topological_order()
            .unwrap()
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(order, vec!["a", "b", "c"]);
    }

    #[test]
    fn unknown_fields_round_trip() {
        let v = json!({"name": "j", "schedule": {"quartz_cron_expression": "0 0 * * * ?", "timezone_id": "UTC"},
                       "tasks": [{"task_key": "a", "timeout_seconds": 60, "sql_task": {"query": {"query_id": "q"}}}]});
        let s = settings(v.clone());
        assert_eq!(serde_json::to_value(&s).unwrap(), v);
    }

    #[test]
    fn rules_are_enforced_with_clear_messages() {
        let cases = [
            (
                json!({"tasks": [sql("a", &[]), sql("a", &[])]}),
                "used by more than one task",
            ),
            (
                json!({"tasks": [sql("a", &["zz"])]}),
                "'zz', which is not a task",
            ),
            (json!({"tasks": [sql("a", &["a"])]}), "depends on itself"),
            (
                json!({"tasks": [sql("a", &["b"]), sql("b", &["c"]), sql("c", &["a"])]}),
                "cycle among: a, b, c",
            ),
            (
                json!({"tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/n"}}]}),
                "notebook_task is not supported",
            ),
            (json!({"tasks": [{"task_key": "a"}]}), "has no task type"),
            (
                json!({"tasks": [{"task_key": "a", "sql_task": {}}]}),
                "one of query.query_id or file.path",
            ),
        ];
        for (v, want) in cases {
            let err = settings(v).validate().unwrap_err().to_string();
            assert!(err.contains(want), "{err} should contain {want}");
        }
        let bad_key = JobSettings::from_json(json!({"tasks": [{"task_key": "a b"}]})).unwrap_err();
        assert!(bad_key.to_string().contains("may contain only"));
    }

    #[test]
    fn update_merges_tasks_and_removes_fields() {
        let s = settings(
            json!({"name": "j", "tags": {"a": "1"}, "tasks": [sql("a", &[]), sql("b", &["a"])]}),
        );
        let mut new = Map::new();
        new.insert("name".into(), json!("renamed"));
        new.insert("tasks".into(), json!([sql("c", &["a"])]));
        let u = s
            .apply_update(new, &["tags".into(), "tasks/b".into()])
            .unwrap();
        assert_eq!(u.name.as_deref(), Some("renamed"));
        assert!(!u.extra.contains_key("tags"));
        let keys: Vec<&str> = u.tasks.iter().map(|t| t.task_key.as_str()).collect();
        assert_eq!(keys, vec!["a", "c"]);
        let err = s
            .apply_update(Map::new(), &["tasks/nope".into()])
            .unwrap_err();
        assert!(err.to_string().contains("no task with task_key 'nope'"));
    }
}

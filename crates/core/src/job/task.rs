//! One task of a job: its key, dependencies, `run_if`, and what it runs ([`TaskKind`]).
//!
//! Databricks names a task's type by the field that holds its spec (`sql_task`, `notebook_task`, ...).
//! That field is read in one place, [`Task`]'s `Deserialize`, into a [`TaskKind`]; everything else
//! matches on the enum.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{DomainError, DomainResult};
use crate::ids::TaskKey;

/// One task of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub task_key: TaskKey,
    pub depends_on: Vec<TaskDependency>,
    pub run_if: Option<RunIf>,
    /// What the task runs; `None` when the request named no task type (refused by validation).
    pub kind: Option<TaskKind>,
    /// How a failed attempt is retried, and when an attempt times out.
    pub retry: RetryPolicy,
    /// Other fields (`description`, compute settings, ...), kept as given.
    pub extra: Map<String, Value>,
}

/// A task's retry and timeout settings (Jobs API field names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Retries after a failed attempt; `-1` retries without end. None by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i64>,
    /// The least time between a failed attempt's end and the retry's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_retry_interval_millis: Option<u64>,
    /// Whether an attempt that timed out is retried too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on_timeout: Option<bool>,
    /// The longest one attempt may run; `0` or absent means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

impl RetryPolicy {
    /// Whether an attempt that ended with `timed_out` after `retries_used` retries runs again.
    pub fn retries_after(&self, retries_used: u32, timed_out: bool) -> bool {
        if timed_out && !self.retry_on_timeout.unwrap_or(false) {
            return false;
        }
        match self.max_retries {
            Some(-1) => true,
            Some(n) if n > 0 => i64::from(retries_used) < n,
            _ => false,
        }
    }

    /// The wait before a retry, in milliseconds.
    pub fn interval_ms(&self) -> i64 {
        self.min_retry_interval_millis
            .map_or(0, |m| i64::try_from(m).unwrap_or(i64::MAX))
    }

    /// The longest an attempt may run, in milliseconds, if limited.
    pub fn timeout_ms(&self) -> Option<i64> {
        self.timeout_seconds
            .filter(|s| *s > 0)
            .map(|s| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX))
    }

    fn validate(&self, key: &TaskKey) -> DomainResult<()> {
        match self.max_retries {
            Some(n) if n < -1 => Err(DomainError::invalid(format!(
                "task '{key}': max_retries must be -1 (no limit) or at least 0, got {n}"
            ))),
            _ => Ok(()),
        }
    }
}

/// What a task runs.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskKind {
    /// `sql_task`: SQL from a saved query or a file.
    Sql(SqlTask),
    /// A task type Databricks has and lakeplane does not run; kept so validation can name it.
    Unsupported { field: String, spec: Value },
}

impl TaskKind {
    /// Databricks names every task-type field `<type>_task`.
    const FIELD_SUFFIX: &'static str = "_task";

    /// The field that holds this kind's spec in the Jobs API.
    pub fn field(&self) -> &str {
        match self {
            TaskKind::Sql(_) => "sql_task",
            TaskKind::Unsupported { field, .. } => field,
        }
    }

    fn from_field(field: String, spec: Value) -> Result<TaskKind, serde_json::Error> {
        match field.as_str() {
            "sql_task" => Ok(TaskKind::Sql(serde_json::from_value(spec)?)),
            _ => Ok(TaskKind::Unsupported { field, spec }),
        }
    }

    fn spec(&self) -> Result<Value, serde_json::Error> {
        match self {
            TaskKind::Sql(s) => serde_json::to_value(s),
            TaskKind::Unsupported { spec, .. } => Ok(spec.clone()),
        }
    }
}

/// `depends_on[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDependency {
    pub task_key: TaskKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// When a task runs, given how its dependencies ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunIf {
    #[default]
    AllSuccess,
    AllDone,
    NoneFailed,
    AtLeastOneSuccess,
    AllFailed,
    AtLeastOneFailed,
}

/// `sql_task`: SQL from a saved query or from a `.sql` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlTask {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<SqlTaskQuery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<SqlTaskFile>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `sql_task.query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlTaskQuery {
    pub query_id: String,
}

/// `sql_task.file`: a local path or an `s3://` URI of a `.sql` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlTaskFile {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Where SQL comes from, once validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlSource<'a> {
    /// A saved query, by id.
    Query(&'a str),
    /// A `.sql` file: a local path or an `s3://` URI.
    File(&'a str),
}

impl SqlTask {
    /// The SQL's source; exactly one of `query` and `file` is set on a valid task.
    pub fn source(&self) -> DomainResult<SqlSource<'_>> {
        match (&self.query, &self.file) {
            (Some(q), None) => Ok(SqlSource::Query(&q.query_id)),
            (None, Some(f)) => Ok(SqlSource::File(&f.path)),
            (Some(_), Some(_)) => Err(DomainError::invalid(
                "sql_task must set exactly one of query and file, not both",
            )),
            (None, None) => Err(DomainError::invalid(
                "sql_task must set one of query.query_id or file.path",
            )),
        }
    }

    fn validate(&self, key: &TaskKey) -> DomainResult<()> {
        if let Some(kind) = self.extra.keys().next() {
            return Err(DomainError::invalid(format!(
                "task '{key}': sql_task.{kind} is not supported; use query or file"
            )));
        }
        let source = self
            .source()
            .map_err(|e| DomainError::invalid(format!("task '{key}': {e}")))?;
        match source {
            SqlSource::Query(id) if id.trim().is_empty() => Err(DomainError::invalid(format!(
                "task '{key}': sql_task.query.query_id is empty"
            ))),
            SqlSource::File(p) if p.trim().is_empty() => Err(DomainError::invalid(format!(
                "task '{key}': sql_task.file.path is empty"
            ))),
            _ => Ok(()),
        }
    }
}

impl Task {
    /// The task's `sql_task`, if it is one.
    pub fn sql(&self) -> Option<&SqlTask> {
        match &self.kind {
            Some(TaskKind::Sql(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn validate(&self) -> DomainResult<()> {
        let key = &self.task_key;
        self.retry.validate(key)?;
        match &self.kind {
            Some(TaskKind::Sql(sql)) => sql.validate(key),
            Some(TaskKind::Unsupported { field, .. }) => Err(DomainError::invalid(format!(
                "task '{key}': {field} is not supported; lakeplane runs sql_task"
            ))),
            None => Err(DomainError::invalid(format!(
                "task '{key}' has no task type; set sql_task"
            ))),
        }
    }
}

/// The fields of a task other than its kind, as they appear on the wire.
#[derive(Serialize, Deserialize)]
struct TaskFields {
    task_key: TaskKey,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<TaskDependency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run_if: Option<RunIf>,
    #[serde(flatten)]
    retry: RetryPolicy,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl<'de> Deserialize<'de> for Task {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Task, D::Error> {
        let mut fields = TaskFields::deserialize(d)?;
        let kinds: Vec<String> = fields
            .rest
            .keys()
            .filter(|k| k.ends_with(TaskKind::FIELD_SUFFIX))
            .cloned()
            .collect();
        let kind = match kinds.as_slice() {
            [] => None,
            [field] => {
                let spec = fields.rest.remove(field).unwrap_or(Value::Null);
                Some(TaskKind::from_field(field.clone(), spec).map_err(|e| {
                    D::Error::custom(format!("task '{}': {field}: {e}", fields.task_key))
                })?)
            }
            many => {
                return Err(D::Error::custom(format!(
                    "task '{}' sets more than one task type: {}",
                    fields.task_key,
                    many.join(", ")
                )))
            }
        };
        Ok(Task {
            task_key: fields.task_key,
            depends_on: fields.depends_on,
            run_if: fields.run_if,
            kind,
            retry: fields.retry,
            extra: fields.rest,
        })
    }
}

impl Serialize for Task {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut rest = Map::new();
        if let Some(kind) = &self.kind {
            rest.insert(
                kind.field().to_string(),
                kind.spec().map_err(S::Error::custom)?,
            );
        }
        rest.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        TaskFields {
            task_key: self.task_key.clone(),
            depends_on: self.depends_on.clone(),
            run_if: self.run_if,
            retry: self.retry.clone(),
            rest,
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retry_policy_counts_retries_and_timeouts() {
        let p = |v: Value| serde_json::from_value::<RetryPolicy>(v).unwrap();
        let two = p(json!({"max_retries": 2}));
        assert!(two.retries_after(0, false) && two.retries_after(1, false));
        assert!(!two.retries_after(2, false));
        assert!(!two.retries_after(0, true), "timeouts retry only if asked");
        assert!(p(json!({"max_retries": 1, "retry_on_timeout": true})).retries_after(0, true));
        assert!(p(json!({"max_retries": -1})).retries_after(1000, false));
        assert!(!RetryPolicy::default().retries_after(0, false));
        assert_eq!(p(json!({"timeout_seconds": 0})).timeout_ms(), None);
        let bad: Task = serde_json::from_value(
            json!({"task_key": "a", "max_retries": -2, "sql_task": {"file": {"path": "/a.sql"}}}),
        )
        .unwrap();
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_retries"));
    }

    #[test]
    fn the_kind_is_read_from_its_field_and_written_back() {
        let v = json!({"task_key": "a", "sql_task": {"file": {"path": "/a.sql"}}, "timeout_seconds": 5});
        let t: Task = serde_json::from_value(v.clone()).unwrap();
        assert!(matches!(&t.kind, Some(TaskKind::Sql(s)) if s.file.is_some()));
        assert_eq!(t.retry.timeout_ms(), Some(5000));
        assert!(t.extra.is_empty());
        assert_eq!(serde_json::to_value(&t).unwrap(), v);

        let nb: Task = serde_json::from_value(
            json!({"task_key": "n", "notebook_task": {"notebook_path": "/n"}}),
        )
        .unwrap();
        assert_eq!(nb.kind.as_ref().map(TaskKind::field), Some("notebook_task"));
        assert!(nb
            .validate()
            .unwrap_err()
            .to_string()
            .contains("notebook_task is not supported"));

        let two = serde_json::from_value::<Task>(
            json!({"task_key": "x", "sql_task": {}, "notebook_task": {}}),
        )
        .unwrap_err();
        assert!(two.to_string().contains("more than one task type"), "{two}");
    }
}

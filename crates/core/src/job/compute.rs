//! Where a task runs: the default pool, an existing cluster (`existing_cluster_id`), a cluster of
//! its own (`new_cluster`), or one of the job's shared job clusters (`job_cluster_key` naming an
//! entry of `job_clusters`). Read from the fields as the Jobs API names them.

use serde_json::Value;

use super::{JobSettings, Task};
use crate::cluster::ClusterSpec;
use crate::error::{DomainError, DomainResult};

/// A task's compute.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskCompute {
    /// The platform's shared workers (`lakeplane dev`'s, or the stack's default pool).
    Default,
    Existing(String),
    New(Box<ClusterSpec>),
    JobCluster(String),
}

impl Task {
    /// Where this task runs; an error names a malformed or conflicting field.
    pub fn compute(&self) -> DomainResult<TaskCompute> {
        let key = &self.task_key;
        let set: Vec<&str> = ["existing_cluster_id", "new_cluster", "job_cluster_key"]
            .into_iter()
            .filter(|f| self.extra.get(*f).is_some_and(|v| !v.is_null()))
            .collect();
        if set.len() > 1 {
            return Err(DomainError::invalid(format!(
                "task '{key}': only one of existing_cluster_id, new_cluster and job_cluster_key may be set, got {}",
                set.join(" and ")
            )));
        }
        let text = |field: &str| -> DomainResult<String> {
            match self.extra.get(field) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
                _ => Err(DomainError::invalid(format!(
                    "task '{key}': {field} must be a non-empty string"
                ))),
            }
        };
        match set.first() {
            None => Ok(TaskCompute::Default),
            Some(&"existing_cluster_id") => text("existing_cluster_id").map(TaskCompute::Existing),
            Some(&"job_cluster_key") => text("job_cluster_key").map(TaskCompute::JobCluster),
            Some(_) => {
                let spec = ClusterSpec::from_json(self.extra["new_cluster"].clone())
                    .map_err(|e| DomainError::invalid(format!("task '{key}': new_cluster: {e}")))?;
                spec.validate()
                    .map_err(|e| DomainError::invalid(format!("task '{key}': new_cluster: {e}")))?;
                Ok(TaskCompute::New(Box::new(spec)))
            }
        }
    }
}

impl JobSettings {
    /// `job_clusters`: each key and its spec.
    pub fn job_clusters(&self) -> DomainResult<Vec<(String, ClusterSpec)>> {
        let Some(list) = self.extra.get("job_clusters").filter(|v| !v.is_null()) else {
            return Ok(Vec::new());
        };
        let Value::Array(list) = list else {
            return Err(DomainError::invalid("job_clusters must be a list"));
        };
        let mut out: Vec<(String, ClusterSpec)> = Vec::with_capacity(list.len());
        for entry in list {
            let key = entry
                .get("job_cluster_key")
                .and_then(Value::as_str)
                .filter(|k| !k.trim().is_empty())
                .ok_or_else(|| {
                    DomainError::invalid("job_clusters[].job_cluster_key is required")
                })?;
            if out.iter().any(|(k, _)| k == key) {
                return Err(DomainError::invalid(format!(
                    "job_cluster_key '{key}' is used by more than one job cluster"
                )));
            }
            let spec = entry.get("new_cluster").cloned().ok_or_else(|| {
                DomainError::invalid(format!("job cluster '{key}': new_cluster is required"))
            })?;
            let spec = ClusterSpec::from_json(spec)
                .and_then(|s| s.validate().map(|()| s))
                .map_err(|e| DomainError::invalid(format!("job cluster '{key}': {e}")))?;
            out.push((key.to_string(), spec));
        }
        Ok(out)
    }

    /// Checks every task's compute against the job's clusters.
    pub(super) fn validate_compute(&self) -> DomainResult<()> {
        let clusters = self.job_clusters()?;
        for t in &self.tasks {
            if let TaskCompute::JobCluster(key) = t.compute()? {
                if !clusters.iter().any(|(k, _)| *k == key) {
                    return Err(DomainError::invalid(format!(
                        "task '{}': job_cluster_key '{key}' is not in job_clusters",
                        t.task_key
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn settings(v: Value) -> DomainResult<JobSettings> {
        let s = JobSettings::from_json(v)?;
        s.validate()?;
        Ok(s)
    }

    const SQL: &str = "/a.sql";

    #[test]
    fn reads_each_kind_of_compute() {
        let s = settings(json!({"job_clusters": [{"job_cluster_key": "jc", "new_cluster": {"num_workers": 1}}],
            "tasks": [
                {"task_key": "a", "sql_task": {"file": {"path": SQL}}},
                {"task_key": "b", "existing_cluster_id": "c-1", "sql_task": {"file": {"path": SQL}}},
                {"task_key": "c", "new_cluster": {"num_workers": 2}, "sql_task": {"file": {"path": SQL}}},
                {"task_key": "d", "job_cluster_key": "jc", "sql_task": {"file": {"path": SQL}}}]}))
        .unwrap();
        let kinds: Vec<TaskCompute> = s.tasks.iter().map(|t| t.compute().unwrap()).collect();
        assert_eq!(kinds[0], TaskCompute::Default);
        assert_eq!(kinds[1], TaskCompute::Existing("c-1".into()));
        assert!(matches!(&kinds[2], TaskCompute::New(spec) if spec.num_workers == Some(2)));
        assert_eq!(kinds[3], TaskCompute::JobCluster("jc".into()));
        assert_eq!(s.job_clusters().unwrap().len(), 1);
    }

    #[test]
    fn refuses_conflicts_and_unknown_keys() {
        let err = |v: Value| settings(v).unwrap_err().to_string();
        assert!(err(
            json!({"tasks": [{"task_key": "a", "existing_cluster_id": "x", "new_cluster": {},
            "sql_task": {"file": {"path": SQL}}}]})
        )
        .contains("only one of"));
        assert!(err(
            json!({"tasks": [{"task_key": "a", "job_cluster_key": "nope",
            "sql_task": {"file": {"path": SQL}}}]})
        )
        .contains("not in job_clusters"));
        assert!(err(json!({"job_clusters": [{"job_cluster_key": "x", "new_cluster": {"node_type_id": "zz"}}],
            "tasks": [{"task_key": "a", "sql_task": {"file": {"path": SQL}}}]}))
        .contains("job cluster 'x'"));
    }
}

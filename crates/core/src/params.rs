//! Which parameter values a task's SQL sees. One rule, in one place, as Databricks documents it:
//! a task's own `sql_task.parameters` are overridden by the run's legacy `sql_params` (run-now), and
//! both are overridden by job parameters (their defaults, overridden by run-now's `job_parameters`).
//!
//! The values are bound into the SQL as values by the engine, never pasted into its text.

use std::collections::BTreeMap;

/// The parameters of one task run, by precedence (later arguments win).
pub fn resolve(
    task_parameters: &BTreeMap<String, String>,
    sql_params: &BTreeMap<String, String>,
    job_parameters: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = task_parameters.clone();
    out.extend(sql_params.iter().map(|(k, v)| (k.clone(), v.clone())));
    out.extend(job_parameters.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn job_parameters_win_over_run_overrides_over_task_parameters() {
        let got = resolve(
            &m(&[("a", "task"), ("b", "task"), ("c", "task")]),
            &m(&[("b", "sql_params"), ("c", "sql_params")]),
            &m(&[("c", "job")]),
        );
        assert_eq!(got, m(&[("a", "task"), ("b", "sql_params"), ("c", "job")]));
    }
}

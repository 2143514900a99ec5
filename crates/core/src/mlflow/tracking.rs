//! Experiments and runs: a run's params (written once), tags, and the latest value of each metric;
//! a metric's history is kept beside the run, point by point.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::limits::{self, MAX_RUN_BYTES};
use super::{set_tag, KeyValue, ACTIVE};
use crate::{DomainError, DomainResult};

/// An experiment: a named folder of runs and logged models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    /// `mlflow-artifacts:/<experiment_id>`: the client sends files through the artifact proxy.
    pub artifact_location: String,
    pub lifecycle_stage: String,
    pub creation_time: i64,
    pub last_update_time: i64,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

/// The id and name of the experiment every server has.
pub const DEFAULT_EXPERIMENT_ID: &str = "0";
pub const DEFAULT_EXPERIMENT_NAME: &str = "Default";

impl Experiment {
    pub fn new(id: String, name: String, now: i64, tags: Vec<KeyValue>) -> Experiment {
        Experiment {
            artifact_location: format!("mlflow-artifacts:/{id}"),
            experiment_id: id,
            name,
            lifecycle_stage: ACTIVE.into(),
            creation_time: now,
            last_update_time: now,
            tags,
        }
    }
}

/// A run's status.
pub const RUN_STATUSES: [&str; 5] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunInfo {
    pub run_id: String,
    /// The same as `run_id` (older clients read it).
    pub run_uuid: String,
    pub run_name: String,
    pub experiment_id: String,
    pub user_id: String,
    pub status: String,
    pub start_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: String,
}

/// One value of a metric. Non-finite values travel as `"NaN"`, `"Infinity"`, `"-Infinity"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Metric {
    pub key: String,
    #[serde(serialize_with = "write_float", deserialize_with = "read_float")]
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    pub value: f64,
    #[serde(default)]
    pub timestamp: i64,
    #[serde(default)]
    pub step: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

fn write_float<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    match v {
        v if v.is_nan() => s.serialize_str("NaN"),
        v if *v == f64::INFINITY => s.serialize_str("Infinity"),
        v if *v == f64::NEG_INFINITY => s.serialize_str("-Infinity"),
        v => s.serialize_f64(*v),
    }
}

fn read_float<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| D::Error::custom("metric value out of range")),
        serde_json::Value::String(s) => match s.as_str() {
            "NaN" | "nan" => Ok(f64::NAN),
            "Infinity" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
            s => s
                .parse()
                .map_err(|_| D::Error::custom(format!("metric value '{s}' is not a number"))),
        },
        other => Err(D::Error::custom(format!(
            "metric value {other} is not a number"
        ))),
    }
}

impl Metric {
    /// Whether this point supersedes `other` as the latest value: a later step, then a later
    /// timestamp, then a larger value (MLflow's order).
    pub fn newer_than(&self, other: &Metric) -> bool {
        (self.step, self.timestamp)
            .cmp(&(other.step, other.timestamp))
            .then(self.value.total_cmp(&other.value))
            .is_gt()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunData {
    #[serde(default)]
    pub metrics: Vec<Metric>,
    #[serde(default)]
    pub params: Vec<KeyValue>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

/// A model a run produced (`runs/outputs`) or read (`runs/log-inputs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelRef {
    pub model_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunInputs {
    #[serde(default)]
    pub dataset_inputs: Vec<serde_json::Value>,
    #[serde(default)]
    pub model_inputs: Vec<ModelRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunOutputs {
    #[serde(default)]
    pub model_outputs: Vec<ModelRef>,
}

/// A run, as `runs/get` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    pub info: RunInfo,
    pub data: RunData,
    #[serde(default)]
    pub inputs: RunInputs,
    #[serde(default)]
    pub outputs: RunOutputs,
}

/// The tag MLflow keeps a run's name in as well.
pub const RUN_NAME_TAG: &str = "mlflow.runName";

impl Run {
    /// A new run in `experiment`.
    pub fn new(id: String, experiment: &Experiment, name: String, user: String, start: i64) -> Run {
        Run {
            info: RunInfo {
                run_uuid: id.clone(),
                artifact_uri: format!("{}/{id}/artifacts", experiment.artifact_location),
                run_id: id,
                run_name: name,
                experiment_id: experiment.experiment_id.clone(),
                user_id: user,
                status: "RUNNING".into(),
                start_time: start,
                end_time: None,
                lifecycle_stage: ACTIVE.into(),
            },
            data: RunData::default(),
            inputs: RunInputs::default(),
            outputs: RunOutputs::default(),
        }
    }

    /// Logs params; a param already logged keeps its value (a different one is refused, as
    /// MLflow refuses it). Returns whether anything changed.
    pub fn log_params(&mut self, params: &[KeyValue]) -> DomainResult<bool> {
        let mut changed = false;
        for p in params {
            limits::check_key("param", &p.key)?;
            limits::check_len(
                &format!("the value of param '{}'", p.key),
                &p.value,
                limits::MAX_PARAM_VALUE_CHARS,
            )?;
            match self.data.params.iter().find(|q| q.key == p.key) {
                Some(q) if q.value == p.value => {}
                Some(q) => {
                    return Err(DomainError::invalid(format!(
                        "Changing param values is not allowed. Param with key='{}' was already \
                         logged with value='{}' for run ID='{}'. Attempted logging new value '{}'.",
                        p.key, q.value, self.info.run_id, p.value
                    )))
                }
                None => {
                    self.data.params.push(p.clone());
                    changed = true;
                }
            }
        }
        Ok(changed)
    }

    /// Sets tags (a `mlflow.runName` tag renames the run).
    pub fn set_tags(&mut self, tags: &[KeyValue]) -> DomainResult<bool> {
        let mut changed = false;
        for t in tags {
            limits::check_tag(&t.key, &t.value)?;
            if t.key == RUN_NAME_TAG && !t.value.is_empty() {
                self.info.run_name = t.value.clone();
            }
            changed |= set_tag(&mut self.data.tags, &t.key, &t.value);
        }
        Ok(changed)
    }

    /// Keeps the latest value of each metric in `points`.
    pub fn log_metrics(&mut self, points: &[Metric]) -> DomainResult<bool> {
        let mut changed = false;
        for m in points {
            limits::check_key("metric", &m.key)?;
            let mut latest = m.clone();
            latest.run_id = None;
            match self.data.metrics.iter_mut().find(|l| l.key == m.key) {
                Some(l) if latest.newer_than(l) => {
                    *l = latest;
                    changed = true;
                }
                Some(_) => {}
                None => {
                    self.data.metrics.push(latest);
                    changed = true;
                }
            }
        }
        Ok(changed)
    }

    /// `runs/update`: a new status, end time or name.
    pub fn update(
        &mut self,
        status: Option<&str>,
        end_time: Option<i64>,
        name: Option<&str>,
    ) -> DomainResult<()> {
        if let Some(s) = status {
            if !RUN_STATUSES.contains(&s) {
                return Err(DomainError::invalid(format!(
                    "Invalid run status '{s}'; expected one of {}",
                    RUN_STATUSES.join(", ")
                )));
            }
            self.info.status = s.to_string();
        }
        if end_time.is_some() {
            self.info.end_time = end_time;
        }
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            limits::check_name("run_name", n)?;
            self.info.run_name = n.to_string();
            set_tag(&mut self.data.tags, RUN_NAME_TAG, n);
        }
        Ok(())
    }

    /// Refuses a run whose document has outgrown [`MAX_RUN_BYTES`].
    pub fn check_size(&self) -> DomainResult<()> {
        let size = serde_json::to_vec(self).map(|v| v.len()).unwrap_or(0);
        if size > MAX_RUN_BYTES {
            return Err(DomainError::invalid(format!(
                "Run {} would hold {size} bytes of params, tags and metrics, over the limit of \
                 {MAX_RUN_BYTES}",
                self.info.run_id
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        let e = Experiment::new("1".into(), "e".into(), 0, vec![]);
        Run::new("r".into(), &e, "n".into(), "u".into(), 1)
    }

    #[test]
    fn params_are_written_once_and_metrics_keep_the_latest() {
        let mut r = run();
        assert!(r.log_params(&[KeyValue::new("a", "1")]).unwrap());
        assert!(!r.log_params(&[KeyValue::new("a", "1")]).unwrap());
        assert!(r.log_params(&[KeyValue::new("a", "2")]).is_err());
        let m = |v: f64, step| Metric {
            key: "loss".into(),
            value: v,
            timestamp: 5,
            step,
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
            run_id: None,
        };
        r.log_metrics(&[m(0.5, 2), m(0.9, 1)]).unwrap();
        assert_eq!(r.data.metrics[0].value, 0.5);
        assert_eq!(r.info.artifact_uri, "mlflow-artifacts:/1/r/artifacts");
    }

    #[test]
    fn non_finite_metrics_travel_as_strings() {
        let m: Metric = serde_json::from_str(r#"{"key":"k","value":"NaN"}"#).unwrap();
        assert!(m.value.is_nan());
        assert!(serde_json::to_string(&m).unwrap().contains("\"NaN\""));
        assert!(serde_json::from_str::<Metric>(r#"{"key":"k","value":true}"#).is_err());
    }
}

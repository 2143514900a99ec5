//! MLflow 3's logged models: a model's files (under its own artifact folder), its params, tags
//! and metrics, apart from any run. `log_model` makes one; a model version's `source` names it as
//! `models:/<model_id>`.

use serde::{Deserialize, Serialize};

use super::limits;
use super::tracking::Metric;
use super::{set_tag, KeyValue};
use crate::{DomainError, DomainResult};

/// A logged model's status.
pub const PENDING: &str = "LOGGED_MODEL_PENDING";
pub const READY: &str = "LOGGED_MODEL_READY";
pub const UPLOAD_FAILED: &str = "LOGGED_MODEL_UPLOAD_FAILED";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedModelInfo {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub creation_timestamp_ms: i64,
    pub last_updated_timestamp_ms: i64,
    /// `mlflow-artifacts:/<experiment_id>/models/<model_id>/artifacts`.
    pub artifact_uri: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    /// Who made it (`user_id` in other objects); not part of MLflow's shape (clients ignore it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub creator: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedModelData {
    #[serde(default)]
    pub params: Vec<KeyValue>,
    #[serde(default)]
    pub metrics: Vec<Metric>,
}

/// A logged model, as `logged-models/{id}` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedModel {
    pub info: LoggedModelInfo,
    pub data: LoggedModelData,
}

impl LoggedModel {
    /// A new, pending logged model in experiment `experiment_id`.
    pub fn new(
        model_id: String,
        experiment_id: String,
        name: String,
        creator: String,
        now: i64,
    ) -> LoggedModel {
        LoggedModel {
            info: LoggedModelInfo {
                artifact_uri: format!(
                    "mlflow-artifacts:/{experiment_id}/models/{model_id}/artifacts"
                ),
                model_id,
                experiment_id,
                name,
                creation_timestamp_ms: now,
                last_updated_timestamp_ms: now,
                status: PENDING.into(),
                model_type: None,
                source_run_id: None,
                status_message: None,
                tags: vec![],
                creator,
            },
            data: LoggedModelData::default(),
        }
    }

    /// The folder of its files below the artifact root (`<experiment>/models/<id>/artifacts`).
    pub fn artifact_path(&self) -> String {
        self.info
            .artifact_uri
            .trim_start_matches("mlflow-artifacts:/")
            .to_string()
    }

    pub fn set_tags(&mut self, tags: &[KeyValue]) -> DomainResult<()> {
        for t in tags {
            limits::check_tag(&t.key, &t.value)?;
            set_tag(&mut self.info.tags, &t.key, &t.value);
        }
        Ok(())
    }

    /// Logs params (a param keeps its first value).
    pub fn log_params(&mut self, params: &[KeyValue]) -> DomainResult<()> {
        for p in params {
            limits::check_key("param", &p.key)?;
            limits::check_len("param value", &p.value, limits::MAX_PARAM_VALUE_CHARS)?;
            if !self.data.params.iter().any(|q| q.key == p.key) {
                self.data.params.push(p.clone());
            }
        }
        Ok(())
    }

    /// `PATCH logged-models/{id}` with a status: READY or UPLOAD_FAILED.
    pub fn finalize(&mut self, status: &str) -> DomainResult<()> {
        if ![READY, UPLOAD_FAILED, PENDING].contains(&status) {
            return Err(DomainError::invalid(format!(
                "Invalid logged model status '{status}'; expected {READY} or {UPLOAD_FAILED}"
            )));
        }
        self.info.status = status.to_string();
        Ok(())
    }
}

//! MLflow 3's logged models: created pending by `log_model`, their files uploaded through the
//! artifact proxy, then finalized READY (or UPLOAD_FAILED); tagged, given params, searched.

use lakeplane_core::mlflow::filter::Value;
use lakeplane_core::mlflow::limits::{check_name, check_tag};
use lakeplane_core::mlflow::logged::LoggedModel;
use lakeplane_core::mlflow::{delete_tag, KeyValue, ACTIVE};
use lakeplane_store::Index;

use super::{num, tag_value, text, Mlflow, Search};
use crate::doc::Paged;
use crate::error::{ControlError, ControlResult};
use crate::layout::mlflow::models_of_experiment;
use crate::time::now_ms;

/// What `POST logged-models` says.
#[derive(Debug, Clone, Default)]
pub struct NewLoggedModel {
    pub experiment_id: String,
    pub name: Option<String>,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}

impl Mlflow {
    pub async fn create_logged_model(
        &self,
        new: NewLoggedModel,
        user: &str,
    ) -> ControlResult<LoggedModel> {
        let experiment = self.experiment(&new.experiment_id).await?;
        if experiment.lifecycle_stage != ACTIVE {
            return Err(ControlError::InvalidState(format!(
                "The experiment {} must be in the 'active' state.",
                experiment.experiment_id
            )));
        }
        if let Some(run) = new.source_run_id.as_deref().filter(|r| !r.is_empty()) {
            self.run(run).await?;
        }
        let name = new
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "model".into());
        check_name("model name", &name)?;
        for t in &new.tags {
            check_tag(&t.key, &t.value)?;
        }
        let id = format!("m-{}", uuid::Uuid::new_v4().simple());
        let mut model = LoggedModel::new(id, experiment.experiment_id, name, user.into(), now_ms());
        model.info.model_type = new.model_type.filter(|t| !t.is_empty());
        model.info.source_run_id = new.source_run_id.filter(|r| !r.is_empty());
        model.set_tags(&new.tags)?;
        model.log_params(&new.params)?;
        self.docs.create(&model).await?;
        Ok(model)
    }

    pub async fn logged_model(&self, id: &str) -> ControlResult<LoggedModel> {
        self.docs.read(&id.to_string()).await
    }

    async fn change_logged_model(
        &self,
        id: &str,
        change: impl Fn(&mut LoggedModel) -> ControlResult<()>,
    ) -> ControlResult<LoggedModel> {
        let (m, _) = self
            .docs
            .update::<LoggedModel>(&id.to_string(), |m| {
                change(m)?;
                m.info.last_updated_timestamp_ms = now_ms();
                Ok(true)
            })
            .await?;
        Ok(m)
    }

    pub async fn finalize_logged_model(
        &self,
        id: &str,
        status: &str,
    ) -> ControlResult<LoggedModel> {
        self.change_logged_model(id, |m| Ok(m.finalize(status)?))
            .await
    }

    pub async fn set_logged_model_tags(
        &self,
        id: &str,
        tags: Vec<KeyValue>,
    ) -> ControlResult<LoggedModel> {
        self.change_logged_model(id, |m| Ok(m.set_tags(&tags)?))
            .await
    }

    pub async fn delete_logged_model_tag(&self, id: &str, key: &str) -> ControlResult<LoggedModel> {
        self.change_logged_model(id, |m| {
            delete_tag(&mut m.info.tags, key);
            Ok(())
        })
        .await
    }

    pub async fn log_logged_model_params(
        &self,
        id: &str,
        params: Vec<KeyValue>,
    ) -> ControlResult<LoggedModel> {
        self.change_logged_model(id, |m| Ok(m.log_params(&params)?))
            .await
    }

    pub async fn delete_logged_model(&self, id: &str) -> ControlResult<()> {
        self.docs.delete::<LoggedModel>(&id.to_string()).await
    }

    /// `logged-models/search` over experiments: newest first unless ordered otherwise.
    pub async fn search_logged_models(
        &self,
        experiments: &[String],
        search: &Search,
    ) -> ControlResult<Paged<LoggedModel>> {
        let (filter, orders) = search.parsed()?;
        let mut found = vec![];
        for e in experiments {
            found.extend(
                self.all::<LoggedModel>(Index::Parent, &models_of_experiment(e))
                    .await?,
            );
        }
        let lookup = |m: &LoggedModel, entity: Option<&str>, key: &str| -> Option<Value> {
            match (entity, key) {
                (Some("metrics"), k) => m
                    .data
                    .metrics
                    .iter()
                    .find(|x| x.key == k)
                    .map(|x| Value::Num(x.value)),
                (Some("params"), k) => m
                    .data
                    .params
                    .iter()
                    .find(|p| p.key == k)
                    .map(|p| Value::Str(p.value.clone())),
                (Some("tags"), k) => tag_value(&m.info.tags, k),
                (_, "name") => text(&m.info.name),
                (_, "model_id") => text(&m.info.model_id),
                (_, "status") => text(&m.info.status),
                (_, "model_type") => m.info.model_type.as_deref().and_then(text),
                (_, "source_run_id") => m.info.source_run_id.as_deref().and_then(text),
                (_, "creation_timestamp" | "creation_time") => num(m.info.creation_timestamp_ms),
                (_, "last_updated_timestamp") => num(m.info.last_updated_timestamp_ms),
                _ => None,
            }
        };
        found.retain(|m| filter.matches(|entity, key| lookup(m, entity, key)));
        lakeplane_core::mlflow::filter::sort(&mut found, &orders, lookup, |a, b| {
            (b.info.creation_timestamp_ms, &b.info.model_id)
                .cmp(&(a.info.creation_timestamp_ms, &a.info.model_id))
        });
        search.page(found, 100)
    }
}

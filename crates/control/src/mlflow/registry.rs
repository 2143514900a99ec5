//! The model registry: registered models (their partition holds their versions), versions
//! numbered from 1, tags, stages and aliases. A version's files are where its `source` says: a
//! logged model (`models:/m-…`), a run's folder (`runs:/<run>/<path>`) or an artifact URI.

use lakeplane_core::mlflow::filter::Value;
use lakeplane_core::mlflow::limits::{check_len, check_name, MAX_DESCRIPTION_CHARS};
use lakeplane_core::mlflow::registry::{self, ModelVersion, RegisteredModel};
use lakeplane_core::mlflow::{delete_tag, KeyValue};
use lakeplane_store::Index;

use super::{num, tag_value, text, Mlflow, Search};
use crate::doc::{Paged, Record};
use crate::error::{ControlError, ControlResult};
use crate::layout::mlflow::{is_version, registered_partition, REGISTERED_MODELS};
use crate::time::now_ms;

impl Mlflow {
    pub async fn create_registered_model(
        &self,
        name: &str,
        description: Option<String>,
        tags: Vec<KeyValue>,
        user: &str,
    ) -> ControlResult<RegisteredModel> {
        check_name("registered model name", name)?;
        let description = description.unwrap_or_default();
        check_len("description", &description, MAX_DESCRIPTION_CHARS)?;
        let mut m = RegisteredModel::new(name.into(), user.into(), description, now_ms());
        m.set_tags(&tags)?;
        self.docs.create(&m).await.map_err(|e| match e {
            ControlError::AlreadyExists { .. } => ControlError::AlreadyExists {
                kind: "Registered Model",
                name: format!("(name={name})"),
            },
            e => e,
        })?;
        Ok(m)
    }

    pub async fn registered_model(&self, name: &str) -> ControlResult<RegisteredModel> {
        self.docs
            .read::<RegisteredModel>(&name.to_string())
            .await
            .map_err(|e| match e {
                ControlError::NotFound { .. } => ControlError::NotFound {
                    kind: "Registered Model",
                    name: format!("with name={name} not found"),
                },
                e => e,
            })
    }

    /// A model's versions, oldest first, with their aliases.
    pub async fn versions(&self, model: &RegisteredModel) -> ControlResult<Vec<ModelVersion>> {
        let items = self
            .docs
            .partition(&registered_partition(&model.name))
            .await?;
        let mut out: Vec<ModelVersion> = items
            .iter()
            .filter(|i| is_version(i))
            .map(ModelVersion::from_item)
            .collect::<ControlResult<_>>()?;
        for v in &mut out {
            v.aliases = model.aliases_of(&v.version);
        }
        out.sort_by_key(ModelVersion::number);
        Ok(out)
    }

    /// The newest version in each stage (of `stages`, or of all).
    pub async fn latest_versions(
        &self,
        model: &RegisteredModel,
        stages: &[String],
    ) -> ControlResult<Vec<ModelVersion>> {
        let stages: Vec<&str> = stages
            .iter()
            .map(|s| registry::stage(s))
            .collect::<Result<_, _>>()?;
        let mut latest: Vec<ModelVersion> = vec![];
        for v in self.versions(model).await? {
            if !stages.is_empty() && !stages.contains(&v.current_stage.as_str()) {
                continue;
            }
            latest.retain(|l| l.current_stage != v.current_stage);
            latest.push(v);
        }
        Ok(latest)
    }

    pub(super) async fn change_model(
        &self,
        name: &str,
        change: impl Fn(&mut RegisteredModel) -> ControlResult<()>,
    ) -> ControlResult<RegisteredModel> {
        self.registered_model(name).await?;
        let (m, _) = self
            .docs
            .update::<RegisteredModel>(&name.to_string(), |m| {
                change(m)?;
                m.last_updated_timestamp = now_ms();
                Ok(true)
            })
            .await?;
        Ok(m)
    }

    pub async fn update_registered_model(
        &self,
        name: &str,
        description: Option<String>,
    ) -> ControlResult<RegisteredModel> {
        let d = description.unwrap_or_default();
        check_len("description", &d, MAX_DESCRIPTION_CHARS)?;
        self.change_model(name, |m| {
            m.description = d.clone();
            Ok(())
        })
        .await
    }

    pub async fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> ControlResult<RegisteredModel> {
        self.change_model(name, |m| {
            match value {
                Some(v) => m.set_tags(&[KeyValue::new(key, v)])?,
                None => {
                    delete_tag(&mut m.tags, key);
                }
            }
            Ok(())
        })
        .await
    }

    /// Deletes a registered model and all its versions (the versions first, the model last, so
    /// that a retry after a failure finds the model and finishes).
    pub async fn delete_registered_model(&self, name: &str) -> ControlResult<()> {
        let model = self.registered_model(name).await?;
        for v in self.versions(&model).await? {
            self.docs.remove(&ModelVersion::key_of(&v.id())).await?;
        }
        self.docs.delete::<RegisteredModel>(&name.to_string()).await
    }

    /// `registered-models/search`: by name (and tags), by name unless ordered otherwise.
    pub async fn search_registered_models(
        &self,
        search: &Search,
    ) -> ControlResult<Paged<RegisteredModel>> {
        let (filter, orders) = search.parsed()?;
        let lookup = |m: &RegisteredModel, entity: Option<&str>, key: &str| -> Option<Value> {
            match (entity, key) {
                (Some("tags"), k) => tag_value(&m.tags, k),
                (_, "name") => text(&m.name),
                (_, "creation_timestamp") => num(m.creation_timestamp),
                (_, "last_updated_timestamp" | "timestamp") => num(m.last_updated_timestamp),
                _ => None,
            }
        };
        let mut found: Vec<RegisteredModel> = self
            .all::<RegisteredModel>(Index::Collection, REGISTERED_MODELS)
            .await?
            .into_iter()
            .filter(|m| filter.matches(|entity, key| lookup(m, entity, key)))
            .collect();
        lakeplane_core::mlflow::filter::sort(&mut found, &orders, lookup, |a, b| {
            a.name.cmp(&b.name)
        });
        search.page(found, 100)
    }
}

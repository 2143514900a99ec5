//! Model versions: registered one past the highest number, found by number or alias, tagged,
//! moved between stages, deleted (with the aliases that named them), searched.

use lakeplane_core::mlflow::filter::Value;
use lakeplane_core::mlflow::limits::{check_len, MAX_DESCRIPTION_CHARS};
use lakeplane_core::mlflow::registry::{self, ModelVersion, RegisteredModel};
use lakeplane_core::mlflow::{delete_tag, KeyValue};
use lakeplane_store::{Index, StoreError};

use super::{num, tag_value, text, Mlflow, Search};
use crate::doc::{Paged, Record};
use crate::error::{ControlError, ControlResult};
use crate::layout::mlflow::{VersionRef, REGISTERED_MODELS};
use crate::time::now_ms;

/// What `model-versions/create` says.
#[derive(Debug, Clone, Default)]
pub struct NewVersion {
    pub name: String,
    pub source: String,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub description: Option<String>,
    pub model_id: Option<String>,
    pub tags: Vec<KeyValue>,
}

fn version_ref(name: &str, version: &str) -> ControlResult<VersionRef> {
    let n = version.trim().parse::<u64>().map_err(|_| {
        ControlError::InvalidParameter(format!("Model version must be an integer, got '{version}'"))
    })?;
    Ok(VersionRef {
        name: name.to_string(),
        version: n,
    })
}

impl Mlflow {
    /// Where a source's files are, as an artifact URI; checks that what it names exists.
    async fn storage_location(&self, new: &NewVersion) -> ControlResult<(String, String)> {
        if let Some(id) = new
            .source
            .strip_prefix("models:/")
            .filter(|s| s.starts_with("m-"))
        {
            let m = self.logged_model(id.trim_end_matches('/')).await?;
            return Ok((m.info.artifact_uri, m.info.model_id));
        }
        if let Some(rest) = new.source.strip_prefix("runs:/") {
            let (run, path) = rest.split_once('/').unwrap_or((rest, ""));
            let r = self.run(run).await?;
            let loc = format!("{}/{}", r.info.artifact_uri, path.trim_matches('/'));
            return Ok((
                loc.trim_end_matches('/').to_string(),
                new.model_id.clone().unwrap_or_default(),
            ));
        }
        if let Some(id) = new.model_id.as_deref().filter(|m| !m.is_empty()) {
            let m = self.logged_model(id).await?;
            return Ok((m.info.artifact_uri, m.info.model_id));
        }
        Ok((new.source.clone(), String::new()))
    }

    /// Registers a new version, numbered one past the highest so far (two registrations at once
    /// race for the number; the loser takes the next).
    pub async fn create_model_version(
        &self,
        new: NewVersion,
        user: &str,
    ) -> ControlResult<ModelVersion> {
        if new.source.trim().is_empty() {
            return Err(ControlError::InvalidParameter(
                "Missing value for required parameter 'source'.".into(),
            ));
        }
        let description = new.description.clone().unwrap_or_default();
        check_len("description", &description, MAX_DESCRIPTION_CHARS)?;
        let (storage_location, model_id) = self.storage_location(&new).await?;
        for _ in 0..32 {
            let model = self.registered_model(&new.name).await?;
            let next = self
                .versions(&model)
                .await?
                .last()
                .map_or(1, |v| v.number() + 1);
            let now = now_ms();
            let mut v = ModelVersion {
                name: model.name.clone(),
                version: next.to_string(),
                creation_timestamp: now,
                last_updated_timestamp: now,
                user_id: user.into(),
                current_stage: "None".into(),
                description: description.clone(),
                source: new.source.clone(),
                run_id: new.run_id.clone().unwrap_or_default(),
                run_link: new.run_link.clone().unwrap_or_default(),
                status: "READY".into(),
                status_message: String::new(),
                tags: vec![],
                aliases: vec![],
                model_id: model_id.clone(),
                storage_location: storage_location.clone(),
            };
            v.set_tags(&new.tags)?;
            match self.docs.create_all(vec![v.to_item()?]).await {
                Ok(()) => return Ok(v),
                Err(ControlError::Store(StoreError::AlreadyExists { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ControlError::Conflict {
            kind: "Registered Model",
            name: new.name,
        })
    }

    pub async fn model_version(&self, name: &str, version: &str) -> ControlResult<ModelVersion> {
        let model = self.registered_model(name).await?;
        let id = version_ref(name, version)?;
        let mut v: ModelVersion = self.docs.read(&id).await.map_err(|e| match e {
            ControlError::NotFound { .. } => ControlError::NotFound {
                kind: "Model Version",
                name: id.to_string(),
            },
            e => e,
        })?;
        v.aliases = model.aliases_of(&v.version);
        Ok(v)
    }

    async fn change_version(
        &self,
        name: &str,
        version: &str,
        change: impl Fn(&mut ModelVersion) -> ControlResult<()>,
    ) -> ControlResult<ModelVersion> {
        self.model_version(name, version).await?;
        let (mut v, _) = self
            .docs
            .update::<ModelVersion>(&version_ref(name, version)?, |v| {
                change(v)?;
                v.last_updated_timestamp = now_ms();
                Ok(true)
            })
            .await?;
        v.aliases = self.registered_model(name).await?.aliases_of(&v.version);
        Ok(v)
    }

    pub async fn update_model_version(
        &self,
        name: &str,
        version: &str,
        description: Option<String>,
    ) -> ControlResult<ModelVersion> {
        let d = description.unwrap_or_default();
        check_len("description", &d, MAX_DESCRIPTION_CHARS)?;
        self.change_version(name, version, |v| {
            v.description = d.clone();
            Ok(())
        })
        .await
    }

    pub async fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: Option<&str>,
    ) -> ControlResult<ModelVersion> {
        self.change_version(name, version, |v| {
            match value {
                Some(val) => v.set_tags(&[KeyValue::new(key, val)])?,
                None => {
                    delete_tag(&mut v.tags, key);
                }
            }
            Ok(())
        })
        .await
    }

    /// Moves a version to `stage`; with `archive_existing`, the others in that stage go to Archived.
    pub async fn transition_stage(
        &self,
        name: &str,
        version: &str,
        stage: &str,
        archive_existing: bool,
    ) -> ControlResult<ModelVersion> {
        let stage = registry::stage(stage)?;
        let moved = self
            .change_version(name, version, |v| {
                v.current_stage = stage.into();
                Ok(())
            })
            .await?;
        if archive_existing && (stage == "Staging" || stage == "Production") {
            let model = self.registered_model(name).await?;
            for other in self.versions(&model).await? {
                if other.version != moved.version && other.current_stage == stage {
                    self.change_version(name, &other.version, |v| {
                        v.current_stage = "Archived".into();
                        Ok(())
                    })
                    .await?;
                }
            }
        }
        Ok(moved)
    }

    /// Deletes a version and the aliases that named it.
    pub async fn delete_model_version(&self, name: &str, version: &str) -> ControlResult<()> {
        let v = self.model_version(name, version).await?;
        self.change_model(name, |m| {
            m.aliases.retain(|a| a.version != v.version);
            Ok(())
        })
        .await?;
        self.docs.delete::<ModelVersion>(&v.id()).await
    }

    /// Where a version's files are (an artifact URI).
    pub async fn download_uri(&self, name: &str, version: &str) -> ControlResult<String> {
        let v = self.model_version(name, version).await?;
        Ok(if v.storage_location.is_empty() {
            v.source
        } else {
            v.storage_location
        })
    }

    pub async fn set_alias(&self, name: &str, alias: &str, version: &str) -> ControlResult<()> {
        let v = self.model_version(name, version).await?;
        self.change_model(name, |m| Ok(m.set_alias(alias, &v.version)?))
            .await?;
        Ok(())
    }

    pub async fn delete_alias(&self, name: &str, alias: &str) -> ControlResult<()> {
        self.change_model(name, |m| {
            m.aliases.retain(|a| a.alias != alias);
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub async fn version_by_alias(&self, name: &str, alias: &str) -> ControlResult<ModelVersion> {
        let model = self.registered_model(name).await?;
        let version = model.alias(alias).ok_or_else(|| ControlError::NotFound {
            kind: "Registered model alias",
            name: format!("{alias} of model {name}"),
        })?;
        self.model_version(name, version).await
    }

    /// `model-versions/search`: by name, run_id, source, tags; newest version first.
    pub async fn search_model_versions(
        &self,
        search: &Search,
    ) -> ControlResult<Paged<ModelVersion>> {
        let (filter, orders) = search.parsed()?;
        // A filter on one name reads that model only.
        let named = filter.0.iter().find_map(|c| {
            match (
                c.entity.as_deref(),
                c.key.as_str(),
                c.op.as_str(),
                &c.values[..],
            ) {
                (None, "name", "=", [Value::Str(n)]) => Some(n.clone()),
                _ => None,
            }
        });
        let models = match named {
            Some(n) => self
                .docs
                .find::<RegisteredModel>(&n)
                .await?
                .into_iter()
                .collect(),
            None => {
                self.all::<RegisteredModel>(Index::Collection, REGISTERED_MODELS)
                    .await?
            }
        };
        let lookup = |v: &ModelVersion, entity: Option<&str>, key: &str| -> Option<Value> {
            match (entity, key) {
                (Some("tags"), k) => tag_value(&v.tags, k),
                (_, "name") => text(&v.name),
                (_, "version" | "version_number") => num(v.number() as i64),
                (_, "run_id") => text(&v.run_id),
                (_, "source" | "source_path") => text(&v.source),
                (_, "current_stage") => text(&v.current_stage),
                (_, "creation_timestamp") => num(v.creation_timestamp),
                (_, "last_updated_timestamp") => num(v.last_updated_timestamp),
                _ => None,
            }
        };
        let mut found = vec![];
        for m in models {
            found.extend(
                self.versions(&m)
                    .await?
                    .into_iter()
                    .filter(|v| filter.matches(|e, k| lookup(v, e, k))),
            );
        }
        lakeplane_core::mlflow::filter::sort(&mut found, &orders, lookup, |a, b| {
            (&a.name, b.number()).cmp(&(&b.name, a.number()))
        });
        search.page(found, 10_000)
    }
}

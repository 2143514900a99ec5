//! Experiments: created with a unique name, found by id or name, renamed, soft-deleted and
//! restored, tagged, searched. Experiment `0` ("Default") exists from the first time it is asked for.

use lakeplane_core::mlflow::filter::Value;
use lakeplane_core::mlflow::limits::{check_name, check_tag};
use lakeplane_core::mlflow::tracking::{
    Experiment, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME,
};
use lakeplane_core::mlflow::{delete_tag, set_tag, KeyValue, ACTIVE, DELETED};
use lakeplane_store::Index;

use super::{num, tag_value, text, Mlflow, Search, ViewType};
use crate::doc::{retry, PageRequest, Paged, Record, Versioned};
use crate::error::{ControlError, ControlResult};
use crate::layout::mlflow::{ExperimentName, EXPERIMENTS};
use crate::time::now_ms;

const COUNTER: &str = "MLFLOW#EXPERIMENTS";

impl Mlflow {
    /// Every record of a listing, page by page.
    pub(crate) async fn all<R: Record>(
        &self,
        index: Index,
        partition: &str,
    ) -> ControlResult<Vec<R>> {
        let mut out = vec![];
        let mut request = PageRequest {
            limit: 1000,
            ..Default::default()
        };
        loop {
            let page = self
                .docs
                .list(index, partition, &request, |_: &R| true)
                .await?;
            out.extend(page.items);
            match page.next_page_token {
                Some(t) => request.page_token = Some(t),
                None => return Ok(out),
            }
        }
    }

    async fn insert_experiment(&self, e: &Experiment) -> ControlResult<()> {
        let guard = ExperimentName {
            name: e.name.clone(),
            experiment_id: e.experiment_id.clone(),
        };
        match self
            .docs
            .create_all(vec![e.to_item()?, guard.to_item()?])
            .await
        {
            Err(ControlError::Store(lakeplane_store::StoreError::AlreadyExists { .. })) => {
                Err(ControlError::AlreadyExists {
                    kind: "Experiment",
                    name: format!("'{}'", e.name),
                })
            }
            other => other,
        }
    }

    /// Experiment `0`, made the first time it is needed.
    async fn ensure_default(&self) -> ControlResult<()> {
        let e = Experiment::new(
            DEFAULT_EXPERIMENT_ID.into(),
            DEFAULT_EXPERIMENT_NAME.into(),
            now_ms(),
            vec![],
        );
        match self.insert_experiment(&e).await {
            Ok(()) | Err(ControlError::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn create_experiment(
        &self,
        name: &str,
        tags: Vec<KeyValue>,
    ) -> ControlResult<Experiment> {
        check_name("experiment name", name)?;
        for t in &tags {
            check_tag(&t.key, &t.value)?;
        }
        let id = self.docs.next_ids(COUNTER, 1).await?;
        let e = Experiment::new(id.to_string(), name.to_string(), now_ms(), tags);
        self.insert_experiment(&e).await?;
        Ok(e)
    }

    pub async fn experiment(&self, id: &str) -> ControlResult<Experiment> {
        match self.docs.read::<Experiment>(&id.to_string()).await {
            Err(ControlError::NotFound { .. }) if id == DEFAULT_EXPERIMENT_ID => {
                self.ensure_default().await?;
                self.docs.read(&id.to_string()).await
            }
            Err(ControlError::NotFound { .. }) => Err(ControlError::NotFound {
                kind: "Experiment",
                name: format!("with id '{id}'"),
            }),
            other => other,
        }
    }

    pub async fn experiment_by_name(&self, name: &str) -> ControlResult<Experiment> {
        let found = match self.docs.find::<ExperimentName>(&name.to_string()).await? {
            None if name == DEFAULT_EXPERIMENT_NAME => {
                self.ensure_default().await?;
                self.docs.find::<ExperimentName>(&name.to_string()).await?
            }
            other => other,
        };
        match found {
            Some(g) => self.experiment(&g.experiment_id).await,
            None => Err(ControlError::NotFound {
                kind: "Experiment",
                name: format!("with name '{name}'"),
            }),
        }
    }

    /// Renames an experiment: the new name's guard is taken before the old one is released.
    pub async fn rename_experiment(&self, id: &str, new_name: &str) -> ControlResult<Experiment> {
        check_name("experiment name", new_name)?;
        let old = self.experiment(id).await?;
        if old.name == new_name {
            return Ok(old);
        }
        let guard = ExperimentName {
            name: new_name.into(),
            experiment_id: id.into(),
        };
        self.docs.create(&guard).await.map_err(|e| match e {
            ControlError::AlreadyExists { .. } => ControlError::AlreadyExists {
                kind: "Experiment",
                name: format!("'{new_name}'"),
            },
            e => e,
        })?;
        let (e, _) = self
            .docs
            .update::<Experiment>(&id.to_string(), |e| {
                e.name = new_name.to_string();
                e.last_update_time = now_ms();
                Ok(true)
            })
            .await?;
        self.docs.remove(&ExperimentName::key_of(&old.name)).await?;
        Ok(e)
    }

    async fn change_experiment(
        &self,
        id: &str,
        change: impl Fn(&mut Experiment) -> ControlResult<bool>,
    ) -> ControlResult<Experiment> {
        self.experiment(id).await?;
        let (e, _) = retry("Experiment", id, |_| async {
            let Versioned { mut doc, version } =
                self.docs.get::<Experiment>(&id.to_string()).await?;
            if change(&mut doc)? {
                doc.last_update_time = now_ms();
                self.docs.replace(&doc, version).await?;
            }
            Ok((doc, true))
        })
        .await?;
        Ok(e)
    }

    /// Marks an experiment deleted (`experiments/delete`), or active again (`experiments/restore`).
    pub async fn set_experiment_deleted(
        &self,
        id: &str,
        deleted: bool,
    ) -> ControlResult<Experiment> {
        if deleted && id == DEFAULT_EXPERIMENT_ID {
            return Err(ControlError::InvalidParameter(
                "Cannot delete the default experiment '0'.".into(),
            ));
        }
        let stage = if deleted { DELETED } else { ACTIVE };
        self.change_experiment(id, |e| {
            let changed = e.lifecycle_stage != stage;
            e.lifecycle_stage = stage.into();
            Ok(changed)
        })
        .await
    }

    pub async fn set_experiment_tag(
        &self,
        id: &str,
        key: &str,
        value: Option<&str>,
    ) -> ControlResult<Experiment> {
        if let Some(v) = value {
            check_tag(key, v)?;
        }
        self.change_experiment(id, |e| {
            Ok(match value {
                Some(v) => set_tag(&mut e.tags, key, v),
                None => delete_tag(&mut e.tags, key),
            })
        })
        .await
    }

    /// `experiments/search`: by name, tags and times; newest first by default.
    pub async fn search_experiments(
        &self,
        view: ViewType,
        search: &Search,
    ) -> ControlResult<Paged<Experiment>> {
        self.ensure_default().await?;
        let (filter, orders) = search.parsed()?;
        let lookup = |e: &Experiment, entity: Option<&str>, key: &str| -> Option<Value> {
            match (entity, key) {
                (Some("tags"), k) => tag_value(&e.tags, k),
                (_, "name") => text(&e.name),
                (_, "creation_time") => num(e.creation_time),
                (_, "last_update_time") => num(e.last_update_time),
                (_, "experiment_id") => text(&e.experiment_id),
                _ => None,
            }
        };
        let mut found: Vec<Experiment> = self
            .all::<Experiment>(Index::Collection, EXPERIMENTS)
            .await?
            .into_iter()
            .filter(|e| view.shows(&e.lifecycle_stage))
            .filter(|e| filter.matches(|entity, key| lookup(e, entity, key)))
            .collect();
        lakeplane_core::mlflow::filter::sort(&mut found, &orders, lookup, |a, b| {
            let n = |e: &Experiment| e.experiment_id.parse::<u64>().unwrap_or(0);
            (b.last_update_time, n(b)).cmp(&(a.last_update_time, n(a)))
        });
        search.page(found, 1000)
    }
}

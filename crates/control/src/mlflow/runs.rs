//! Runs: created in an experiment, their params, tags and metrics logged in batches (each metric
//! point also kept in the run's partition, for its history), updated, soft-deleted, searched.

use lakeplane_core::mlflow::filter::Value;
use lakeplane_core::mlflow::limits::{
    MAX_BATCH_ENTRIES, MAX_BATCH_METRICS, MAX_BATCH_PARAMS, MAX_BATCH_TAGS,
};
use lakeplane_core::mlflow::tracking::{Metric, ModelRef, Run, RUN_NAME_TAG};
use lakeplane_core::mlflow::{delete_tag, KeyValue, ACTIVE, DELETED};
use lakeplane_store::{Index, StoreError};

use super::{num, tag_value, text, Mlflow, Search, ViewType};
use crate::doc::Paged;
use crate::error::{ControlError, ControlResult};
use crate::layout::mlflow::{is_point_of, metric_point, mlrun_partition, runs_of_experiment};
use crate::time::now_ms;

/// What `runs/create` says.
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    pub experiment_id: String,
    pub run_name: Option<String>,
    pub start_time: Option<i64>,
    pub tags: Vec<KeyValue>,
}

/// A name for a run that was given none, as MLflow makes them (`clever-fox-42`).
fn generated_name() -> String {
    const ADJ: [&str; 8] = [
        "bold", "calm", "clever", "eager", "gentle", "keen", "quiet", "swift",
    ];
    const NOUN: [&str; 8] = [
        "fox", "owl", "lark", "trout", "hare", "wren", "seal", "lynx",
    ];
    let r: u32 = rand::random();
    format!(
        "{}-{}-{}",
        ADJ[(r % 8) as usize],
        NOUN[(r / 8 % 8) as usize],
        r / 64 % 1000
    )
}

impl Mlflow {
    pub async fn create_run(&self, new: NewRun, user: &str) -> ControlResult<Run> {
        let experiment = self.experiment(&new.experiment_id).await?;
        if experiment.lifecycle_stage != ACTIVE {
            return Err(ControlError::InvalidState(format!(
                "The experiment {} must be in the 'active' state.",
                experiment.experiment_id
            )));
        }
        let name = new
            .run_name
            .filter(|n| !n.is_empty())
            .or_else(|| {
                new.tags
                    .iter()
                    .find(|t| t.key == RUN_NAME_TAG)
                    .map(|t| t.value.clone())
            })
            .unwrap_or_else(generated_name);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut run = Run::new(
            id,
            &experiment,
            name.clone(),
            user.to_string(),
            new.start_time.unwrap_or_else(now_ms),
        );
        run.set_tags(&new.tags)?;
        run.set_tags(&[KeyValue::new(RUN_NAME_TAG, name)])?;
        run.check_size()?;
        self.docs.create(&run).await?;
        Ok(run)
    }

    pub async fn run(&self, id: &str) -> ControlResult<Run> {
        self.docs
            .read::<Run>(&id.to_string())
            .await
            .map_err(|e| match e {
                ControlError::NotFound { .. } => ControlError::NotFound {
                    kind: "Run",
                    name: format!("with id={id}"),
                },
                e => e,
            })
    }

    /// Changes a run that must be active.
    async fn change_run(
        &self,
        id: &str,
        change: impl Fn(&mut Run) -> ControlResult<bool>,
    ) -> ControlResult<Run> {
        self.run(id).await?;
        let (run, _) = self
            .docs
            .update::<Run>(&id.to_string(), |run| {
                if run.info.lifecycle_stage != ACTIVE {
                    return Err(ControlError::InvalidState(format!(
                        "The run {id} must be in the 'active' state. Current state is {}.",
                        run.info.lifecycle_stage
                    )));
                }
                let changed = change(run)?;
                run.check_size()?;
                Ok(changed)
            })
            .await?;
        Ok(run)
    }

    pub async fn update_run(
        &self,
        id: &str,
        status: Option<&str>,
        end_time: Option<i64>,
        name: Option<&str>,
    ) -> ControlResult<Run> {
        self.change_run(id, |run| {
            run.update(status, end_time, name)?;
            Ok(true)
        })
        .await
    }

    /// `runs/delete` and `runs/restore`.
    pub async fn set_run_deleted(&self, id: &str, deleted: bool) -> ControlResult<()> {
        self.run(id).await?;
        let stage = if deleted { DELETED } else { ACTIVE };
        self.docs
            .update::<Run>(&id.to_string(), |run| {
                let changed = run.info.lifecycle_stage != stage;
                run.info.lifecycle_stage = stage.into();
                Ok(changed)
            })
            .await?;
        Ok(())
    }

    /// `runs/log-batch` (and log-metric, log-parameter, set-tag): points first, then the run.
    /// A retried batch writes each point once and changes the run to the same result.
    pub async fn log_batch(
        &self,
        id: &str,
        metrics: Vec<Metric>,
        params: Vec<KeyValue>,
        tags: Vec<KeyValue>,
    ) -> ControlResult<Run> {
        let (m, p, t) = (metrics.len(), params.len(), tags.len());
        if m > MAX_BATCH_METRICS
            || p > MAX_BATCH_PARAMS
            || t > MAX_BATCH_TAGS
            || m + p + t > MAX_BATCH_ENTRIES
        {
            return Err(ControlError::InvalidParameter(format!(
                "A batch logged {m} metrics, {p} params and {t} tags; the limits are \
                 {MAX_BATCH_METRICS} metrics, {MAX_BATCH_PARAMS} params, {MAX_BATCH_TAGS} tags and \
                 {MAX_BATCH_ENTRIES} in all."
            )));
        }
        let run = self.run(id).await?;
        // Check everything before writing anything.
        let mut probe = run.clone();
        probe.log_params(&params)?;
        probe.set_tags(&tags)?;
        probe.log_metrics(&metrics)?;
        probe.check_size()?;
        self.write_points(id, &metrics).await?;
        self.change_run(id, |run| {
            Ok(run.log_params(&params)? | run.set_tags(&tags)? | run.log_metrics(&metrics)?)
        })
        .await
    }

    async fn write_points(&self, id: &str, metrics: &[Metric]) -> ControlResult<()> {
        let items: Vec<_> = metrics.iter().map(|m| metric_point(id, m)).collect();
        for chunk in items.chunks(25) {
            match self.docs.create_all(chunk.to_vec()).await {
                Ok(()) => {}
                // A point already there (a retry): write the others one by one.
                Err(ControlError::Store(StoreError::AlreadyExists { .. })) => {
                    for item in chunk {
                        match self.docs.create_all(vec![item.clone()]).await {
                            Ok(()) | Err(ControlError::Store(StoreError::AlreadyExists { .. })) => {
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub async fn delete_run_tag(&self, id: &str, key: &str) -> ControlResult<()> {
        self.change_run(id, |run| Ok(delete_tag(&mut run.data.tags, key)))
            .await?;
        Ok(())
    }

    /// `runs/outputs` and `runs/log-inputs`' models.
    pub async fn log_models(
        &self,
        id: &str,
        outputs: Vec<ModelRef>,
        inputs: Vec<ModelRef>,
    ) -> ControlResult<()> {
        self.change_run(id, |run| {
            let mut changed = false;
            for m in &outputs {
                if !run.outputs.model_outputs.contains(m) {
                    run.outputs.model_outputs.push(m.clone());
                    changed = true;
                }
            }
            for m in &inputs {
                if !run.inputs.model_inputs.contains(m) {
                    run.inputs.model_inputs.push(m.clone());
                    changed = true;
                }
            }
            Ok(changed)
        })
        .await?;
        Ok(())
    }

    /// Every point of metric `key`, by step then time.
    pub async fn metric_history(&self, id: &str, key: &str) -> ControlResult<Vec<Metric>> {
        self.run(id).await?;
        let items = self.docs.partition(&mlrun_partition(id)).await?;
        let mut points = vec![];
        for item in items.iter().filter(|i| is_point_of(i, key)) {
            let m: Metric =
                serde_json::from_str(&item.body).map_err(|source| ControlError::Corrupt {
                    kind: "Metric",
                    item: item.key.to_string(),
                    source,
                })?;
            points.push(m);
        }
        Ok(points)
    }

    /// `runs/search` over experiments: newest first unless ordered otherwise.
    pub async fn search_runs(
        &self,
        experiments: &[String],
        view: ViewType,
        search: &Search,
    ) -> ControlResult<Paged<Run>> {
        let (filter, orders) = search.parsed()?;
        let mut found = vec![];
        for e in experiments {
            let runs = self
                .all::<Run>(Index::Parent, &runs_of_experiment(e))
                .await?;
            found.extend(
                runs.into_iter()
                    .filter(|r| view.shows(&r.info.lifecycle_stage)),
            );
        }
        let lookup = |r: &Run, entity: Option<&str>, key: &str| -> Option<Value> {
            match (entity, key) {
                (Some("metrics"), k) => r
                    .data
                    .metrics
                    .iter()
                    .find(|m| m.key == k)
                    .map(|m| Value::Num(m.value)),
                (Some("params"), k) => r
                    .data
                    .params
                    .iter()
                    .find(|p| p.key == k)
                    .map(|p| Value::Str(p.value.clone())),
                (Some("tags"), k) => tag_value(&r.data.tags, k),
                (_, "run_id" | "run_uuid") => text(&r.info.run_id),
                (_, "run_name") => text(&r.info.run_name),
                (_, "status") => text(&r.info.status),
                (_, "user_id") => text(&r.info.user_id),
                (_, "start_time") => num(r.info.start_time),
                (_, "end_time") => r.info.end_time.and_then(num),
                (_, "artifact_uri") => text(&r.info.artifact_uri),
                (_, "lifecycle_stage") => text(&r.info.lifecycle_stage),
                _ => None,
            }
        };
        found.retain(|r| filter.matches(|entity, key| lookup(r, entity, key)));
        lakeplane_core::mlflow::filter::sort(&mut found, &orders, lookup, |a, b| {
            (b.info.start_time, &b.info.run_id).cmp(&(a.info.start_time, &a.info.run_id))
        });
        search.page(found, 1000)
    }
}

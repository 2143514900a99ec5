//! How MLflow's records are laid out: experiments (and a guard item per name, so names stay
//! unique), runs with their metric history in the run's partition, logged models, and registered
//! models with their versions in the model's partition.

use lakeplane_core::mlflow::logged::LoggedModel;
use lakeplane_core::mlflow::registry::{ModelVersion, RegisteredModel};
use lakeplane_core::mlflow::tracking::{Experiment, Metric, Run};
use lakeplane_store::{IndexEntry, Item, Key};

use super::padded;
use crate::doc::Record;

/// The listing of all experiments, by id.
pub const EXPERIMENTS: &str = "EXPERIMENTS";
/// The listing of all registered models, by name.
pub const REGISTERED_MODELS: &str = "REGISTERED_MODELS";
const METRIC_SK: &str = "METRIC#";
const VERSION_SK: &str = "VERSION#";

/// The listing of an experiment's runs, newest first.
pub fn runs_of_experiment(id: &str) -> String {
    format!("MLEXP#{id}#RUNS")
}

/// The listing of an experiment's logged models, newest first.
pub fn models_of_experiment(id: &str) -> String {
    format!("MLEXP#{id}#MODELS")
}

/// Newest first for a millisecond time, then by id.
fn newest(ms: i64, id: &str) -> String {
    format!("{}#{id}", padded(u64::MAX - ms.max(0) as u64))
}

impl Record for Experiment {
    const KIND: &'static str = "Experiment";
    type Id = String;

    fn key_of(id: &String) -> Key {
        Key::new(format!("MLEXP#{id}"), "EXPERIMENT")
    }

    fn id(&self) -> String {
        self.experiment_id.clone()
    }

    fn layout(&self, item: &mut Item) {
        let n: u64 = self.experiment_id.parse().unwrap_or(0);
        item.collection = Some(IndexEntry::new(EXPERIMENTS, padded(n)));
    }
}

/// The item that holds an experiment's name, inserted with it: a second experiment of that name
/// cannot be inserted.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExperimentName {
    pub name: String,
    pub experiment_id: String,
}

impl Record for ExperimentName {
    const KIND: &'static str = "Experiment";
    type Id = String;

    fn key_of(name: &String) -> Key {
        Key::new(format!("MLEXPNAME#{name}"), "NAME")
    }

    fn id(&self) -> String {
        self.name.clone()
    }
}

/// The partition of a run and its metric history.
pub fn mlrun_partition(id: &str) -> String {
    format!("MLRUN#{id}")
}

impl Record for Run {
    const KIND: &'static str = "Run";
    type Id = String;

    fn key_of(id: &String) -> Key {
        Key::new(mlrun_partition(id), "RUN")
    }

    fn id(&self) -> String {
        self.info.run_id.clone()
    }

    fn layout(&self, item: &mut Item) {
        item.parent = Some(IndexEntry::new(
            runs_of_experiment(&self.info.experiment_id),
            newest(self.info.start_time, &self.info.run_id),
        ));
    }
}

/// Steps may be negative: shifted so that string order is numeric order.
fn ordered(n: i64) -> String {
    padded((n as i128 - i64::MIN as i128) as u64)
}

/// The item of one point of a metric's history: keyed by the point itself, so that logging the
/// same point twice (a retried request) writes it once.
pub fn metric_point(run_id: &str, m: &Metric) -> Item {
    let sk = format!(
        "{METRIC_SK}{}#{}#{}#{:016x}",
        m.key,
        ordered(m.step),
        ordered(m.timestamp),
        m.value.to_bits()
    );
    let body = serde_json::to_string(m).unwrap_or_default();
    Item::new(Key::new(mlrun_partition(run_id), sk), body)
}

/// Whether an item of a run's partition is a point of metric `key`.
pub fn is_point_of(item: &Item, key: &str) -> bool {
    item.key
        .sk
        .strip_prefix(METRIC_SK)
        .and_then(|rest| rest.strip_prefix(key))
        .is_some_and(|rest| rest.starts_with('#'))
}

impl Record for LoggedModel {
    const KIND: &'static str = "Logged model";
    type Id = String;

    fn key_of(id: &String) -> Key {
        Key::new(format!("MLMODEL#{id}"), "MODEL")
    }

    fn id(&self) -> String {
        self.info.model_id.clone()
    }

    fn layout(&self, item: &mut Item) {
        item.parent = Some(IndexEntry::new(
            models_of_experiment(&self.info.experiment_id),
            newest(self.info.creation_timestamp_ms, &self.info.model_id),
        ));
    }
}

/// The partition of a registered model and its versions.
pub fn registered_partition(name: &str) -> String {
    format!("REGMODEL#{name}")
}

impl Record for RegisteredModel {
    const KIND: &'static str = "Registered Model";
    type Id = String;

    fn key_of(name: &String) -> Key {
        Key::new(registered_partition(name), "MODEL")
    }

    fn id(&self) -> String {
        self.name.clone()
    }

    fn layout(&self, item: &mut Item) {
        item.collection = Some(IndexEntry::new(REGISTERED_MODELS, self.name.clone()));
    }
}

/// A model version's name: its model and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRef {
    pub name: String,
    pub version: u64,
}

impl std::fmt::Display for VersionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(name={}, version={})", self.name, self.version)
    }
}

impl Record for ModelVersion {
    const KIND: &'static str = "Model Version";
    type Id = VersionRef;

    fn key_of(id: &VersionRef) -> Key {
        Key::new(
            registered_partition(&id.name),
            format!("{VERSION_SK}{}", padded(id.version)),
        )
    }

    fn id(&self) -> VersionRef {
        VersionRef {
            name: self.name.clone(),
            version: self.number(),
        }
    }
}

/// Whether an item of a registered model's partition is one of its versions.
pub fn is_version(item: &Item) -> bool {
    item.key.sk.starts_with(VERSION_SK)
}

/// The listing of all serving endpoints, by name.
pub const SERVING_ENDPOINTS: &str = "SERVING_ENDPOINTS";

impl Record for lakeplane_core::serving::ServingEndpoint {
    const KIND: &'static str = "Serving endpoint";
    type Id = String;

    fn key_of(name: &String) -> Key {
        Key::new(format!("SERVING#{name}"), "ENDPOINT")
    }

    fn id(&self) -> String {
        self.name.clone()
    }

    fn layout(&self, item: &mut Item) {
        item.collection = Some(IndexEntry::new(SERVING_ENDPOINTS, self.name.clone()));
    }
}

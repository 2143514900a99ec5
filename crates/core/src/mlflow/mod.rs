//! MLflow's tracking and registry objects, in the JSON shapes the `mlflow` client reads and writes
//! (`/api/2.0/mlflow/…`): experiments and runs with their params, metrics and tags
//! ([`tracking`]), MLflow 3's logged models ([`logged`]), registered models with their versions
//! and aliases ([`registry`]), the search filter language ([`filter`]), the limits every document
//! keeps ([`limits`]) and the artifact store port ([`artifacts`]). No I/O here.

pub mod artifacts;
pub mod filter;
pub mod limits;
pub mod logged;
pub mod registry;
pub mod tracking;

use serde::{Deserialize, Serialize};

/// A tag or a parameter: MLflow's `{key, value}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

impl KeyValue {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Sets `key` to `value` in a tag list (replacing an earlier value); returns whether it changed.
pub fn set_tag(tags: &mut Vec<KeyValue>, key: &str, value: &str) -> bool {
    match tags.iter_mut().find(|t| t.key == key) {
        Some(t) if t.value == value => false,
        Some(t) => {
            t.value = value.to_string();
            true
        }
        None => {
            tags.push(KeyValue::new(key, value));
            true
        }
    }
}

/// Removes `key` from a tag list; returns whether it was there.
pub fn delete_tag(tags: &mut Vec<KeyValue>, key: &str) -> bool {
    let before = tags.len();
    tags.retain(|t| t.key != key);
    tags.len() != before
}

/// `active` or `deleted`, as MLflow spells them.
pub const ACTIVE: &str = "active";
pub const DELETED: &str = "deleted";

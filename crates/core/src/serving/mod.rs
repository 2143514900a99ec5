//! Model serving: endpoints that answer predictions from registered model versions. An endpoint
//! has the configuration it serves and, while one is being deployed, a pending one; a pending
//! configuration replaces the served one only once it is ready (blue/green), and a failed one
//! leaves the served one in place. [`port::ModelServing`] is where models run: SageMaker
//! endpoints on AWS, MLflow scoring-server processes locally.

pub mod calls;
pub mod config;
pub mod port;

use serde::{Deserialize, Serialize};

pub use config::{EndpointConfig, Route, ServedEntity};

use crate::{DomainError, DomainResult};

/// `state.ready`.
pub const READY: &str = "READY";
pub const NOT_READY: &str = "NOT_READY";
/// `state.config_update`.
pub const NOT_UPDATING: &str = "NOT_UPDATING";
pub const IN_PROGRESS: &str = "IN_PROGRESS";
pub const UPDATE_FAILED: &str = "UPDATE_FAILED";

/// A serving endpoint as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServingEndpoint {
    pub name: String,
    pub id: String,
    pub creator: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    /// What answers requests now.
    #[serde(default)]
    pub config: Option<EndpointConfig>,
    /// What is being deployed.
    #[serde(default)]
    pub pending: Option<EndpointConfig>,
    pub ready: String,
    pub config_update: String,
    /// Why the last update failed (with the model server's last log lines).
    #[serde(default)]
    pub failure: Option<String>,
    #[serde(default)]
    pub tags: Vec<crate::mlflow::KeyValue>,
    /// The highest config version handed out.
    pub last_config_version: u64,
    /// Users and groups that may query it besides its creator and admins (`CAN_QUERY`).
    #[serde(default)]
    pub can_query: Vec<String>,
}

impl ServingEndpoint {
    /// A new endpoint deploying `config` (which becomes version 1).
    pub fn new(
        name: String,
        creator: String,
        mut config: EndpointConfig,
        now: i64,
    ) -> DomainResult<ServingEndpoint> {
        config::check_name("endpoint name", &name)?;
        config.config_version = 1;
        config.start_time = now;
        config.validate()?;
        Ok(ServingEndpoint {
            id: format!("{:032x}", rand_id(&name, now)),
            name,
            creator,
            creation_timestamp: now,
            last_updated_timestamp: now,
            config: None,
            pending: Some(config),
            ready: NOT_READY.into(),
            config_update: IN_PROGRESS.into(),
            failure: None,
            tags: vec![],
            last_config_version: 1,
            can_query: vec![],
        })
    }

    /// `PUT …/config`: deploys `config` next to the served one. Refused while another deploys.
    pub fn update(&mut self, mut config: EndpointConfig, now: i64) -> DomainResult<u64> {
        if self.pending.is_some() {
            return Err(DomainError::InvalidTransition {
                object: format!("serving endpoint {}", self.name),
                action: "update the config of",
                state: "already being updated".into(),
            });
        }
        config.config_version = self.last_config_version + 1;
        config.start_time = now;
        config.validate()?;
        self.last_config_version = config.config_version;
        self.pending = Some(config);
        self.config_update = IN_PROGRESS.into();
        self.failure = None;
        self.last_updated_timestamp = now;
        Ok(self.last_config_version)
    }

    /// The pending config `version` is up: it serves from now on. Returns the config it replaced.
    pub fn deployed(&mut self, version: u64, now: i64) -> Option<EndpointConfig> {
        if self.pending.as_ref().map(|p| p.config_version) != Some(version) {
            return None;
        }
        let old = std::mem::replace(&mut self.config, self.pending.take());
        self.ready = READY.into();
        self.config_update = NOT_UPDATING.into();
        self.failure = None;
        self.last_updated_timestamp = now;
        old
    }

    /// The pending config `version` could not start: the served one (if any) keeps serving.
    pub fn failed(&mut self, version: u64, why: String, now: i64) -> bool {
        if self.pending.as_ref().map(|p| p.config_version) != Some(version) {
            return false;
        }
        self.pending = None;
        self.config_update = UPDATE_FAILED.into();
        self.ready = if self.config.is_some() {
            READY
        } else {
            NOT_READY
        }
        .into();
        self.failure = Some(why);
        self.last_updated_timestamp = now;
        true
    }
}

impl ServingEndpoint {
    /// Whether `who` may query it: its creator, an admin, or someone granted CAN_QUERY.
    pub fn may_query(&self, who: &crate::catalog::Identity) -> bool {
        who.admin
            || who.user == self.creator
            || self
                .can_query
                .iter()
                .any(|p| *p == who.user || who.groups.contains(p))
    }
}

/// An id from the name and the time (unique per name and millisecond).
fn rand_id(name: &str, now: i64) -> u128 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (name, now).hash(&mut h);
    ((h.finish() as u128) << 64) | now as u128
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(version: &str) -> EndpointConfig {
        EndpointConfig {
            config_version: 0,
            served_entities: vec![ServedEntity {
                name: format!("m-{version}"),
                entity_name: "m".into(),
                entity_version: version.into(),
                workload_size: "Small".into(),
                workload_type: "CPU".into(),
                scale_to_zero_enabled: false,
                environment_vars: Default::default(),
                instance_type: None,
            }],
            routes: vec![],
            start_time: 0,
        }
    }

    #[test]
    fn a_new_config_serves_only_once_ready_and_a_failed_one_changes_nothing() {
        let mut e = ServingEndpoint::new("ep".into(), "u".into(), config("1"), 1).unwrap();
        assert_eq!(
            (e.ready.as_str(), e.config_update.as_str()),
            (NOT_READY, IN_PROGRESS)
        );
        assert!(e.deployed(1, 2).is_none());
        assert_eq!(
            (e.ready.as_str(), e.config_update.as_str()),
            (READY, NOT_UPDATING)
        );
        assert_eq!(e.update(config("2"), 3).unwrap(), 2);
        assert!(e.update(config("3"), 3).is_err(), "one update at a time");
        assert!(e.failed(2, "no".into(), 4));
        assert_eq!(
            (e.ready.as_str(), e.config_update.as_str()),
            (READY, UPDATE_FAILED)
        );
        assert_eq!(e.config.as_ref().unwrap().config_version, 1);
        assert_eq!(e.update(config("2"), 5).unwrap(), 3);
        assert!(
            !e.failed(2, "stale".into(), 6),
            "a stale report changes nothing"
        );
        let old = e.deployed(3, 7).unwrap();
        assert_eq!(old.config_version, 1);
        assert_eq!(
            e.config.as_ref().unwrap().served_entities[0].entity_version,
            "2"
        );
    }
}

//! A SQL warehouse: named compute that statements run on, with the states the SDK's waiters poll
//! (`STARTING → RUNNING`, `STOPPING → STOPPED`, `DELETED`) and auto-stop after idle minutes.
//!
//! What makes a warehouse RUNNING is whoever serves its queue: in `lakeplane dev`, the worker
//! processes (every warehouse is a pool of their engine slots); on AWS, its EC2 workers.

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult};

/// The sizes Databricks names; lakeplane keeps the name (a later issue maps it to instances).
pub const CLUSTER_SIZES: &[&str] = &[
    "2X-Small", "X-Small", "Small", "Medium", "Large", "X-Large", "2X-Large", "3X-Large",
    "4X-Large",
];
/// The longest warehouse name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The most custom tags on a warehouse.
pub const MAX_TAGS: usize = 45;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WarehouseState {
    Starting,
    Running,
    Stopping,
    Stopped,
    Deleting,
    Deleted,
}

impl WarehouseState {
    pub fn as_str(self) -> &'static str {
        match self {
            WarehouseState::Starting => "STARTING",
            WarehouseState::Running => "RUNNING",
            WarehouseState::Stopping => "STOPPING",
            WarehouseState::Stopped => "STOPPED",
            WarehouseState::Deleting => "DELETING",
            WarehouseState::Deleted => "DELETED",
        }
    }
}

/// A custom tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// What a user sets on a warehouse (create and edit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseSpec {
    pub name: String,
    pub cluster_size: String,
    pub min_num_clusters: u32,
    pub max_num_clusters: u32,
    /// Minutes without a statement before the warehouse stops; 0 never stops it.
    pub auto_stop_mins: u32,
    #[serde(default)]
    pub enable_photon: bool,
    #[serde(default)]
    pub enable_serverless_compute: bool,
    #[serde(default)]
    pub warehouse_type: Option<String>,
    #[serde(default)]
    pub spot_instance_policy: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub instance_profile_arn: Option<String>,
}

impl WarehouseSpec {
    /// Checks every field, naming the first that is wrong.
    pub fn validate(&self) -> DomainResult<()> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(DomainError::invalid(format!(
                "name must be 1 to {MAX_NAME_CHARS} characters"
            )));
        }
        if !CLUSTER_SIZES.contains(&self.cluster_size.as_str()) {
            return Err(DomainError::invalid(format!(
                "cluster_size '{}' is not one of {}",
                self.cluster_size,
                CLUSTER_SIZES.join(", ")
            )));
        }
        if self.min_num_clusters < 1 || self.max_num_clusters < self.min_num_clusters {
            return Err(DomainError::invalid(
                "min_num_clusters must be at least 1 and max_num_clusters at least min_num_clusters",
            ));
        }
        if self.max_num_clusters > 30 {
            return Err(DomainError::invalid("max_num_clusters must be at most 30"));
        }
        if self.tags.len() > MAX_TAGS {
            return Err(DomainError::invalid(format!(
                "a warehouse has at most {MAX_TAGS} tags"
            )));
        }
        for (field, value, allowed) in [
            (
                "warehouse_type",
                &self.warehouse_type,
                &["PRO", "CLASSIC", "TYPE_UNSPECIFIED"][..],
            ),
            (
                "spot_instance_policy",
                &self.spot_instance_policy,
                &[
                    "COST_OPTIMIZED",
                    "RELIABILITY_OPTIMIZED",
                    "POLICY_UNSPECIFIED",
                ][..],
            ),
        ] {
            if let Some(v) = value {
                if !allowed.contains(&v.as_str()) {
                    return Err(DomainError::invalid(format!(
                        "{field} '{v}' is not one of {}",
                        allowed.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A warehouse as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warehouse {
    pub id: String,
    #[serde(flatten)]
    pub spec: WarehouseSpec,
    pub state: WarehouseState,
    pub creator_name: String,
    pub created_at: i64,
    /// When a statement last arrived (kept to the minute: it is written at most once a minute).
    pub last_active_at: i64,
    /// The cluster serving it, where warehouses run on clusters of their own (on AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
}

/// How often a busy warehouse's activity time is written.
pub const ACTIVITY_GRANULARITY_MS: i64 = 60_000;

impl Warehouse {
    pub fn new(id: String, spec: WarehouseSpec, creator: &str, now: i64) -> Warehouse {
        Warehouse {
            id,
            spec,
            state: WarehouseState::Starting,
            creator_name: creator.to_string(),
            created_at: now,
            last_active_at: now,
            cluster_id: None,
        }
    }

    /// The cluster it runs on where warehouses have clusters of their own: `cluster_size` picks
    /// the workers (2X-Small a driver alone, each size up doubling), `spot_instance_policy` the
    /// market (COST_OPTIMIZED: spot with fallback; RELIABILITY_OPTIMIZED: on-demand), and
    /// `max_num_clusters` how far it may autoscale (scaling out the one cluster).
    pub fn cluster_spec(&self) -> crate::cluster::ClusterSpec {
        use crate::cluster::{Autoscale, Availability, AwsAttributes, ClusterSpec};
        let rank = CLUSTER_SIZES
            .iter()
            .position(|s| *s == self.spec.cluster_size)
            .unwrap_or(0) as u32;
        let workers = if rank == 0 { 0 } else { 1u32 << (rank - 1) };
        let availability = match self.spec.spot_instance_policy.as_deref() {
            Some("RELIABILITY_OPTIMIZED") => Availability::OnDemand,
            _ => Availability::SpotWithFallback,
        };
        let max = (workers.max(1) * self.spec.max_num_clusters.max(1))
            .min(crate::cluster::spec::MAX_WORKERS);
        ClusterSpec {
            cluster_name: Some(format!("warehouse {}", self.spec.name)),
            autoscale: (self.spec.max_num_clusters > 1).then_some(Autoscale {
                min_workers: workers,
                max_workers: max.max(workers),
            }),
            num_workers: Some(workers),
            aws_attributes: Some(AwsAttributes {
                availability: Some(availability),
                instance_profile_arn: self.spec.instance_profile_arn.clone(),
                ..Default::default()
            }),
            custom_tags: self
                .spec
                .tags
                .iter()
                .filter(|t| !t.key.starts_with(crate::cluster::spec::RESERVED_TAG_PREFIX))
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect(),
            ..Default::default()
        }
    }

    fn refuse(&self, action: &'static str) -> DomainError {
        DomainError::InvalidTransition {
            object: format!("warehouse {}", self.id),
            action,
            state: self.state.as_str().into(),
        }
    }

    /// Asks it to start; a warehouse starting or running already stays as it is. Returns whether
    /// anything changed.
    pub fn start(&mut self, now: i64) -> DomainResult<bool> {
        match self.state {
            WarehouseState::Starting | WarehouseState::Running => Ok(false),
            WarehouseState::Stopped | WarehouseState::Stopping => {
                self.state = WarehouseState::Starting;
                self.last_active_at = now;
                Ok(true)
            }
            WarehouseState::Deleting | WarehouseState::Deleted => Err(self.refuse("start")),
        }
    }

    /// Asks it to stop. Returns whether anything changed.
    pub fn stop(&mut self) -> DomainResult<bool> {
        match self.state {
            WarehouseState::Starting | WarehouseState::Running => {
                self.state = WarehouseState::Stopping;
                Ok(true)
            }
            WarehouseState::Stopping | WarehouseState::Stopped => Ok(false),
            WarehouseState::Deleting | WarehouseState::Deleted => Err(self.refuse("stop")),
        }
    }

    /// Replaces what the user sets. A stopped warehouse starts (the SDK's `edit` waits for RUNNING).
    pub fn edit(&mut self, spec: WarehouseSpec, now: i64) -> DomainResult<()> {
        if self.is_deleted() {
            return Err(self.refuse("edit"));
        }
        spec.validate()?;
        self.spec = spec;
        self.start(now)?;
        Ok(())
    }

    pub fn delete(&mut self) {
        self.state = WarehouseState::Deleted;
    }

    pub fn is_deleted(&self) -> bool {
        matches!(
            self.state,
            WarehouseState::Deleting | WarehouseState::Deleted
        )
    }

    /// Whether a statement arriving at `now` should write the activity time.
    pub fn touch_due(&self, now: i64) -> bool {
        now - self.last_active_at >= ACTIVITY_GRANULARITY_MS
    }

    /// What the compute serving it does next at `now`: a starting warehouse runs, a stopping one
    /// stops, a running one idle past `auto_stop_mins` stops. `None` when nothing changes.
    pub fn next_state(&self, now: i64) -> Option<WarehouseState> {
        match self.state {
            WarehouseState::Starting => Some(WarehouseState::Running),
            WarehouseState::Stopping => Some(WarehouseState::Stopped),
            WarehouseState::Running
                if self.spec.auto_stop_mins > 0
                    && now - self.last_active_at
                        >= i64::from(self.spec.auto_stop_mins) * 60_000 =>
            {
                Some(WarehouseState::Stopped)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> WarehouseSpec {
        WarehouseSpec {
            name: "wh".into(),
            cluster_size: "2X-Small".into(),
            min_num_clusters: 1,
            max_num_clusters: 1,
            auto_stop_mins: 10,
            enable_photon: false,
            enable_serverless_compute: false,
            warehouse_type: None,
            spot_instance_policy: None,
            channel: None,
            tags: vec![],
            instance_profile_arn: None,
        }
    }

    #[test]
    fn lifecycle_and_auto_stop() {
        let mut w = Warehouse::new("w1".into(), spec(), "me", 0);
        assert_eq!(w.next_state(0), Some(WarehouseState::Running));
        w.state = WarehouseState::Running;
        assert_eq!(w.next_state(9 * 60_000), None);
        assert_eq!(w.next_state(10 * 60_000), Some(WarehouseState::Stopped));
        assert!(w.stop().unwrap_or(false));
        assert_eq!(w.next_state(0), Some(WarehouseState::Stopped));
        w.state = WarehouseState::Stopped;
        assert!(w.start(5).unwrap_or(false));
        assert_eq!(w.state, WarehouseState::Starting);
        w.delete();
        assert!(w.start(6).is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = spec();
        s.cluster_size = "Huge".into();
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("cluster_size"));
        let mut s = spec();
        s.max_num_clusters = 0;
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_num_clusters"));
    }
}

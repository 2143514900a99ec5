//! What a user asks of a cluster (`ClusterSpec` in the Clusters API): its size, node types, market
//! (`aws_attributes`), tags and idle limit. Fields lakeplane does not act on are kept as given.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::node::Market;
use super::node_types;
use crate::error::{DomainError, DomainResult};

/// The most workers one cluster may have (Databricks allows 100k; lakeplane bounds what one
/// request can launch).
pub const MAX_WORKERS: u32 = 256;
/// The most custom tags (EC2 allows 50 per resource; lakeplane's own take the rest).
pub const MAX_CUSTOM_TAGS: usize = 40;
/// The longest cluster name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest idle limit, in minutes (Databricks' bound).
pub const MAX_AUTOTERMINATION_MINUTES: u32 = 10_000;
/// Tag keys lakeplane sets itself start with this; users may not set them.
pub const RESERVED_TAG_PREFIX: &str = "lakeplane:";

/// `autoscale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscale {
    pub min_workers: u32,
    pub max_workers: u32,
}

/// `aws_attributes.availability`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Availability {
    Spot,
    OnDemand,
    /// Spot, and on-demand when spot has no capacity: lakeplane's default.
    #[default]
    SpotWithFallback,
}

/// `aws_attributes.ebs_volume_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EbsVolumeType {
    GeneralPurposeSsd,
    ThroughputOptimizedHdd,
}

/// `aws_attributes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AwsAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Availability>,
    /// The first this many nodes (the driver first) are on-demand. 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_on_demand: Option<u32>,
    /// The most a spot node may cost, in percent of the on-demand price. 100 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_bid_price_percent: Option<u32>,
    /// An availability zone, or `auto` (or absent) to let EC2 choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_volume_type: Option<EbsVolumeType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_volume_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_volume_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_volume_iops: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_volume_throughput: Option<u32>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AwsAttributes {
    pub fn availability(&self) -> Availability {
        self.availability.unwrap_or_default()
    }

    pub fn first_on_demand(&self) -> u32 {
        self.first_on_demand.unwrap_or(1)
    }

    pub fn spot_bid_price_percent(&self) -> u32 {
        self.spot_bid_price_percent.unwrap_or(100)
    }

    /// The zone asked for; `None` for `auto` or none.
    pub fn zone(&self) -> Option<&str> {
        self.zone_id
            .as_deref()
            .filter(|z| !z.is_empty() && !z.eq_ignore_ascii_case("auto"))
    }

    /// The market of the node at `index` (0 is the driver) when `on_demand_live` nodes of the
    /// cluster are on-demand already: on-demand until `first_on_demand` are, then as `availability`.
    pub fn market_for(&self, on_demand_live: u32) -> Market {
        if self.availability() == Availability::OnDemand || on_demand_live < self.first_on_demand()
        {
            Market::OnDemand
        } else {
            Market::Spot
        }
    }
}

/// `ClusterSpec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spark_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_node_type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_workers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
    /// Minutes idle before the cluster terminates itself; 0 or absent never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autotermination_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_attributes: Option<AwsAttributes>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_tags: BTreeMap<String, String>,
    /// Everything else (`spark_conf`, `data_security_mode`, ...), kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ClusterSpec {
    /// Reads a spec from a request body (unknown fields kept in `extra`).
    pub fn from_json(value: Value) -> DomainResult<ClusterSpec> {
        serde_json::from_value(value)
            .map_err(|e| DomainError::invalid(format!("cluster spec: {e}")))
    }

    pub fn aws(&self) -> AwsAttributes {
        self.aws_attributes.clone().unwrap_or_default()
    }

    /// The worker node type (an EC2 instance type).
    pub fn node_type(&self) -> &str {
        self.node_type_id
            .as_deref()
            .unwrap_or(node_types::DEFAULT_NODE_TYPE)
    }

    /// The driver's node type: `driver_node_type_id`, else the workers'.
    pub fn driver_node_type(&self) -> &str {
        self.driver_node_type_id
            .as_deref()
            .unwrap_or_else(|| self.node_type())
    }

    /// The workers a cluster starts with: `autoscale.min_workers`, else `num_workers`.
    pub fn initial_workers(&self) -> u32 {
        match self.autoscale {
            Some(a) => a.min_workers,
            None => self.num_workers.unwrap_or(0),
        }
    }

    /// Idle minutes before auto-termination, if it is on.
    pub fn idle_limit_minutes(&self) -> Option<u32> {
        self.autotermination_minutes.filter(|m| *m > 0)
    }

    /// Checks every field lakeplane acts on, naming the first that is wrong.
    pub fn validate(&self) -> DomainResult<()> {
        if let Some(name) = &self.cluster_name {
            if name.chars().count() > MAX_NAME_CHARS {
                return Err(DomainError::invalid(format!(
                    "cluster_name is longer than {MAX_NAME_CHARS} characters"
                )));
            }
        }
        for (field, ty) in [
            ("node_type_id", self.node_type_id.as_deref()),
            ("driver_node_type_id", self.driver_node_type_id.as_deref()),
        ] {
            if let Some(ty) = ty {
                if node_types::find(ty).is_none() {
                    return Err(DomainError::invalid(format!(
                        "{field} '{ty}' is not a node type lakeplane knows; \
                         GET /api/2.1/clusters/list-node-types lists them"
                    )));
                }
            }
        }
        match (self.autoscale, self.num_workers) {
            (Some(a), _) if a.min_workers > a.max_workers => {
                return Err(DomainError::invalid(
                    "autoscale.min_workers must not be more than autoscale.max_workers",
                ))
            }
            (Some(a), _) if a.max_workers > MAX_WORKERS => {
                return Err(DomainError::invalid(format!(
                    "autoscale.max_workers must be at most {MAX_WORKERS}"
                )))
            }
            (None, Some(n)) if n > MAX_WORKERS => {
                return Err(DomainError::invalid(format!(
                    "num_workers must be at most {MAX_WORKERS}"
                )))
            }
            _ => {}
        }
        if self
            .autotermination_minutes
            .is_some_and(|m| m > MAX_AUTOTERMINATION_MINUTES)
        {
            return Err(DomainError::invalid(format!(
                "autotermination_minutes must be at most {MAX_AUTOTERMINATION_MINUTES}"
            )));
        }
        if self.custom_tags.len() > MAX_CUSTOM_TAGS {
            return Err(DomainError::invalid(format!(
                "custom_tags has more than {MAX_CUSTOM_TAGS} tags"
            )));
        }
        for (k, v) in &self.custom_tags {
            if k.is_empty() || k.len() > 127 || v.len() > 255 {
                return Err(DomainError::invalid(format!(
                    "custom tag '{k}': keys are 1 to 127 characters, values at most 255"
                )));
            }
            if k.to_ascii_lowercase().starts_with(RESERVED_TAG_PREFIX) || k.starts_with("aws:") {
                return Err(DomainError::invalid(format!(
                    "custom tag '{k}': keys starting with '{RESERVED_TAG_PREFIX}' or 'aws:' are reserved"
                )));
            }
        }
        let aws = self.aws();
        if aws
            .spot_bid_price_percent
            .is_some_and(|p| p == 0 || p > 10_000)
        {
            return Err(DomainError::invalid(
                "aws_attributes.spot_bid_price_percent must be between 1 and 10000",
            ));
        }
        if aws.ebs_volume_count.is_some_and(|c| c > 10)
            || aws.ebs_volume_size.is_some_and(|s| s > 16_384)
        {
            return Err(DomainError::invalid(
                "aws_attributes: at most 10 EBS volumes of at most 16384 GiB each",
            ));
        }
        if aws.ebs_volume_count.unwrap_or(0) > 0 && aws.ebs_volume_size.unwrap_or(0) == 0 {
            return Err(DomainError::invalid(
                "aws_attributes.ebs_volume_size is required with ebs_volume_count",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_unknown_fields_and_reads_known_ones() {
        let body = json!({"cluster_name": "x", "spark_version": "15.4.x-scala2.12",
            "node_type_id": "i3.xlarge", "autoscale": {"min_workers": 1, "max_workers": 4},
            "aws_attributes": {"availability": "SPOT", "first_on_demand": 1, "zone_id": "auto"},
            "spark_conf": {"a": "b"}, "custom_tags": {"team": "x"}});
        let spec = ClusterSpec::from_json(body.clone()).unwrap();
        spec.validate().unwrap();
        assert_eq!(spec.initial_workers(), 1);
        assert_eq!(spec.aws().zone(), None);
        assert_eq!(serde_json::to_value(&spec).unwrap(), body);
    }

    #[test]
    fn markets_follow_first_on_demand_and_availability() {
        let aws = AwsAttributes {
            availability: Some(Availability::Spot),
            first_on_demand: Some(2),
            ..Default::default()
        };
        assert_eq!(aws.market_for(0), Market::OnDemand);
        assert_eq!(aws.market_for(1), Market::OnDemand);
        assert_eq!(aws.market_for(2), Market::Spot);
        let od = AwsAttributes {
            availability: Some(Availability::OnDemand),
            first_on_demand: Some(0),
            ..Default::default()
        };
        assert_eq!(od.market_for(5), Market::OnDemand);
    }

    #[test]
    fn refuses_what_it_cannot_launch() {
        let bad = |v: Value| {
            ClusterSpec::from_json(v)
                .and_then(|s| s.validate())
                .unwrap_err()
        };
        assert!(bad(json!({"node_type_id": "z9.huge"}))
            .to_string()
            .contains("node type"));
        assert!(
            bad(json!({"autoscale": {"min_workers": 3, "max_workers": 1}}))
                .to_string()
                .contains("min_workers")
        );
        assert!(bad(json!({"num_workers": 100000}))
            .to_string()
            .contains("num_workers"));
        assert!(bad(json!({"custom_tags": {"lakeplane:cluster-id": "x"}}))
            .to_string()
            .contains("reserved"));
        assert!(bad(json!({"num_workers": "many"}))
            .to_string()
            .contains("cluster spec"));
    }
}

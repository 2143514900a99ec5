//! The compute port: what the control plane asks of the machines a cluster runs on. Two adapters
//! (`lakeplane-compute`): local `lakeplane worker` processes, and EC2 instances. Nothing here names
//! an EC2 type.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::node::{Market, NodeRole};
use super::spec::EbsVolumeType;

/// The tag naming the cluster a node belongs to (on instances and their volumes).
pub const TAG_CLUSTER: &str = "lakeplane:cluster-id";
/// The tag every lakeplane-launched resource carries; IAM conditions key on it.
pub const TAG_MANAGED: &str = "lakeplane:managed";
pub const TAG_CREATOR: &str = "lakeplane:creator";
pub const TAG_RUN: &str = "lakeplane:run-id";
pub const TAG_ROLE: &str = "lakeplane:role";
pub const TAG_GENERATION: &str = "lakeplane:generation";

/// EBS volumes to attach to each node.
#[derive(Debug, Clone, PartialEq)]
pub struct Volumes {
    pub kind: EbsVolumeType,
    pub count: u32,
    pub size_gib: u32,
    pub iops: Option<u32>,
    pub throughput: Option<u32>,
}

/// Nodes to launch: `count` of one type, in one market.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    pub cluster_id: String,
    /// The work queue their workers serve.
    pub queue: String,
    pub role: NodeRole,
    pub generation: u32,
    pub count: u32,
    pub instance_type: String,
    pub market: Market,
    /// For spot: the most to pay per hour, in USD.
    pub max_price: Option<f64>,
    pub zone: Option<String>,
    pub instance_profile_arn: Option<String>,
    pub volumes: Option<Volumes>,
    /// Every tag: the user's custom tags and lakeplane's own.
    pub tags: BTreeMap<String, String>,
}

/// One launched node.
#[derive(Debug, Clone, PartialEq)]
pub struct Launched {
    pub node_id: String,
    pub zone: Option<String>,
    pub private_ip: Option<String>,
    /// USD per hour (EC2's spot price where it can say, else the on-demand price).
    pub price_per_hour: f64,
}

/// A node the compute knows of (for reconciling records against machines).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub node_id: String,
    /// Whether it runs (or is starting); `false` once stopping or gone.
    pub alive: bool,
}

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    /// No capacity for this market and type now (spot capacity, an instance limit): on-demand may
    /// still work.
    #[error("no {market} capacity for {instance_type}: {message}")]
    Capacity {
        instance_type: String,
        market: &'static str,
        message: String,
    },
    /// The request itself is wrong (an unknown profile, a bad zone): retrying will not help.
    #[error("cannot launch nodes for cluster {cluster_id}: {message}")]
    Rejected { cluster_id: String, message: String },
    /// The provider failed or could not be reached; try again later.
    #[error("the compute provider failed ({action}): {message}")]
    Unavailable {
        action: &'static str,
        message: String,
    },
}

impl ComputeError {
    pub fn is_capacity(&self) -> bool {
        matches!(self, ComputeError::Capacity { .. })
    }
}

/// The machines clusters run on.
#[async_trait]
pub trait Compute: Send + Sync + std::fmt::Debug {
    /// Launches `launch.count` nodes; all or none (a partial launch is reported as launched).
    async fn launch(&self, launch: &Launch) -> Result<Vec<Launched>, ComputeError>;
    /// Stops these nodes of `cluster_id`; nodes already gone are not an error.
    async fn terminate(&self, cluster_id: &str, node_ids: &[String]) -> Result<(), ComputeError>;
    /// The nodes of `cluster_id` the compute knows of.
    async fn observe(&self, cluster_id: &str) -> Result<Vec<Observed>, ComputeError>;
}

//! The node types a cluster may ask for: EC2 instance types, with their size and on-demand price.
//! `node_type_id` is the instance type itself, as on Databricks on AWS.

use serde::Serialize;

/// The node type of a spec that names none.
pub const DEFAULT_NODE_TYPE: &str = "m5.xlarge";
/// What a spot node is estimated to cost, as a share of on-demand, where the compute adapter
/// cannot say (locally). EC2's own spot price is used on AWS.
pub const SPOT_PRICE_ESTIMATE: f64 = 0.35;

/// One node type.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NodeType {
    pub node_type_id: &'static str,
    pub num_cores: u32,
    pub memory_mb: u64,
    pub category: &'static str,
    /// On-demand price in USD per hour (Linux, us-east-1), for cost estimates.
    pub on_demand_per_hour: f64,
}

const fn t(id: &'static str, cores: u32, gib: u64, category: &'static str, price: f64) -> NodeType {
    NodeType {
        node_type_id: id,
        num_cores: cores,
        memory_mb: gib * 1024,
        category,
        on_demand_per_hour: price,
    }
}

/// Every node type lakeplane launches (x86_64: the worker binary the stack ships).
pub const NODE_TYPES: &[NodeType] = &[
    t("m5.large", 2, 8, "General Purpose", 0.096),
    t("m5.xlarge", 4, 16, "General Purpose", 0.192),
    t("m5.2xlarge", 8, 32, "General Purpose", 0.384),
    t("m5.4xlarge", 16, 64, "General Purpose", 0.768),
    t("m6i.xlarge", 4, 16, "General Purpose", 0.192),
    t("m6i.2xlarge", 8, 32, "General Purpose", 0.384),
    t("c5.xlarge", 4, 8, "Compute Optimized", 0.17),
    t("c5.2xlarge", 8, 16, "Compute Optimized", 0.34),
    t("r5.xlarge", 4, 32, "Memory Optimized", 0.252),
    t("r5.2xlarge", 8, 64, "Memory Optimized", 0.504),
    t("r6i.xlarge", 4, 32, "Memory Optimized", 0.252),
    t("i3.xlarge", 4, 30, "Storage Optimized", 0.312),
    t("i3.2xlarge", 8, 61, "Storage Optimized", 0.624),
];

/// The node type with this id.
pub fn find(id: &str) -> Option<&'static NodeType> {
    NODE_TYPES.iter().find(|t| t.node_type_id == id)
}

/// The on-demand price per hour of `id`, 0 when unknown.
pub fn on_demand_price(id: &str) -> f64 {
    find(id).map_or(0.0, |t| t.on_demand_per_hour)
}

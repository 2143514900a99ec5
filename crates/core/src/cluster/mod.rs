//! Clusters: named compute that job tasks (and later warehouses) run on, with the states the SDK's
//! waiters poll (`PENDING → RUNNING`, `RESIZING`, `RESTARTING`, `TERMINATING → TERMINATED`).
//!
//! A cluster's record says what it should be (its spec, its target size, its generation); its
//! [`node::Node`] records say what runs. The control plane's cluster reconciler moves one towards
//! the other through the [`compute::Compute`] port: it launches missing nodes, drains extra ones,
//! replaces lost ones and marks the cluster RUNNING once its driver's worker reports in.

pub mod compute;
pub mod event;
pub mod node;
pub mod node_types;
pub mod spec;
mod state;

#[cfg(test)]
mod state_tests;

pub use event::{ClusterEvent, EventType};
pub use node::{DrainReason, Market, Node, NodeRole};
pub use spec::{Autoscale, Availability, AwsAttributes, ClusterSpec};
pub use state::{Cluster, ClusterSource, ClusterState, TerminationReason};

/// The work queue a cluster's workers claim from.
pub fn cluster_queue(cluster_id: &str) -> String {
    format!("cluster:{cluster_id}")
}

/// The runtime versions lakeplane offers (`spark_version`). Any other value is accepted and kept,
/// so that scripts written for Databricks run unchanged; the runtime is lakeplane's either way.
pub const RUNTIME_VERSIONS: &[(&str, &str)] = &[(
    "1.0.x-scala2.12",
    "lakeplane 1.0 LTS (DataFusion 55, delta-rs 1.1)",
)];

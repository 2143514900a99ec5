//! A cluster's events (`clusters/events`): what happened to it, when, and — for every node added,
//! lost or drained — the instance, its type, market and price, so that cost can be traced.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::node::Node;

/// Event types, named as Databricks names them (`EventType` in the SDK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    Creating,
    Starting,
    Restarting,
    Terminating,
    Edited,
    Running,
    Resizing,
    UpsizeCompleted,
    NodesLost,
    AddNodesFailed,
    /// Nodes launched (lakeplane's own type, beside Databricks' `ADD_NODES_FAILED`): each with its
    /// instance type, market and price.
    NodesAdded,
    DecommissionStarted,
    DecommissionEnded,
    Pinned,
    Unpinned,
    AutoscalingStatsReport,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterEvent {
    pub cluster_id: String,
    pub timestamp: i64,
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(default)]
    pub details: Map<String, Value>,
}

impl ClusterEvent {
    pub fn new(cluster_id: &str, timestamp: i64, kind: EventType) -> ClusterEvent {
        ClusterEvent {
            cluster_id: cluster_id.to_string(),
            timestamp,
            kind,
            details: Map::new(),
        }
    }

    /// Adds a detail.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ClusterEvent {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// Adds `reason: {code, type, parameters}` (Databricks' `TerminationReason` shape).
    pub fn with_reason(self, code: &str, kind: &str, parameters: Map<String, Value>) -> Self {
        self.with(
            "reason",
            serde_json::json!({"code": code, "type": kind, "parameters": parameters}),
        )
    }

    /// Adds `nodes: [{instance_id, instance_type, market, price_per_hour, ...}]` for `nodes`.
    pub fn with_nodes<'a>(self, nodes: impl IntoIterator<Item = &'a Node>) -> ClusterEvent {
        let nodes: Vec<Value> = nodes.into_iter().map(node_detail).collect();
        if nodes.len() == 1 {
            let id = nodes[0]["instance_id"].clone();
            return self.with("instance_id", id).with("nodes", nodes);
        }
        self.with("nodes", nodes)
    }
}

/// What an event says of one node.
pub fn node_detail(n: &Node) -> Value {
    serde_json::json!({
        "instance_id": n.node_id,
        "role": n.role,
        "instance_type": n.instance_type,
        "market": n.market,
        "price_per_hour": n.price_per_hour,
        "zone": n.zone,
    })
}

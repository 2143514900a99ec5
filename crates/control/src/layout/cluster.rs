//! How clusters are laid out: a cluster and its nodes share a partition (one query reads both);
//! a node is also found by its id alone (an EC2 event names only the instance); events have a
//! partition of their own, in time order.

use lakeplane_core::cluster::{Cluster, ClusterEvent, Node};
use lakeplane_store::{IndexEntry, Item, Key};

use super::padded;
use crate::doc::Record;

/// The listing of every cluster, by id.
pub const CLUSTERS: &str = "CLUSTERS";
/// The status listing of clusters the reconciler looks after (not terminated, or terminated
/// with nodes still to be seen gone).
pub const ACTIVE_CLUSTERS: &str = "ACTIVE_CLUSTERS";
const CLUSTER_SK: &str = "CLUSTER";
const NODE_SK_PREFIX: &str = "NODE#";

/// The partition of a cluster and its nodes.
pub fn cluster_partition(id: &str) -> String {
    format!("CLUSTER#{id}")
}

/// The partition of a cluster's events.
pub fn cluster_events(id: &str) -> String {
    format!("CLUSTER#{id}#EVENTS")
}

/// The alias a node is found under by its id.
pub fn node_alias(node_id: &str) -> String {
    format!("NODE#{node_id}")
}

/// Whether an item of a cluster's partition is a node.
pub fn is_node(item: &Item) -> bool {
    item.key.sk.starts_with(NODE_SK_PREFIX)
}

impl Record for Cluster {
    const KIND: &'static str = "Cluster";
    type Id = String;

    fn key_of(id: &String) -> Key {
        Key::new(cluster_partition(id), CLUSTER_SK)
    }

    fn id(&self) -> String {
        self.cluster_id.clone()
    }

    fn layout(&self, item: &mut Item) {
        item.collection =
            (!self.deleted).then(|| IndexEntry::new(CLUSTERS, self.cluster_id.clone()));
        let settled = self.state == lakeplane_core::cluster::ClusterState::Terminated
            && !self.deleted
            && self.reconciler.is_none();
        item.status = (!settled).then(|| IndexEntry::new(ACTIVE_CLUSTERS, self.cluster_id.clone()));
    }
}

/// A node's id: its cluster and its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRef {
    pub cluster_id: String,
    pub node_id: String,
}

impl std::fmt::Display for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of cluster {}", self.node_id, self.cluster_id)
    }
}

impl Record for Node {
    const KIND: &'static str = "Node";
    type Id = NodeRef;

    fn key_of(id: &NodeRef) -> Key {
        Key::new(
            cluster_partition(&id.cluster_id),
            format!("{NODE_SK_PREFIX}{}", id.node_id),
        )
    }

    fn id(&self) -> NodeRef {
        NodeRef {
            cluster_id: self.cluster_id.clone(),
            node_id: self.node_id.clone(),
        }
    }

    fn layout(&self, item: &mut Item) {
        item.alias = Some(node_alias(&self.node_id));
    }
}

/// An event's id: its cluster, its time and a sequence that keeps events of one millisecond apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    pub cluster_id: String,
    pub timestamp: i64,
    pub seq: String,
}

impl std::fmt::Display for EventRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event {} of cluster {}", self.seq, self.cluster_id)
    }
}

/// A stored event: the event and the sequence part of its key.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredEvent {
    #[serde(flatten)]
    pub event: ClusterEvent,
    pub seq: String,
}

impl Record for StoredEvent {
    const KIND: &'static str = "Cluster event";
    type Id = EventRef;

    fn key_of(id: &EventRef) -> Key {
        Key::new(
            cluster_events(&id.cluster_id),
            format!("{}#{}", padded(id.timestamp.max(0) as u64), id.seq),
        )
    }

    fn id(&self) -> EventRef {
        EventRef {
            cluster_id: self.event.cluster_id.clone(),
            timestamp: self.event.timestamp,
            seq: self.seq.clone(),
        }
    }
}

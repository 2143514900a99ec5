//! What a cluster's nodes say and are told: a worker reports in (and so makes its cluster
//! RUNNING), learns whether to drain, and says when it has; an EC2 event (through
//! `functions/cluster-events`) or the worker's own look at the instance metadata says a spot node
//! is about to be taken away, and the node is drained at once.

use lakeplane_core::cluster::{
    Cluster, ClusterEvent, ClusterState, DrainReason, EventType, Node, NodeRole,
};

use super::Clusters;
use crate::doc::{Record, Versioned};
use crate::error::ControlResult;
use crate::layout::{cluster_partition, is_node, node_alias, NodeRef};
use crate::time::now_ms;

/// A worker's report on its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    pub cluster_id: String,
    pub node_id: String,
    /// The node's interruption notice is out (the worker read it from the instance metadata).
    pub interrupted: bool,
    /// The worker drained: it claims nothing and holds nothing.
    pub drained: bool,
}

/// What a node's worker is to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeOrder {
    /// Claim and run work.
    Serve,
    /// Stop claiming; hand back (interrupted) or finish (decommissioned) what runs, then report
    /// drained.
    Drain(DrainReason),
    /// The node is terminated or its cluster is ending: stop.
    Stop,
}

impl Clusters {
    /// Records a worker's report and answers what it is to do. A node not recorded yet (its
    /// launch is being written) is told to serve.
    pub async fn report(&self, report: &NodeReport) -> ControlResult<NodeOrder> {
        let id = NodeRef {
            cluster_id: report.cluster_id.clone(),
            node_id: report.node_id.clone(),
        };
        let now = now_ms();
        let first = std::sync::atomic::AtomicBool::new(false);
        let newly_interrupted = std::sync::atomic::AtomicBool::new(false);
        let updated = self
            .docs
            .update::<Node>(&id, |n| {
                first.store(n.report(now), std::sync::atomic::Ordering::Relaxed);
                if report.interrupted {
                    newly_interrupted.store(
                        n.request_drain(DrainReason::Interrupted, now),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                }
                if report.drained && n.drain.is_some() && n.drained_at.is_none() {
                    n.drained_at = Some(now);
                }
                Ok(true)
            })
            .await;
        let node = match updated {
            Ok((node, _)) => node,
            // Not recorded yet (its launch is being written): serve meanwhile.
            Err(crate::error::ControlError::NotFound { .. }) => return Ok(NodeOrder::Serve),
            Err(e) => return Err(e),
        };
        if newly_interrupted.into_inner() {
            self.record(interruption_event(&node, now, "instance metadata"))
                .await;
        }
        if first.into_inner() {
            self.settle(&report.cluster_id).await?;
        }
        if node.is_terminated() {
            return Ok(NodeOrder::Stop);
        }
        if let Some(reason) = node.drain {
            return Ok(NodeOrder::Drain(reason));
        }
        let cluster = self.docs.find::<Cluster>(&report.cluster_id).await?;
        match cluster {
            Some(c) if c.state.is_live() && c.generation == node.generation => Ok(NodeOrder::Serve),
            _ => Ok(NodeOrder::Stop),
        }
    }

    /// A spot interruption warning for node (instance) `node_id`: the node drains at once and the
    /// reconciler replaces its capacity. The node's cluster; `None` when no lakeplane node has
    /// that id.
    pub async fn interrupt(&self, node_id: &str, source: &str) -> ControlResult<Option<String>> {
        let Some(found) = self.docs.by_alias::<Node>(&node_alias(node_id)).await? else {
            return Ok(None);
        };
        let now = now_ms();
        let (node, changed) = self
            .docs
            .update::<Node>(&found.doc.id(), |n| {
                Ok(n.request_drain(DrainReason::Interrupted, now))
            })
            .await?;
        if changed {
            self.record(interruption_event(&node, now, source)).await;
        }
        Ok(Some(node.cluster_id))
    }

    /// An instance stopped or was terminated outside lakeplane's doing (an EC2 state-change event):
    /// its node is marked gone, and the reconciler replaces it. The node's cluster; `None` when no
    /// node has that id.
    pub async fn node_gone(&self, node_id: &str, cause: &str) -> ControlResult<Option<String>> {
        let Some(found) = self.docs.by_alias::<Node>(&node_alias(node_id)).await? else {
            return Ok(None);
        };
        let now = now_ms();
        let (node, changed) = self
            .docs
            .update::<Node>(&found.doc.id(), |n| {
                let live = !n.is_terminated();
                n.terminate(now, cause);
                Ok(live)
            })
            .await?;
        if changed {
            self.record(
                ClusterEvent::new(&node.cluster_id, now, EventType::NodesLost)
                    .with("cause", cause)
                    .with_nodes([&node]),
            )
            .await;
        }
        Ok(Some(node.cluster_id))
    }

    /// A cluster and every node record of it, with versions.
    pub(crate) async fn read_all(
        &self,
        cluster_id: &str,
    ) -> ControlResult<Option<(Versioned<Cluster>, Vec<Versioned<Node>>)>> {
        let items = self.docs.partition(&cluster_partition(cluster_id)).await?;
        let mut cluster = None;
        let mut nodes = Vec::new();
        for item in &items {
            if is_node(item) {
                nodes.push(Versioned::<Node>::from_item(item)?);
            } else if item.key == Cluster::key_of(&cluster_id.to_string()) {
                cluster = Some(Versioned::<Cluster>::from_item(item)?);
            }
        }
        Ok(cluster.map(|c| (c, nodes)))
    }

    /// Moves a starting, restarting or resizing cluster to RUNNING once its nodes reported in: its
    /// driver (starting, restarting) or all its capacity (resizing).
    pub(crate) async fn settle(&self, cluster_id: &str) -> ControlResult<()> {
        let Some((_, nodes)) = self.read_all(cluster_id).await? else {
            return Ok(());
        };
        let nodes: Vec<Node> = nodes.into_iter().map(|n| n.doc).collect();
        let now = now_ms();
        let event = std::sync::Mutex::new(None);
        self.docs
            .update::<Cluster>(&cluster_id.to_string(), |c| {
                let e = running_if_ready(c, &nodes, now);
                let changed = e.is_some();
                *event.lock().unwrap_or_else(|p| p.into_inner()) = e;
                Ok(changed)
            })
            .await?;
        if let Some(e) = event.into_inner().unwrap_or_else(|p| p.into_inner()) {
            self.record(e).await;
        }
        Ok(())
    }
}

/// The RUNNING (or UPSIZE_COMPLETED) event if `c` may now run, having moved it.
pub(crate) fn running_if_ready(c: &mut Cluster, nodes: &[Node], now: i64) -> Option<ClusterEvent> {
    let capacity: Vec<&Node> = nodes
        .iter()
        .filter(|n| n.is_capacity() && n.generation == c.generation)
        .collect();
    let reported = capacity.iter().filter(|n| n.reported_at.is_some()).count() as u32;
    let driver_up = capacity
        .iter()
        .any(|n| n.role == NodeRole::Driver && n.reported_at.is_some());
    let ready = match c.state {
        ClusterState::Pending | ClusterState::Restarting => driver_up,
        ClusterState::Resizing => driver_up && reported >= c.desired_nodes(),
        _ => false,
    };
    if !ready {
        return None;
    }
    let kind = match c.state {
        ClusterState::Resizing => EventType::UpsizeCompleted,
        _ => EventType::Running,
    };
    c.became_running();
    Some(
        ClusterEvent::new(&c.cluster_id, now, kind)
            .with("current_num_workers", reported.saturating_sub(1))
            .with("target_num_workers", c.target_workers)
            .with_nodes(capacity.into_iter().filter(|n| n.reported_at.is_some())),
    )
}

fn interruption_event(node: &Node, now: i64, source: &str) -> ClusterEvent {
    let mut params = serde_json::Map::new();
    params.insert("source".into(), source.into());
    ClusterEvent::new(&node.cluster_id, now, EventType::DecommissionStarted)
        .with_reason("SPOT_INSTANCE_TERMINATION", "CLOUD_FAILURE", params)
        .with_nodes([node])
}

//! One reconciler pass over one cluster: machines against records, then size against target.

use std::collections::{BTreeMap, BTreeSet};

use lakeplane_core::cluster::{
    Cluster, ClusterEvent, DrainReason, EventType, Market, Node, NodeRole, TerminationReason,
};
use lakeplane_core::run::Run;

use super::launch::Launched;
use super::{
    ms, unavailable, ClusterReconciler, Outcome, BUSY_SCAN, INTERRUPTED_GRACE_MS, LAUNCH_GRACE_MS,
};
use crate::doc::{Record, Versioned};
use crate::error::ControlResult;
use crate::time::now_ms;

impl ClusterReconciler {
    /// One pass: machines against records, then size against target.
    pub(super) async fn act(
        &self,
        c: &Cluster,
        nodes: Vec<Versioned<Node>>,
    ) -> ControlResult<Outcome> {
        let now = now_ms();
        let mut nodes: Vec<Node> = nodes.into_iter().map(|v| v.doc).collect();
        self.retire(c, &mut nodes, now).await?;
        self.size(c, nodes, now).await
    }

    /// Reaps machines no record names, marks nodes whose machines are gone, and terminates nodes
    /// that should go (an older generation, never reported, silent, drained, past their drain).
    async fn retire(&self, c: &Cluster, nodes: &mut [Node], now: i64) -> ControlResult<()> {
        let id = c.cluster_id.as_str();
        // What runs, as the compute sees it.
        let observed = self.compute.observe(id).await.map_err(unavailable)?;
        let alive: BTreeSet<&str> = observed
            .iter()
            .filter(|o| o.alive)
            .map(|o| o.node_id.as_str())
            .collect();
        let known: BTreeSet<String> = nodes.iter().map(|n| n.node_id.clone()).collect();
        let orphans: Vec<String> = alive
            .iter()
            .filter(|a| !known.contains(**a))
            .map(|a| a.to_string())
            .collect();
        if !orphans.is_empty() {
            tracing::warn!(
                cluster_id = id,
                ?orphans,
                "terminating machines no node record names"
            );
            self.compute
                .terminate(id, &orphans)
                .await
                .map_err(unavailable)?;
        }
        let mut stop: BTreeMap<String, (String, EventType)> = BTreeMap::new();
        for n in nodes.iter_mut().filter(|n| !n.is_terminated()) {
            // A node that reported in is known to EC2's listing; a new one may be missing from it.
            let settled = n.reported_at.is_some()
                || now - n.launched_at > LAUNCH_GRACE_MS.min(ms(self.settings.report_timeout));
            if !alive.contains(n.node_id.as_str()) && settled {
                let cause = match n.drain {
                    Some(DrainReason::Interrupted) => {
                        "spot interruption: the instance was taken back"
                    }
                    Some(DrainReason::Decommission) => "decommissioned",
                    None => "the machine is gone",
                };
                let kind = if n.drained_at.is_some() {
                    EventType::DecommissionEnded
                } else {
                    EventType::NodesLost
                };
                self.mark(n, cause, kind, now).await?;
                continue;
            }
            let why = if !c.state.is_live() {
                Some(("the cluster is terminating", EventType::DecommissionEnded))
            } else if n.generation != c.generation {
                Some(("the cluster restarted", EventType::DecommissionEnded))
            } else if n.drained_at.is_some() {
                Some(("drained", EventType::DecommissionEnded))
            } else if n.reported_at.is_none()
                && now - n.launched_at > ms(self.settings.report_timeout)
            {
                Some((
                    "its worker never reported in; replaced",
                    EventType::NodesLost,
                ))
            } else if n
                .last_seen
                .is_some_and(|s| now - s > ms(self.settings.silence_timeout))
            {
                Some((
                    "its worker stopped reporting; replaced",
                    EventType::NodesLost,
                ))
            } else {
                match (n.drain, n.drain_requested_at) {
                    (Some(DrainReason::Decommission), Some(at))
                        if now - at > ms(self.settings.drain_timeout) =>
                    {
                        Some((
                            "it did not finish draining in time",
                            EventType::DecommissionEnded,
                        ))
                    }
                    (Some(DrainReason::Interrupted), Some(at))
                        if now - at > INTERRUPTED_GRACE_MS =>
                    {
                        Some(("spot interruption", EventType::NodesLost))
                    }
                    _ => None,
                }
            };
            if let Some((why, kind)) = why {
                stop.insert(n.node_id.clone(), (why.to_string(), kind));
            }
        }
        if !stop.is_empty() {
            let ids: Vec<String> = stop.keys().cloned().collect();
            self.compute
                .terminate(id, &ids)
                .await
                .map_err(unavailable)?;
            for n in nodes.iter_mut().filter(|n| stop.contains_key(&n.node_id)) {
                let (why, kind) = stop[&n.node_id].clone();
                self.mark(n, &why, kind, now).await?;
            }
        }
        Ok(())
    }

    /// Ends a job cluster whose run ended; otherwise launches missing capacity and decommissions
    /// extra workers, for the target the queue's depth sets.
    async fn size(&self, c: &Cluster, mut nodes: Vec<Node>, now: i64) -> ControlResult<Outcome> {
        let id = c.cluster_id.as_str();
        let mut outcome = Outcome::default();
        if !c.state.is_live() {
            outcome.all_gone = nodes.iter().all(Node::is_terminated);
            outcome.nodes = nodes;
            return Ok(outcome);
        }
        if let Some(run) = c.run_id {
            let ended = match self.docs.find::<Run>(&run).await? {
                Some(r) => r.is_terminal(),
                None => true,
            };
            if ended {
                outcome.terminate = Some(TerminationReason::job_finished());
                outcome.nodes = nodes;
                return Ok(outcome);
            }
        }
        // Queued and leased work (task runs, or a warehouse's statements): every entry of the queue.
        outcome.busy = self
            .docs
            .count_due(&c.queue(), i64::MAX / 4, BUSY_SCAN)
            .await? as u64;
        let grow = c
            .autoscale_target(outcome.busy, self.settings.slots_per_node)
            .filter(|t| *t > c.target_workers);
        // Growth acts at once; shrinking waits for the cooldown (`Cluster::autoscale`).
        let target = 1 + grow.unwrap_or(c.target_workers);
        let capacity = |nodes: &[Node]| -> Vec<Node> {
            nodes
                .iter()
                .filter(|n| n.is_capacity() && n.generation == c.generation)
                .cloned()
                .collect()
        };
        let have = capacity(&nodes);
        if (have.len() as u32) < target {
            let has_driver = have.iter().any(|n| n.role == NodeRole::Driver);
            let mut on_demand = have.iter().filter(|n| n.market == Market::OnDemand).count() as u32;
            let missing = target - have.len() as u32;
            let mut roles = Vec::new();
            if !has_driver {
                roles.push((NodeRole::Driver, 1));
            }
            let workers = missing - u32::from(!has_driver);
            if workers > 0 {
                roles.push((NodeRole::Worker, workers));
            }
            for (role, count) in roles {
                match self.launch(c, role, count, &mut on_demand).await? {
                    Launched::Nodes(added) => nodes.extend(added),
                    Launched::Fatal(message) => {
                        outcome.terminate = Some(TerminationReason::launch_failure(&message));
                        break;
                    }
                    Launched::Later => break,
                }
            }
        } else if (have.len() as u32) > target {
            let extra = have.len() - target as usize;
            let mut workers: Vec<&Node> =
                have.iter().filter(|n| n.role == NodeRole::Worker).collect();
            // Spot nodes first (they may go anyway), the newest first.
            workers.sort_by_key(|n| (n.market == Market::OnDemand, -n.launched_at));
            let chosen: Vec<String> = workers
                .iter()
                .take(extra)
                .map(|n| n.node_id.clone())
                .collect();
            for n in nodes.iter_mut().filter(|n| chosen.contains(&n.node_id)) {
                let (stored, _) = self
                    .docs
                    .update::<Node>(&n.id(), |d| {
                        Ok(d.request_drain(DrainReason::Decommission, now))
                    })
                    .await?;
                self.clusters
                    .record(
                        ClusterEvent::new(id, now, EventType::DecommissionStarted)
                            .with("cause", "the cluster shrinks")
                            .with_nodes([&stored]),
                    )
                    .await;
                *n = stored;
            }
        }
        outcome.nodes = nodes;
        Ok(outcome)
    }

    /// Marks a node terminated, with an event.
    async fn mark(
        &self,
        n: &mut Node,
        cause: &str,
        kind: EventType,
        now: i64,
    ) -> ControlResult<()> {
        let (stored, changed) = self
            .docs
            .update::<Node>(&n.id(), |d| {
                let live = !d.is_terminated();
                d.terminate(now, cause);
                Ok(live)
            })
            .await?;
        if changed {
            self.clusters
                .record(
                    ClusterEvent::new(&n.cluster_id, now, kind)
                        .with("cause", cause)
                        .with_nodes([&stored]),
                )
                .await;
        }
        *n = stored;
        Ok(())
    }
}

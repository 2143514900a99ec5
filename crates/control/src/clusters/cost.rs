//! What a run cost: the instance-seconds of the nodes it ran on and their estimated price, spot
//! and on-demand apart. A job cluster belongs to its run whole (every node, from launch to
//! termination); on a shared cluster a run pays for the time its tasks held a node.

use std::collections::BTreeMap;

use lakeplane_core::cluster::{node_types, Market, Node};
use lakeplane_core::run::TaskRun;
use lakeplane_core::RunId;
use serde::Serialize;

use super::Clusters;
use crate::doc::Versioned;
use crate::error::ControlResult;
use crate::layout::node_alias;
use crate::time::now_ms;

/// A run's compute cost (estimated: list prices for on-demand, EC2's spot price when launched).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunCost {
    pub instance_seconds: f64,
    pub spot_instance_seconds: f64,
    pub on_demand_instance_seconds: f64,
    pub estimated_cost_usd: f64,
    /// What the same instance-seconds would have cost on-demand.
    pub on_demand_equivalent_usd: f64,
    /// The clusters it ran on.
    pub cluster_ids: Vec<String>,
}

impl RunCost {
    fn add(&mut self, node: &Node, seconds: f64) {
        self.instance_seconds += seconds;
        match node.market {
            Market::Spot => self.spot_instance_seconds += seconds,
            Market::OnDemand => self.on_demand_instance_seconds += seconds,
        }
        self.estimated_cost_usd += seconds / 3600.0 * node.price_per_hour;
        self.on_demand_equivalent_usd +=
            seconds / 3600.0 * node_types::on_demand_price(&node.instance_type);
    }
}

impl Clusters {
    /// The cost of run `run` given its task runs.
    pub async fn run_cost(&self, run: RunId, tasks: &[TaskRun]) -> ControlResult<RunCost> {
        let now = now_ms();
        let mut cost = RunCost::default();
        let mut own = BTreeMap::new();
        let mut shared: Vec<(&str, i64, i64)> = Vec::new();
        for t in tasks {
            let Some(cluster) = &t.cluster_id else {
                continue;
            };
            if !cost.cluster_ids.contains(cluster) {
                cost.cluster_ids.push(cluster.clone());
            }
            let spans = t
                .attempts
                .iter()
                .map(|a| (a.worker.as_deref(), a.start_time, Some(a.end_time)))
                .chain(std::iter::once((
                    t.worker.as_deref(),
                    t.start_time,
                    t.end_time,
                )));
            for (worker, start, end) in spans {
                if let (Some(w), Some(s)) = (worker, start) {
                    shared.push((w, s, end.unwrap_or(now)));
                }
            }
            own.entry(cluster.clone()).or_insert(());
        }
        let mut whole = Vec::new();
        for cluster in own.keys() {
            if let Some((c, nodes)) = self.read_all(cluster).await? {
                if c.doc.run_id == Some(run) {
                    whole.push(cluster.clone());
                    for Versioned { doc, .. } in nodes {
                        cost.add(&doc, doc.seconds(now));
                    }
                }
            }
        }
        for (worker, start, end) in shared {
            let Some(node) = self.docs.by_alias::<Node>(&node_alias(worker)).await? else {
                continue;
            };
            if !whole.contains(&node.doc.cluster_id) {
                cost.add(&node.doc, (end - start).max(0) as f64 / 1000.0);
            }
        }
        Ok(cost)
    }
}

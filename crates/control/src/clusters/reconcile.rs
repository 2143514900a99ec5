//! The cluster reconciler: moves each cluster's machines towards what its record asks, through the
//! compute port. One reconciler acts on a cluster at a time (a fenced lease on the cluster's
//! record), and every step is safe to repeat: it looks at the machines first (an instance launched
//! by a reconciler that died before recording it is found and terminated), records every launch as
//! it returns, and writes the cluster's state fenced by version.
//!
//! One pass: nodes whose machines are gone are marked so; nodes of an older generation (a
//! restart), that never reported in, that went silent, or that drained are terminated; a job
//! cluster whose run ended terminates; autoscaling sets the target from the queue's depth; missing
//! capacity is launched (the driver first; the first `first_on_demand` nodes on-demand, the rest
//! on spot, falling back to on-demand on a capacity error when the spec allows); extra workers are
//! decommissioned; an idle cluster terminates after `autotermination_minutes`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use lakeplane_core::cluster::compute::{self, Compute, ComputeError, Launch, Volumes};
use lakeplane_core::cluster::{
    node_types, Availability, Cluster, ClusterEvent, ClusterState, DrainReason, EventType, Market,
    Node, NodeRole, TerminationReason,
};
use lakeplane_core::run::{Lease, Run};
use lakeplane_store::Index;

use super::nodes::running_if_ready;
use super::Clusters;
use crate::doc::{Documents, PageRequest, Record, Versioned};
use crate::error::ControlResult;
use crate::layout::{cluster_events, ACTIVE_CLUSTERS};
use crate::time::now_ms;

/// How the reconciler judges nodes.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// Tasks each node runs at once (autoscaling divides the queue's depth by it).
    pub slots_per_node: u32,
    /// A node whose worker has not reported in this long after launch is replaced.
    pub report_timeout: Duration,
    /// A node whose worker stopped reporting this long ago is replaced.
    pub silence_timeout: Duration,
    /// The longest a decommissioned node may take to finish its tasks.
    pub drain_timeout: Duration,
    /// What `autotermination_minutes` counts in (a minute; tests make it shorter).
    pub minute: Duration,
    /// How long one reconciler holds a cluster.
    pub lease: Duration,
}

impl Default for ClusterSettings {
    fn default() -> ClusterSettings {
        ClusterSettings {
            slots_per_node: 4,
            report_timeout: Duration::from_secs(600),
            silence_timeout: Duration::from_secs(120),
            drain_timeout: Duration::from_secs(600),
            minute: Duration::from_secs(60),
            lease: Duration::from_secs(120),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The most queue entries read to size a cluster.
const BUSY_SCAN: usize = 1024;
/// An interrupted spot node is gone two minutes after its notice; it is terminated after this.
const INTERRUPTED_GRACE_MS: i64 = 150_000;
/// A node is not judged gone by one look this soon after its launch (EC2 lists new instances late).
const LAUNCH_GRACE_MS: i64 = 60_000;

/// Moves clusters towards their records through a [`Compute`].
#[derive(Debug, Clone)]
pub struct ClusterReconciler {
    clusters: Clusters,
    docs: Documents,
    compute: Arc<dyn Compute>,
    settings: ClusterSettings,
}

/// What one pass found, for the cluster's record.
#[derive(Debug, Default)]
struct Outcome {
    busy: u64,
    terminate: Option<TerminationReason>,
    all_gone: bool,
    nodes: Vec<Node>,
}

impl ClusterReconciler {
    pub(crate) fn new(
        clusters: Clusters,
        docs: Documents,
        compute: Arc<dyn Compute>,
        settings: ClusterSettings,
    ) -> ClusterReconciler {
        ClusterReconciler {
            clusters,
            docs,
            compute,
            settings,
        }
    }

    pub(crate) fn docs(&self) -> &Documents {
        &self.docs
    }

    pub(crate) fn clusters(&self) -> &Clusters {
        &self.clusters
    }

    /// Reconciles every cluster that is not settled; returns how many were looked at.
    pub async fn sweep(&self) -> ControlResult<usize> {
        let mut page = PageRequest {
            limit: 100,
            ..Default::default()
        };
        let mut n = 0;
        loop {
            let listed = self
                .docs
                .list::<Cluster>(Index::Status, ACTIVE_CLUSTERS, &page, |_| true)
                .await?;
            for c in &listed.items {
                n += 1;
                if let Err(e) = self.reconcile(&c.cluster_id).await {
                    tracing::warn!(cluster_id = %c.cluster_id, error = %e, "reconciling a cluster failed; the next sweep tries again");
                }
            }
            match listed.next_page_token {
                Some(t) => page.page_token = Some(t),
                None => return Ok(n),
            }
        }
    }

    /// One pass over one cluster (and a second when the first decided it terminates).
    pub async fn reconcile(&self, cluster_id: &str) -> ControlResult<()> {
        for _ in 0..2 {
            if !self.pass(cluster_id).await? {
                break;
            }
        }
        Ok(())
    }

    /// Whether another pass should follow at once.
    async fn pass(&self, cluster_id: &str) -> ControlResult<bool> {
        let Some((held, nodes)) = self.clusters.read_all(cluster_id).await? else {
            return Ok(false);
        };
        let now = now_ms();
        if held
            .doc
            .reconciler
            .as_ref()
            .is_some_and(|l| l.expires_at > now)
        {
            return Ok(false);
        }
        let token = uuid::Uuid::new_v4().to_string();
        let mut cluster = held.doc.clone();
        cluster.reconciler = Some(Lease {
            token: token.clone(),
            owner: format!("reconciler-{}", std::process::id()),
            expires_at: now + ms(self.settings.lease),
        });
        match self.docs.replace(&cluster, held.version).await {
            Ok(_) => {}
            Err(e) if e.is_conflict() => return Ok(false),
            Err(e) => return Err(e),
        }
        let outcome = self.act(&cluster, nodes).await;
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                self.release(cluster_id, &token, Outcome::default()).await?;
                return Err(e);
            }
        };
        self.release(cluster_id, &token, outcome).await
    }

    /// Writes what the pass found and lets go of the cluster. Whether another pass should follow.
    async fn release(&self, id: &str, token: &str, outcome: Outcome) -> ControlResult<bool> {
        let now = now_ms();
        let events = std::sync::Mutex::new(Vec::new());
        let (cluster, _) = self
            .docs
            .update::<Cluster>(&id.to_string(), |c| {
                let mut ev = Vec::new();
                if c.reconciler.as_ref().is_some_and(|l| l.token == token) {
                    c.reconciler = None;
                }
                if outcome.busy > 0 {
                    c.last_activity_time = now;
                }
                if c.state.is_live() {
                    if let Some(target) =
                        c.autoscale_target(outcome.busy, self.settings.slots_per_node)
                    {
                        c.scale_to(target);
                        ev.push(
                            ClusterEvent::new(id, now, EventType::Resizing)
                                .with("target_num_workers", target)
                                .with("cause", "AUTOSCALE")
                                .with("queued_or_running_tasks", outcome.busy),
                        );
                    }
                }
                let idle = (outcome.busy == 0)
                    .then(|| c.idle_too_long(now, ms(self.settings.minute)))
                    .flatten()
                    .map(TerminationReason::inactivity);
                if let Some(reason) = outcome.terminate.clone().or(idle) {
                    if c.terminate(reason.clone()) {
                        ev.push(
                            ClusterEvent::new(id, now, EventType::Terminating)
                                .with("reason", serde_json::to_value(&reason).unwrap_or_default()),
                        );
                    }
                }
                if outcome.all_gone && c.state == ClusterState::Terminating {
                    c.terminated(now);
                }
                if let Some(e) = running_if_ready(c, &outcome.nodes, now) {
                    ev.push(e);
                }
                *events.lock().unwrap_or_else(|p| p.into_inner()) = ev;
                Ok(true)
            })
            .await?;
        for e in events.into_inner().unwrap_or_else(|p| p.into_inner()) {
            self.clusters.record(e).await;
        }
        if cluster.deleted && outcome.all_gone {
            self.forget(&cluster, &outcome.nodes).await?;
            return Ok(false);
        }
        Ok(cluster.state == ClusterState::Terminating && !outcome.all_gone)
    }

    /// Removes a permanently deleted cluster's records.
    async fn forget(&self, cluster: &Cluster, nodes: &[Node]) -> ControlResult<()> {
        for n in nodes {
            self.docs.remove(&Node::key_of(&n.id())).await?;
        }
        for item in self
            .docs
            .partition(&cluster_events(&cluster.cluster_id))
            .await?
        {
            self.docs.remove(&item.key).await?;
        }
        self.docs
            .remove(&Cluster::key_of(&cluster.cluster_id))
            .await?;
        tracing::info!(cluster_id = %cluster.cluster_id, "cluster permanently deleted");
        Ok(())
    }

    async fn act(&self, c: &Cluster, nodes: Vec<Versioned<Node>>) -> ControlResult<Outcome> {
        let now = now_ms();
        let id = c.cluster_id.as_str();
        let mut nodes: Vec<Node> = nodes.into_iter().map(|v| v.doc).collect();
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
        let target = 1 + c
            .autoscale_target(outcome.busy, self.settings.slots_per_node)
            .unwrap_or(c.target_workers);
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

    /// Launches `count` nodes of `role`, on-demand while fewer than `first_on_demand` are, spot
    /// after (on-demand when spot has no capacity and the spec allows).
    async fn launch(
        &self,
        c: &Cluster,
        role: NodeRole,
        count: u32,
        on_demand: &mut u32,
    ) -> ControlResult<Launched> {
        let aws = c.spec.aws();
        let mut added = Vec::new();
        let mut left = count;
        while left > 0 {
            let market = aws.market_for(*on_demand);
            let n = match market {
                Market::OnDemand if aws.availability() != Availability::OnDemand => {
                    left.min(aws.first_on_demand().saturating_sub(*on_demand).max(1))
                }
                _ => left,
            };
            let request = self.request(c, role, n, market);
            let result = match self.compute.launch(&request).await {
                Err(e)
                    if e.is_capacity()
                        && market == Market::Spot
                        && aws.availability() == Availability::SpotWithFallback =>
                {
                    self.clusters
                        .record(failed_event(c, &request, &e).with("fallback", "ON_DEMAND"))
                        .await;
                    let fallback = Launch {
                        market: Market::OnDemand,
                        max_price: None,
                        ..request.clone()
                    };
                    self.compute.launch(&fallback).await.map(|l| (fallback, l))
                }
                other => other.map(|l| (request.clone(), l)),
            };
            let (request, launched) = match result {
                Ok(r) => r,
                Err(e @ ComputeError::Rejected { .. }) => {
                    self.clusters.record(failed_event(c, &request, &e)).await;
                    return Ok(Launched::Fatal(e.to_string()));
                }
                Err(e) => {
                    tracing::warn!(cluster_id = %c.cluster_id, error = %e, "could not launch nodes; the next pass tries again");
                    self.clusters.record(failed_event(c, &request, &e)).await;
                    return Ok(if added.is_empty() {
                        Launched::Later
                    } else {
                        Launched::Nodes(added)
                    });
                }
            };
            let now = now_ms();
            let mut these = Vec::new();
            for l in launched {
                let node = Node {
                    cluster_id: c.cluster_id.clone(),
                    node_id: l.node_id,
                    role,
                    generation: c.generation,
                    instance_type: request.instance_type.clone(),
                    market: request.market,
                    zone: l.zone,
                    private_ip: l.private_ip,
                    price_per_hour: l.price_per_hour,
                    launched_at: now,
                    reported_at: None,
                    last_seen: None,
                    drain: None,
                    drain_requested_at: None,
                    drained_at: None,
                    terminated_at: None,
                    termination_cause: None,
                };
                self.docs.create(&node).await?;
                these.push(node);
            }
            if request.market == Market::OnDemand {
                *on_demand += these.len() as u32;
            }
            self.clusters
                .record(
                    ClusterEvent::new(&c.cluster_id, now, EventType::NodesAdded)
                        .with("target_num_workers", c.target_workers)
                        .with_nodes(&these),
                )
                .await;
            added.extend(these);
            left = left.saturating_sub(n);
        }
        Ok(Launched::Nodes(added))
    }

    /// The launch request for `count` nodes of `c`.
    fn request(&self, c: &Cluster, role: NodeRole, count: u32, market: Market) -> Launch {
        let aws = c.spec.aws();
        let instance_type = match role {
            NodeRole::Driver => c.spec.driver_node_type(),
            NodeRole::Worker => c.spec.node_type(),
        }
        .to_string();
        let mut tags = c.spec.custom_tags.clone();
        tags.insert(compute::TAG_MANAGED.into(), "true".into());
        tags.insert(compute::TAG_CLUSTER.into(), c.cluster_id.clone());
        tags.insert(compute::TAG_CREATOR.into(), c.creator_user_name.clone());
        tags.insert(compute::TAG_ROLE.into(), format!("{role:?}").to_lowercase());
        tags.insert(compute::TAG_GENERATION.into(), c.generation.to_string());
        if let Some(run) = c.run_id {
            tags.insert(compute::TAG_RUN.into(), run.to_string());
        }
        tags.insert(
            "Name".into(),
            format!(
                "lakeplane-{}",
                c.spec.cluster_name.as_deref().unwrap_or(&c.cluster_id)
            ),
        );
        let price = node_types::on_demand_price(&instance_type);
        let max_price = (market == Market::Spot && price > 0.0)
            .then(|| price * f64::from(aws.spot_bid_price_percent()) / 100.0);
        let volumes = match (aws.ebs_volume_count, aws.ebs_volume_size) {
            (Some(count), Some(size)) if count > 0 => Some(Volumes {
                kind: aws
                    .ebs_volume_type
                    .unwrap_or(lakeplane_core::cluster::spec::EbsVolumeType::GeneralPurposeSsd),
                count,
                size_gib: size,
                iops: aws.ebs_volume_iops,
                throughput: aws.ebs_volume_throughput,
            }),
            _ => None,
        };
        Launch {
            cluster_id: c.cluster_id.clone(),
            queue: c.queue(),
            role,
            generation: c.generation,
            count,
            instance_type,
            market,
            max_price,
            zone: aws.zone().map(str::to_string),
            instance_profile_arn: aws.instance_profile_arn.clone(),
            volumes,
            tags,
        }
    }
}

enum Launched {
    Nodes(Vec<Node>),
    /// The spec cannot be launched: the cluster fails.
    Fatal(String),
    /// Nothing launched now; the next pass tries again.
    Later,
}

fn failed_event(c: &Cluster, r: &Launch, e: &ComputeError) -> ClusterEvent {
    let code = match e {
        ComputeError::Capacity { .. } => "AWS_INSUFFICIENT_INSTANCE_CAPACITY_FAILURE",
        ComputeError::Rejected { .. } | ComputeError::Unavailable { .. } => {
            "CLOUD_PROVIDER_LAUNCH_FAILURE"
        }
    };
    let mut params = serde_json::Map::new();
    params.insert("aws_error_message".into(), e.to_string().into());
    ClusterEvent::new(&c.cluster_id, now_ms(), EventType::AddNodesFailed)
        .with_reason(code, "CLOUD_FAILURE", params)
        .with("instance_type", r.instance_type.clone())
        .with("market", r.market.as_str())
        .with("count", r.count)
}

fn unavailable(e: ComputeError) -> crate::error::ControlError {
    crate::error::ControlError::Compute(e)
}

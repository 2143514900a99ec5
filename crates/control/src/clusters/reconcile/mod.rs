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
//!
//! The pass itself is in [`act`] (what runs against what should) and [`launch`] (new nodes).

mod act;
mod launch;

use std::sync::Arc;
use std::time::Duration;

use lakeplane_core::cluster::compute::{Compute, ComputeError};
use lakeplane_core::cluster::{
    Cluster, ClusterEvent, ClusterState, EventType, Node, TerminationReason,
};
use lakeplane_core::run::Lease;
use lakeplane_store::Index;

use super::nodes::running_if_ready;
use super::Clusters;
use crate::doc::{Documents, PageRequest, Record};
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
                    if let Some(target) = c.autoscale(
                        outcome.busy,
                        self.settings.slots_per_node,
                        now,
                        ms(self.settings.minute),
                    ) {
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
}

fn unavailable(e: ComputeError) -> crate::error::ControlError {
    crate::error::ControlError::Compute(e)
}

//! Clusters: what the Clusters API asks (create, edit, start, restart, resize, terminate,
//! permanent delete, pin) written as the cluster's desired state; its nodes' reports
//! ([`nodes`]); and the [`ClusterReconciler`] that moves machines towards what is desired through
//! the compute port. Job clusters are made here for a run and end with it.

mod cost;
mod nodes;
mod reconcile;
mod warehouses;

use lakeplane_core::cluster::{
    Autoscale, Cluster, ClusterEvent, ClusterSource, ClusterSpec, ClusterState, EventType, Node,
    TerminationReason,
};
use lakeplane_core::RunId;
use lakeplane_store::Index;

pub use cost::RunCost;
pub use nodes::{NodeOrder, NodeReport};
pub use reconcile::{ClusterReconciler, ClusterSettings};

use crate::doc::{Documents, PageRequest, Paged};
use crate::error::{ControlError, ControlResult};
use crate::layout::{cluster_events, StoredEvent, CLUSTERS};
use crate::time::now_ms;

/// A cluster and its nodes (those not yet terminated, and the terminated ones of its last
/// generation, for the record).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    pub cluster: Cluster,
    pub nodes: Vec<Node>,
}

/// The clusters area.
#[derive(Debug, Clone)]
pub struct Clusters {
    docs: Documents,
}

/// A new cluster id in Databricks' shape (`MMDD-HHMMSS-xxxxxxxx`).
pub(crate) fn new_cluster_id(now: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
    let mut tail = uuid::Uuid::new_v4().simple().to_string();
    tail.truncate(8);
    format!("{}-{tail}", t.format("%m%d-%H%M%S"))
}

impl Clusters {
    pub(crate) fn new(docs: Documents) -> Clusters {
        Clusters { docs }
    }

    /// `clusters/create`: a new cluster, PENDING; the reconciler launches its nodes.
    pub async fn create(
        &self,
        spec: ClusterSpec,
        creator: &str,
        source: ClusterSource,
    ) -> ControlResult<Cluster> {
        spec.validate()?;
        let now = now_ms();
        let cluster = Cluster::new(new_cluster_id(now), spec, creator, source, now);
        self.docs.create(&cluster).await?;
        self.record(
            ClusterEvent::new(&cluster.cluster_id, now, EventType::Creating)
                .with("user", creator)
                .with("target_num_workers", cluster.target_workers),
        )
        .await;
        tracing::info!(cluster_id = %cluster.cluster_id, creator, "cluster created");
        Ok(cluster)
    }

    /// A job cluster for `run` (`new_cluster` on a task, or `job_clusters[key]`), PENDING.
    /// Not stored: the run stores it with its task runs, in one transaction.
    pub(crate) fn job_cluster(
        spec: ClusterSpec,
        key: &str,
        run: RunId,
        creator: &str,
        now: i64,
    ) -> Cluster {
        let mut c = Cluster::new(new_cluster_id(now), spec, creator, ClusterSource::Job, now);
        c.run_id = Some(run);
        c.job_cluster_key = Some(key.to_string());
        if c.spec.cluster_name.is_none() {
            c.spec.cluster_name = Some(format!("job-{run}-{key}"));
        }
        c
    }

    /// A cluster that is not permanently deleted.
    pub async fn get(&self, id: &str) -> ControlResult<Cluster> {
        match self.docs.find::<Cluster>(&id.to_string()).await? {
            Some(c) if !c.deleted => Ok(c),
            _ => Err(ControlError::NotFound {
                kind: "Cluster",
                name: id.to_string(),
            }),
        }
    }

    /// A cluster with its nodes.
    pub async fn view(&self, id: &str) -> ControlResult<ClusterView> {
        match self.read_all(id).await? {
            Some((cluster, nodes)) if !cluster.doc.deleted => {
                let cluster = cluster.doc;
                let mut nodes: Vec<Node> = nodes
                    .into_iter()
                    .map(|n| n.doc)
                    .filter(|n| !n.is_terminated() || n.generation == cluster.generation)
                    .collect();
                nodes.sort_by_key(|n| {
                    (
                        n.role != lakeplane_core::cluster::NodeRole::Driver,
                        n.launched_at,
                    )
                });
                Ok(ClusterView { cluster, nodes })
            }
            _ => Err(ControlError::NotFound {
                kind: "Cluster",
                name: id.to_string(),
            }),
        }
    }

    /// A page of clusters, by id, that pass `keep`.
    pub async fn list(
        &self,
        page: &PageRequest,
        keep: impl Fn(&Cluster) -> bool,
    ) -> ControlResult<Paged<Cluster>> {
        self.docs
            .list::<Cluster>(Index::Collection, CLUSTERS, page, |c| !c.deleted && keep(c))
            .await
    }

    /// Applies `change` to a cluster (not permanently deleted) and records `event` if it changed.
    async fn change(
        &self,
        id: &str,
        change: impl Fn(&mut Cluster) -> ControlResult<Option<ClusterEvent>>,
    ) -> ControlResult<Cluster> {
        let event = std::sync::Mutex::new(None);
        let (cluster, changed) = self
            .docs
            .update::<Cluster>(&id.to_string(), |c| {
                if c.deleted {
                    return Err(ControlError::NotFound {
                        kind: "Cluster",
                        name: c.cluster_id.clone(),
                    });
                }
                let e = change(c)?;
                let changed = e.is_some();
                *event.lock().unwrap_or_else(|p| p.into_inner()) = e;
                Ok(changed)
            })
            .await?;
        let event = event.into_inner().unwrap_or_else(|p| p.into_inner());
        if let (true, Some(e)) = (changed, event) {
            self.record(e).await;
        }
        Ok(cluster)
    }

    /// `clusters/edit`: a new spec; a live cluster restarts with it.
    pub async fn edit(&self, id: &str, spec: ClusterSpec, user: &str) -> ControlResult<Cluster> {
        spec.validate()?;
        let now = now_ms();
        self.change(id, |c| {
            c.edit(spec.clone(), now)?;
            Ok(Some(
                ClusterEvent::new(id, now, EventType::Edited).with("user", user),
            ))
        })
        .await
    }

    /// `clusters/start`.
    pub async fn start(&self, id: &str, user: &str) -> ControlResult<Cluster> {
        let now = now_ms();
        self.change(id, |c| {
            Ok(c.start(now)?
                .then(|| ClusterEvent::new(id, now, EventType::Starting).with("user", user)))
        })
        .await
    }

    /// `clusters/restart`.
    pub async fn restart(&self, id: &str, user: &str) -> ControlResult<Cluster> {
        let now = now_ms();
        self.change(id, |c| {
            c.restart(now)?;
            Ok(Some(
                ClusterEvent::new(id, now, EventType::Restarting).with("user", user),
            ))
        })
        .await
    }

    /// `clusters/resize`.
    pub async fn resize(
        &self,
        id: &str,
        num_workers: Option<u32>,
        autoscale: Option<Autoscale>,
        user: &str,
    ) -> ControlResult<Cluster> {
        let now = now_ms();
        self.change(id, |c| {
            c.resize(num_workers, autoscale, now)?;
            Ok(Some(
                ClusterEvent::new(id, now, EventType::Resizing)
                    .with("user", user)
                    .with("target_num_workers", c.target_workers),
            ))
        })
        .await
    }

    /// `clusters/delete`: terminate. Its nodes go; the record stays.
    pub async fn terminate(&self, id: &str, reason: TerminationReason) -> ControlResult<Cluster> {
        let now = now_ms();
        self.change(id, |c| {
            Ok(c.terminate(reason.clone()).then(|| {
                ClusterEvent::new(id, now, EventType::Terminating)
                    .with("reason", serde_json::to_value(&reason).unwrap_or_default())
            }))
        })
        .await
    }

    /// `clusters/permanent-delete`: terminate, and forget the cluster once its nodes are gone.
    pub async fn permanent_delete(&self, id: &str, user: &str) -> ControlResult<()> {
        let now = now_ms();
        self.change(id, |c| {
            c.terminate(TerminationReason::user_request(user));
            c.deleted = true;
            Ok(Some(ClusterEvent::new(id, now, EventType::Terminating)))
        })
        .await?;
        Ok(())
    }

    /// `clusters/pin` and `unpin`.
    pub async fn pin(&self, id: &str, pinned: bool, user: &str) -> ControlResult<Cluster> {
        let now = now_ms();
        self.change(id, |c| {
            if c.pinned == pinned {
                return Ok(None);
            }
            c.pinned = pinned;
            let kind = if pinned {
                EventType::Pinned
            } else {
                EventType::Unpinned
            };
            Ok(Some(ClusterEvent::new(id, now, kind).with("user", user)))
        })
        .await
    }

    /// `clusters/change-owner`.
    pub async fn change_owner(&self, id: &str, owner: &str) -> ControlResult<Cluster> {
        self.change(id, |c| {
            c.creator_user_name = owner.to_string();
            Ok(Some(
                ClusterEvent::new(id, now_ms(), EventType::Edited).with("user", owner),
            ))
        })
        .await
    }

    /// Sends work to an existing cluster: it must exist, and a terminated one starts (as
    /// Databricks starts a job's `existing_cluster_id`).
    pub async fn attach(&self, id: &str, user: &str) -> ControlResult<Cluster> {
        let c = self
            .get(id)
            .await
            .map_err(|_| ControlError::InvalidParameter(format!("Cluster {id} does not exist")))?;
        match c.state {
            ClusterState::Terminated | ClusterState::Error => self.start(id, user).await,
            _ => Ok(c),
        }
    }

    /// Records an event; a failure is logged, never fatal (events are a record, not state).
    pub async fn record(&self, event: ClusterEvent) {
        let stored = StoredEvent {
            seq: event_seq(),
            event,
        };
        tracing::info!(cluster_id = %stored.event.cluster_id, kind = ?stored.event.kind,
            details = %serde_json::Value::Object(stored.event.details.clone()), "cluster event");
        if let Err(e) = self.docs.create(&stored).await {
            tracing::warn!(error = %e, "could not record a cluster event");
        }
    }

    /// A cluster's events, newest first unless `oldest_first`, within `[start, end]` ms, of the
    /// given types (all when empty): `(page, total)`.
    pub async fn events(
        &self,
        id: &str,
        filter: &EventFilter,
    ) -> ControlResult<(Vec<ClusterEvent>, usize)> {
        self.get(id).await?;
        let items = self.docs.partition(&cluster_events(id)).await?;
        let mut events = Vec::with_capacity(items.len());
        for item in &items {
            let e: StoredEvent = crate::doc::Record::from_item(item)?;
            if filter.keeps(&e.event) {
                events.push(e.event);
            }
        }
        if !filter.oldest_first {
            events.reverse();
        }
        let total = events.len();
        let page = events
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit.max(1))
            .collect();
        Ok((page, total))
    }
}

/// Orders events of one millisecond as this process recorded them (a counter that starts at the
/// clock's microseconds, so that processes roughly agree), with a random tail against collisions.
fn event_seq() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let previous = NEXT
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
            Some((p + 1).max(micros))
        })
        .unwrap_or_default();
    let n = (previous + 1).max(micros);
    let mut tail = uuid::Uuid::new_v4().simple().to_string();
    tail.truncate(6);
    format!("{n:020}{tail}")
}

/// Which events `clusters/events` returns.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub kinds: Vec<EventType>,
    pub oldest_first: bool,
    pub offset: usize,
    pub limit: usize,
}

impl EventFilter {
    fn keeps(&self, e: &ClusterEvent) -> bool {
        self.start_time.is_none_or(|s| e.timestamp >= s)
            && self.end_time.is_none_or(|t| e.timestamp <= t)
            && (self.kinds.is_empty() || self.kinds.contains(&e.kind))
    }
}

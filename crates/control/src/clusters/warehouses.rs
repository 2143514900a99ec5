//! SQL warehouses on clusters of their own (on AWS, where nothing else serves a warehouse's queue
//! past what the `sql` function runs inline): a starting warehouse gets a cluster whose nodes serve
//! the warehouse's queue, and runs once that cluster does; a stopped, idle or deleted warehouse's
//! cluster terminates. The cluster's size and market come from the warehouse
//! ([`lakeplane_core::sql::Warehouse::cluster_spec`]).

use lakeplane_core::cluster::{
    Cluster, ClusterEvent, ClusterSource, ClusterState, EventType, TerminationReason,
};
use lakeplane_core::sql::{Warehouse, WarehouseState};
use lakeplane_store::Index;

use super::reconcile::ClusterReconciler;
use crate::doc::PageRequest;
use crate::error::{ControlError, ControlResult};
use crate::layout::WAREHOUSES;
use crate::sql::Warehouses;
use crate::time::now_ms;

/// The id of a warehouse's `n`th cluster: one per start, so that two sweeps make the same one.
fn warehouse_cluster_id(warehouse: &str, n: u64) -> String {
    format!("wh-{warehouse}-{n}")
}

fn next_number(previous: Option<&str>) -> u64 {
    previous
        .and_then(|id| id.rsplit('-').next())
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(1, |n| n + 1)
}

impl ClusterReconciler {
    /// Moves every warehouse's cluster along with it; returns how many warehouses run.
    pub async fn serve_warehouses(&self) -> ControlResult<usize> {
        let warehouses = Warehouses::new(self.docs().clone());
        let mut page = PageRequest {
            limit: 200,
            ..Default::default()
        };
        let mut running = 0;
        loop {
            let listed = self
                .docs()
                .list::<Warehouse>(Index::Collection, WAREHOUSES, &page, |_| true)
                .await?;
            for w in &listed.items {
                match self.serve_one(&warehouses, w).await {
                    Ok(true) => running += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(warehouse = %w.id, error = %e, "serving a warehouse's cluster failed; the next sweep tries again")
                    }
                }
            }
            match listed.next_page_token {
                Some(t) => page.page_token = Some(t),
                None => return Ok(running),
            }
        }
    }

    /// Whether the warehouse runs after this pass.
    async fn serve_one(&self, warehouses: &Warehouses, w: &Warehouse) -> ControlResult<bool> {
        let now = now_ms();
        let cluster = match &w.cluster_id {
            Some(id) => self.clusters().get(id).await.ok(),
            None => None,
        };
        let live = cluster.as_ref().filter(|c| c.state.is_live());
        let mut state = w.state;
        if state == WarehouseState::Running && w.next_state(now) == Some(WarehouseState::Stopped) {
            state = warehouses
                .move_on(&w.id, now, WarehouseState::Stopped)
                .await?;
        }
        if state == WarehouseState::Stopping {
            state = warehouses
                .move_on(&w.id, now, WarehouseState::Stopped)
                .await?;
        }
        if !matches!(state, WarehouseState::Starting | WarehouseState::Running) {
            if let Some(c) = live {
                let reason = TerminationReason::new("USER_REQUEST", "SUCCESS")
                    .with("warehouse_state", state.as_str());
                self.clusters().terminate(&c.cluster_id, reason).await?;
                self.reconcile(&c.cluster_id).await?;
            }
            return Ok(false);
        }
        let id = match live {
            Some(c) => c.cluster_id.clone(),
            None => self.start_cluster(w).await?,
        };
        self.reconcile(&id).await?;
        let running = self.clusters().get(&id).await?.state == ClusterState::Running;
        if running && state == WarehouseState::Starting {
            warehouses
                .move_on(&w.id, now, WarehouseState::Running)
                .await?;
        }
        Ok(running)
    }

    /// Makes the warehouse's next cluster and records it on the warehouse.
    async fn start_cluster(&self, w: &Warehouse) -> ControlResult<String> {
        let id = warehouse_cluster_id(&w.id, next_number(w.cluster_id.as_deref()));
        let now = now_ms();
        let mut cluster = Cluster::new(
            id.clone(),
            w.cluster_spec(),
            &w.creator_name,
            ClusterSource::Sql,
            now,
        );
        cluster.warehouse_id = Some(w.id.clone());
        match self.docs().create(&cluster).await {
            Ok(()) => {
                self.clusters()
                    .record(
                        ClusterEvent::new(&id, now, EventType::Creating)
                            .with("warehouse_id", w.id.clone())
                            .with("target_num_workers", cluster.target_workers),
                    )
                    .await
            }
            // Another sweep made it first: the same cluster.
            Err(ControlError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        }
        self.docs()
            .update::<Warehouse>(&w.id, |doc| {
                let changed = doc.cluster_id.as_deref() != Some(id.as_str());
                doc.cluster_id = Some(id.clone());
                Ok(changed)
            })
            .await?;
        tracing::info!(warehouse = %w.id, cluster_id = %id, "warehouse cluster started");
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_start_has_its_own_cluster_id() {
        assert_eq!(next_number(None), 1);
        assert_eq!(next_number(Some("wh-abc-1")), 2);
        assert_eq!(warehouse_cluster_id("abc", 2), "wh-abc-2");
    }
}

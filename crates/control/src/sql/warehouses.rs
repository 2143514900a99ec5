//! SQL warehouses: create, edit, start, stop, delete, and the moves the compute serving them makes
//! (a starting warehouse runs, a stopping or idle one stops, and the statements left in a stopped
//! warehouse's queue are cancelled: nothing waits for compute that will not come).

use lakeplane_core::sql::{warehouse_queue, Statement, Warehouse, WarehouseSpec, WarehouseState};
use lakeplane_store::Index;

use crate::doc::{Documents, PageRequest, Paged};
use crate::error::{ControlError, ControlResult};
use crate::layout::WAREHOUSES;
use crate::time::now_ms;

/// The warehouses area.
#[derive(Debug, Clone)]
pub struct Warehouses {
    docs: Documents,
}

impl Warehouses {
    pub(crate) fn new(docs: Documents) -> Warehouses {
        Warehouses { docs }
    }

    /// A new warehouse, STARTING.
    pub async fn create(&self, spec: WarehouseSpec, creator: &str) -> ControlResult<Warehouse> {
        spec.validate()?;
        let warehouse = Warehouse::new(super::new_id(16), spec, creator, now_ms());
        self.docs.create(&warehouse).await?;
        Ok(warehouse)
    }

    /// A warehouse, deleted ones included (their state says so).
    pub async fn get(&self, id: &str) -> ControlResult<Warehouse> {
        self.docs.read::<Warehouse>(&id.to_string()).await
    }

    /// A warehouse statements may be sent to: not deleted.
    pub async fn usable(&self, id: &str) -> ControlResult<Warehouse> {
        let w = self.get(id).await?;
        if w.is_deleted() {
            return Err(ControlError::NotFound {
                kind: "Warehouse",
                name: id.to_string(),
            });
        }
        Ok(w)
    }

    /// A page of the warehouses that are not deleted, by id.
    pub async fn list(&self, page: &PageRequest) -> ControlResult<Paged<Warehouse>> {
        self.docs
            .list::<Warehouse>(Index::Collection, WAREHOUSES, page, |w| !w.is_deleted())
            .await
    }

    pub async fn edit(&self, id: &str, spec: WarehouseSpec) -> ControlResult<Warehouse> {
        let now = now_ms();
        let (w, _) = self
            .docs
            .update::<Warehouse>(&id.to_string(), |w| {
                w.edit(spec.clone(), now)?;
                Ok(true)
            })
            .await?;
        Ok(w)
    }

    pub async fn start(&self, id: &str) -> ControlResult<Warehouse> {
        let now = now_ms();
        let (w, _) = self
            .docs
            .update::<Warehouse>(&id.to_string(), |w| Ok(w.start(now)?))
            .await?;
        Ok(w)
    }

    pub async fn stop(&self, id: &str) -> ControlResult<Warehouse> {
        let (w, _) = self
            .docs
            .update::<Warehouse>(&id.to_string(), |w| Ok(w.stop()?))
            .await?;
        Ok(w)
    }

    /// Marks it DELETED; its queued statements are cancelled.
    pub async fn delete(&self, id: &str) -> ControlResult<()> {
        let (w, changed) = self
            .docs
            .update::<Warehouse>(&id.to_string(), |w| {
                let was = w.is_deleted();
                w.delete();
                Ok(!was)
            })
            .await?;
        if changed {
            self.cancel_queued(&w.id).await?;
        }
        Ok(())
    }

    /// Records that a statement arrived (at most once a minute per warehouse); a lost race is fine.
    pub(crate) async fn note_activity(&self, w: &Warehouse) -> ControlResult<()> {
        let now = now_ms();
        if !w.touch_due(now) {
            return Ok(());
        }
        match self.docs.get::<Warehouse>(&w.id).await {
            Ok(mut current) => {
                current.doc.last_active_at = now;
                match self.docs.replace(&current.doc, current.version).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.is_conflict() => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// What the compute serving warehouses does at `now`: moves each on ([`Warehouse::next_state`])
    /// and returns the ids of those now RUNNING, whose queues it claims from.
    pub async fn serve(&self, now: i64) -> ControlResult<Vec<String>> {
        let mut running = Vec::new();
        let mut page = PageRequest {
            limit: 200,
            ..PageRequest::default()
        };
        loop {
            let listed = self.list(&page).await?;
            for w in listed.items {
                let state = match w.next_state(now) {
                    Some(next) => self.move_on(&w.id, now, next).await?,
                    None => w.state,
                };
                if state == WarehouseState::Running {
                    running.push(w.id);
                }
            }
            match listed.next_page_token {
                Some(t) => page.page_token = Some(t),
                None => return Ok(running),
            }
        }
    }

    /// Moves a warehouse to `next` if it still calls for it; returns the state it is in after.
    pub(crate) async fn move_on(
        &self,
        id: &str,
        now: i64,
        next: WarehouseState,
    ) -> ControlResult<WarehouseState> {
        let (w, changed) = self
            .docs
            .update::<Warehouse>(&id.to_string(), |w| {
                if w.next_state(now) != Some(next) {
                    return Ok(false);
                }
                w.state = next;
                Ok(true)
            })
            .await?;
        if changed {
            tracing::info!(warehouse = %id, state = w.state.as_str(), "warehouse moved on");
            if w.state == WarehouseState::Stopped {
                self.cancel_queued(id).await?;
            }
        }
        Ok(w.state)
    }

    /// Cancels the statements waiting in a warehouse's queue that no compute will serve.
    async fn cancel_queued(&self, id: &str) -> ControlResult<()> {
        let queue = warehouse_queue(id);
        // Each round ends what it reads, so the queue empties; the bound guards against a store
        // that keeps answering stale entries.
        for _ in 0..1000 {
            let due = self.docs.due::<Statement>(&queue, i64::MAX, 64).await?;
            if due.is_empty() {
                break;
            }
            for s in due {
                let now = now_ms();
                self.docs
                    .update::<Statement>(&s.doc.id, |st| {
                        Ok(st.request.warehouse_id == id && st.cancel(now))
                    })
                    .await?;
            }
        }
        Ok(())
    }
}

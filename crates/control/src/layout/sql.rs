//! How Databricks SQL's records are laid out: warehouses, statements (in their warehouse's queue
//! while they wait or run, listed by end time once ended) and sessions.

use lakeplane_core::run::MAX_CLOCK_SKEW_MS;
use lakeplane_core::sql::{warehouse_queue, Statement, StatementState, Warehouse};
use lakeplane_store::{IndexEntry, Item, Key, QueueEntry};

use super::{padded, ENDED_STATEMENTS, WAREHOUSES};
use crate::doc::Record;
use crate::sql::Session;

impl Record for Warehouse {
    const KIND: &'static str = "Warehouse";
    type Id = String;

    fn key_of(id: &String) -> Key {
        Key::new(format!("WAREHOUSE#{id}"), "WAREHOUSE")
    }

    fn id(&self) -> String {
        self.id.clone()
    }

    fn layout(&self, item: &mut Item) {
        item.collection = Some(IndexEntry::new(WAREHOUSES, self.id.clone()));
    }
}

impl Record for Statement {
    const KIND: &'static str = "Statement";
    type Id = String;

    fn key_of(id: &String) -> Key {
        Key::new(format!("STATEMENT#{id}"), "STATEMENT")
    }

    fn id(&self) -> String {
        self.id.clone()
    }

    /// Due in its warehouse's queue while it waits, and at its lease's end while it runs.
    fn layout(&self, item: &mut Item) {
        item.queue = self
            .due_at()
            .map(|d| QueueEntry::new(warehouse_queue(&self.request.warehouse_id), d));
        item.status = self
            .finished_at
            .filter(|_| self.state.is_terminal())
            .map(|at| {
                IndexEntry::new(
                    ENDED_STATEMENTS,
                    format!("{}#{}", padded(at.max(0) as u64), self.id),
                )
            });
    }

    /// A renewal moves only the queue entry; the entry holds the current lease expiry.
    fn restore(&mut self, item: &Item) {
        if let (StatementState::Running, Some(lease), Some(q)) =
            (self.state, self.lease.as_mut(), item.queue.as_ref())
        {
            lease.expires_at = q.due_at - MAX_CLOCK_SKEW_MS;
        }
    }
}

impl Record for Session {
    const KIND: &'static str = "Session";
    type Id = String;

    fn key_of(id: &String) -> Key {
        Key::new(format!("SESSION#{id}"), "SESSION")
    }

    fn id(&self) -> String {
        self.id.clone()
    }
}

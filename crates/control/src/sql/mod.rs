//! Databricks SQL's control plane: [`Warehouses`], connection [`Sessions`] and the [`Statements`]
//! of the Statement Execution API, with the lease protocol workers run statements under.

mod sessions;
mod statements;
mod warehouses;

pub use sessions::{Session, Sessions, MAX_SESSION_CONFS};
pub use statements::{Held, Renewal, Statements};
pub use warehouses::Warehouses;

/// A fresh id: 32 lowercase hex digits cut to `len`.
fn new_id(len: usize) -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(len);
    id
}

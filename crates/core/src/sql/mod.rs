//! Databricks SQL: warehouses (the compute statements run on), sessions (a connection's current
//! catalog and schema), statements (the Statement Execution API's unit of work, with its state
//! machine and result manifest) and the [`results::ResultStore`] port where result chunks live.
//!
//! A statement is a document: the API creates it PENDING in its warehouse's queue, a worker claims
//! it under a lease (as it claims task runs), runs it, writes its result as chunk files to the
//! result store and records the manifest; the client polls the document.

pub mod manifest;
pub mod results;
pub mod statement;
pub mod warehouse;

pub use results::{ChunkLink, ResultStore, ResultsError};
pub use statement::{
    Chunk, Column, Compression, Disposition, Format, Manifest, NewStatement, Statement,
    StatementError, StatementLease, StatementParam, StatementState,
};
pub use warehouse::{Warehouse, WarehouseSpec, WarehouseState};

/// The queue a warehouse's statements wait in.
pub fn warehouse_queue(warehouse_id: &str) -> String {
    format!("warehouse:{warehouse_id}")
}

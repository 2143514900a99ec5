//! Lakeplane's domain: the catalog's securables and its port ([`catalog::Metastore`]), jobs with a task DAG, runs and task runs with explicit state machines, the run
//! planner, and parameter precedence. No I/O happens here; the control plane stores these types
//! through the state store port, and the API renders them in Databricks' shapes.
//!
//! ```
//! use lakeplane_core::job::JobSettings;
//! let settings = JobSettings::from_json(serde_json::json!({
//!     "name": "nightly",
//!     "tasks": [
//!         {"task_key": "ingest", "sql_task": {"file": {"path": "/jobs/ingest.sql"}}},
//!         {"task_key": "report", "depends_on": [{"task_key": "ingest"}],
//!          "sql_task": {"query": {"query_id": "q1"}}}
//!     ]
//! })).unwrap();
//! settings.validate().unwrap();
//! ```

pub mod catalog;
pub mod cluster;
pub mod error;
pub mod ids;
pub mod job;
pub mod mlflow;
pub mod params;
pub mod run;
pub mod serving;
pub mod sql;

pub use error::{DomainError, DomainResult};
pub use ids::{JobId, RunId, TaskKey};

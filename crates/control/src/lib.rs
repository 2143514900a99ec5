//! Control-plane use cases over the state store port, one area per module: [`Jobs`], [`Runs`], the
//! workers' [`Leases`], the [`Reconciler`], saved [`Queries`] and API [`Tokens`]. The API handlers and the worker call
//! these; neither touches the store directly.
//!
//! Every record names its key, listings and kind once ([`doc::Record`], laid out in [`layout`]);
//! every state change is a read, a domain transition, and a write conditional on the version read,
//! inside [`doc::retry`], so concurrent API calls and workers converge without locks.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use lakeplane_control::Control;
//! use lakeplane_store::embedded::EmbeddedStore;
//! let control = Control::new(Arc::new(EmbeddedStore::open("/tmp/state.db").await?));
//! let settings = lakeplane_core::job::JobSettings::from_json(serde_json::json!({
//!     "name": "j", "tasks": [{"task_key": "a", "sql_task": {"file": {"path": "/a.sql"}}}]}))?;
//! let job = control.jobs().create(settings, "me").await?;
//! let run = control.runs().run_now(job, Default::default(), "me").await?;
//! # Ok(()) }
//! ```

pub mod doc;
pub mod error;
pub mod jobs;
pub mod layout;
pub mod leases;
pub mod queries;
pub mod reconciler;
pub mod runs;
pub mod time;
pub mod tokens;
pub mod views;

use std::sync::Arc;

use lakeplane_store::StateStore;

pub use doc::{PageRequest, Paged};
pub use error::{ControlError, ControlResult};
pub use jobs::Jobs;
pub use layout::DEFAULT_QUEUE;
pub use leases::Leases;
pub use queries::{NewQuery, Queries, SavedQuery};
pub use reconciler::{Reconciler, Sweep};
pub use runs::{RunFilter, RunNow, Runs};
pub use tokens::{Principal, Tokens};
pub use views::{Claim, Deadline, Heartbeat, RunView};

/// The control plane: every area over one state store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Control {
    jobs: Jobs,
    runs: Runs,
    leases: Leases,
    queries: Queries,
    tokens: Tokens,
    reconciler: Reconciler,
}

impl Control {
    pub fn new(store: Arc<dyn StateStore>) -> Control {
        let docs = doc::Documents::new(store);
        let runs = Runs::new(docs.clone());
        let leases = Leases::new(docs.clone(), runs.clone());
        Control {
            jobs: Jobs::new(docs.clone()),
            reconciler: Reconciler::new(runs.clone(), leases.clone()),
            leases,
            runs,
            queries: Queries::new(docs.clone()),
            tokens: Tokens::new(docs),
        }
    }

    /// The same control plane, ending a task FAILED once it has lost its worker `n` times instead
    /// of the default `MAX_LEASE_LOSSES` (every process that claims or reconciles should agree).
    pub fn with_lease_loss_limit(mut self, n: u32) -> Control {
        self.leases = self.leases.with_lease_loss_limit(n);
        self.reconciler = Reconciler::new(self.runs.clone(), self.leases.clone());
        self
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    pub fn runs(&self) -> &Runs {
        &self.runs
    }

    pub fn leases(&self) -> &Leases {
        &self.leases
    }

    pub fn queries(&self) -> &Queries {
        &self.queries
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    pub fn reconciler(&self) -> &Reconciler {
        &self.reconciler
    }
}

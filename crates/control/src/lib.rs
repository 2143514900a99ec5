//! Control-plane use cases over the state store port, one area per module: [`Jobs`], [`Runs`], the
//! workers' [`Leases`], the [`Reconciler`], saved [`Queries`], API [`Tokens`] and the [`Catalogs`]. The API handlers and the worker call
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

pub mod catalogs;
pub mod clusters;
pub mod doc;
pub mod error;
pub mod jobs;
pub mod layout;
pub mod leases;
pub mod mlflow;
pub mod principals;
pub mod queries;
pub mod reconciler;
pub mod runs;
pub mod serving;
pub mod sql;
pub mod time;
pub mod tokens;
pub mod views;

use std::sync::Arc;

use lakeplane_store::StateStore;

pub use catalogs::Catalogs;
pub use clusters::{ClusterReconciler, ClusterSettings, Clusters};
pub use doc::{PageRequest, Paged};
pub use error::{ControlError, ControlResult};
pub use jobs::Jobs;
pub use layout::{DEFAULT_QUEUE, RECONCILE_QUEUE};
pub use leases::Leases;
pub use mlflow::Mlflow;
pub use principals::Principals;
pub use queries::{NewQuery, Queries, SavedQuery};
pub use reconciler::{Reconciler, Sweep};
pub use runs::{RunFilter, RunNow, Runs};
pub use sql::{Sessions, Statements, Warehouses};
pub use tokens::{Principal, Tokens};
pub use views::{Claim, Deadline, Heartbeat, RunView};

/// How the control plane behaves; every process sharing a state store should agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A task that loses its worker this many times ends FAILED instead of running again.
    pub max_lease_losses: u32,
    /// How long after a run starts the reconciler first looks at it.
    pub first_check: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_lease_losses: lakeplane_core::run::MAX_LEASE_LOSSES,
            first_check: std::time::Duration::from_secs(60),
        }
    }
}

/// The control plane: every area over one state store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Control {
    jobs: Jobs,
    runs: Runs,
    leases: Leases,
    queries: Queries,
    tokens: Tokens,
    reconciler: Reconciler,
    catalogs: Catalogs,
    warehouses: Warehouses,
    sessions: Sessions,
    statements: Statements,
    principals: Principals,
    clusters: Clusters,
    mlflow: Mlflow,
    docs: doc::Documents,
}

impl Control {
    /// The control plane over `store`, with the default [`Settings`].
    pub fn new(store: Arc<dyn StateStore>) -> Control {
        Control::with_settings(store, Settings::default())
    }

    pub fn with_settings(store: Arc<dyn StateStore>, settings: Settings) -> Control {
        let docs = doc::Documents::new(store);
        let runs = Runs::new(docs.clone(), settings.first_check);
        let warehouses = Warehouses::new(docs.clone());
        let sessions = Sessions::new(docs.clone());
        let leases = Leases::new(docs.clone(), runs.clone(), settings.max_lease_losses);
        Control {
            jobs: Jobs::new(docs.clone()),
            reconciler: Reconciler::new(docs.clone(), runs.clone(), leases.clone()),
            leases,
            runs,
            queries: Queries::new(docs.clone()),
            catalogs: Catalogs::new(docs.clone()),
            principals: Principals::new(docs.clone()),
            warehouses: warehouses.clone(),
            sessions: sessions.clone(),
            statements: Statements::new(docs.clone(), warehouses, sessions),
            clusters: Clusters::new(docs.clone()),
            tokens: Tokens::new(docs.clone()),
            mlflow: Mlflow::new(docs.clone()),
            docs,
        }
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

    /// Users, service principals and groups.
    pub fn principals(&self) -> &Principals {
        &self.principals
    }

    /// SQL warehouses.
    pub fn warehouses(&self) -> &Warehouses {
        &self.warehouses
    }

    /// Sessions of the SQL connector.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Statements of the Statement Execution API.
    pub fn statements(&self) -> &Statements {
        &self.statements
    }

    /// Clusters, their nodes and events.
    pub fn clusters(&self) -> &Clusters {
        &self.clusters
    }

    /// The cluster reconciler over `compute`.
    pub fn cluster_reconciler(
        &self,
        compute: Arc<dyn lakeplane_core::cluster::compute::Compute>,
        settings: ClusterSettings,
    ) -> ClusterReconciler {
        ClusterReconciler::new(self.clusters.clone(), self.docs.clone(), compute, settings)
    }

    /// The MLflow tracking server and model registry.
    pub fn mlflow(&self) -> &Mlflow {
        &self.mlflow
    }

    /// Serving endpoints deployed through `backend`.
    pub fn serving(
        &self,
        backend: Arc<dyn lakeplane_core::serving::port::ModelServing>,
    ) -> serving::ServingEndpoints {
        serving::ServingEndpoints::new(self.docs.clone(), self.mlflow.clone(), backend)
    }

    pub fn reconciler(&self) -> &Reconciler {
        &self.reconciler
    }

    /// The catalog: the [`lakeplane_core::catalog::Metastore`] the engine resolves names through.
    pub fn catalogs(&self) -> &Catalogs {
        &self.catalogs
    }
}

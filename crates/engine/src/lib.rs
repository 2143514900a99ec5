//! Lakeplane's SQL engine: DataFusion over Delta tables (delta-rs), in a local folder or on S3.
//!
//! [`Engine::execute`] runs a script of `;`-separated statements in Databricks SQL under an
//! [`ExecContext`] (principal, bound parameters, cancellation, memory budget, Delta transaction
//! identity) and hands back what the last statement produced as a stream of Arrow record batches.
//! Names resolve through the catalog port ([`lakeplane_core::catalog::Metastore`]): catalogs,
//! schemas, tables and views; managed tables live under the [`storage::StorageRoot`], external
//! ones at their `LOCATION`, and every write is a Delta commit. The statements, by family:
//! DDL and metadata (`ddl`), data changes (`dml`), history and time travel (`history`),
//! OPTIMIZE and VACUUM (`maintenance`), listings and descriptions (`show`).
//!
//! Parameters are bound as values ([`bind`]); what SQL may read is confined by an
//! [`access::AccessPolicy`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use lakeplane_engine::{access::AccessPolicy, storage::StorageRoot, Engine, ExecContext};
//! let dir = std::path::Path::new("/tmp/lake");
//! let store = lakeplane_store::embedded::EmbeddedStore::open("/tmp/lake/state.db").await?;
//! let catalog = Arc::new(lakeplane_control::Control::new(Arc::new(store)).catalogs().clone());
//! let engine = Engine::new(StorageRoot::local(dir)?, catalog, AccessPolicy::local([dir.into()]), None)?;
//! let ctx = ExecContext::new("me");
//! engine.execute(&ctx, "CREATE TABLE t AS SELECT 1 AS id; INSERT INTO t VALUES (2)").await?;
//! let out = engine.execute(&ctx, "SELECT count(*) AS n FROM t").await?;
//! let batches = out.collect().await?;
//! # Ok(()) }
//! ```

pub mod access;
pub mod artifacts;
mod bind;
mod catalog;
mod confined;
pub mod context;
mod ddl;
mod dml;
pub mod error;
mod files;
mod grants;
mod history;
mod maintenance;
mod output;
mod pattern;
pub mod results;
mod runtime;
mod s3;
mod script;
pub mod securables;
mod show;
mod sql;
pub mod storage;
mod udf;

use std::sync::Arc;

pub use context::{ExecContext, Param, Params, TxnId};
/// Arrow, as the engine's results use it.
pub use deltalake::arrow;
pub use error::{EngineError, EngineResult};
pub use output::{Changes, Outcome, ScriptOutput};
pub use show::pattern_matches;

use access::AccessPolicy;
use files::Sources;
use lakeplane_core::catalog::Metastore;
use storage::StorageRoot;

/// Runs SQL over a storage root. Cheap to clone; each execution gets its own DataFusion session,
/// and every execution runs on the engine's own query runtime (one thread per core), so a heavy
/// query never starves the caller's runtime.
#[derive(Debug, Clone)]
pub struct Engine {
    root: StorageRoot,
    metastore: Arc<dyn Metastore>,
    sources: Sources,
    runtime: Arc<runtime::QueryRuntime>,
    /// Runs WebAssembly functions: the one given with [`Engine::with_udfs`], or one with the
    /// default limits made when a statement first needs it (not at start: most processes never do).
    udfs: Arc<std::sync::OnceLock<Arc<lakeplane_udf_host::UdfRuntime>>>,
    /// Serving endpoints `ai_query` calls, where this process is connected to model serving.
    models: Option<Arc<dyn lakeplane_core::serving::calls::EndpointCalls>>,
}

impl Engine {
    /// An engine over `root`, resolving names in `metastore`, reading only what `policy` allows. S3 clients are made (once per
    /// bucket) from `aws`, the binary's one AWS configuration; without it, from `AWS_*` variables.
    /// Errors: the query runtime's threads could not be started.
    pub fn new(
        root: StorageRoot,
        metastore: Arc<dyn Metastore>,
        policy: AccessPolicy,
        aws: Option<aws_config::SdkConfig>,
    ) -> EngineResult<Engine> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Engine {
            root,
            metastore,
            sources: Sources {
                policy: Arc::new(policy),
                s3: s3::S3Stores::new(aws),
            },
            runtime: runtime::QueryRuntime::new(threads)?,
            udfs: Arc::default(),
            models: None,
        })
    }

    /// The same engine calling serving endpoints (`ai_query`) through `models`.
    pub fn with_models(
        mut self,
        models: Arc<dyn lakeplane_core::serving::calls::EndpointCalls>,
    ) -> Engine {
        self.models = Some(models);
        self
    }

    /// The same engine running WebAssembly functions on `udfs` (a runtime with a disk cache of
    /// compiled modules, or other limits, or one shared with other engines of the process).
    pub fn with_udfs(mut self, udfs: Arc<lakeplane_udf_host::UdfRuntime>) -> Engine {
        self.udfs = Arc::new(std::sync::OnceLock::from(udfs));
        self
    }

    /// The runtime WebAssembly functions run on. Errors: the default one could not start.
    pub fn udfs(&self) -> EngineResult<&Arc<lakeplane_udf_host::UdfRuntime>> {
        if let Some(u) = self.udfs.get() {
            return Ok(u);
        }
        let made = lakeplane_udf_host::UdfRuntime::new(Default::default(), None)?;
        // Two statements racing here make two; the first set wins and the other is dropped.
        Ok(self.udfs.get_or_init(|| made))
    }

    /// Runs a script of `;`-separated statements in order, stopping at the first error. Every
    /// statement but the last runs to completion here; the last one's rows stream as the caller
    /// reads them.
    pub async fn execute(&self, ctx: &ExecContext, sql: &str) -> EngineResult<ScriptOutput> {
        let (engine, job_ctx, sql) = (self.clone(), ctx.clone(), sql.to_owned());
        let mut out = self
            .runtime
            .run(async move {
                let mut out = script::Script::new(&engine, &job_ctx)?.run(&sql).await?;
                if let Outcome::Rows(rows) = out.last {
                    out.last = Outcome::Rows(runtime::forward(rows));
                }
                Ok(out)
            })
            .await?;
        // Checked on the reader's side too, so cancellation is seen at once even while the query
        // runtime is busy.
        if let Outcome::Rows(rows) = out.last {
            out.last = Outcome::Rows(output::cancellable(rows, &ctx.cancel));
        }
        Ok(out)
    }

    /// Reads a `.sql` file: a local path, a `file:` URL or an `s3://bucket/key` URI, as the access
    /// policy allows and up to its size limit.
    pub async fn read_sql_file(&self, path: &str) -> EngineResult<String> {
        files::read_sql_file(&self.sources, path).await
    }
}

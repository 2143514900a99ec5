//! One execution of a script: a DataFusion session set up for the [`ExecContext`] (memory budget,
//! confined local files, catalog `main`), the statements parsed with parameters bound, and each
//! statement dispatched to the module of its family.

use std::future::Future;
use std::sync::Arc;

use deltalake::datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider,
};
use deltalake::datafusion::execution::context::SessionContext;
use deltalake::datafusion::execution::runtime_env::RuntimeEnvBuilder;
use deltalake::datafusion::execution::SessionStateBuilder;
use deltalake::datafusion::sql::parser::Statement as DfStatement;
use deltalake::datafusion::sql::sqlparser::ast::{ObjectType, Statement};
use deltalake::delta_datafusion::DeltaSessionContext;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::Transaction;
use deltalake::DeltaTable;
use futures::TryStreamExt;
use url::Url;

use crate::error::{EngineError, EngineResult};
use crate::output::{Outcome, ScriptOutput};
use crate::storage::{CATALOG, DEFAULT_SCHEMA};
use crate::{bind, catalog, confined, files, Engine, ExecContext};

/// A script being run.
pub(crate) struct Script<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) ctx: &'a ExecContext,
    pub(crate) session: SessionContext,
}

impl<'a> Script<'a> {
    pub(crate) fn new(engine: &'a Engine, ctx: &'a ExecContext) -> EngineResult<Script<'a>> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(ctx.memory_budget, 1.0)
            .build_arc()?;
        let files = Url::parse("file://").map_err(|e| EngineError::invalid(e.to_string()))?;
        runtime.register_object_store(
            &files,
            Arc::new(confined::ConfinedFiles::new(engine.sources.policy.clone())),
        );
        let base = DeltaSessionContext::with_runtime_env(runtime).state();
        let config = base
            .config()
            .clone()
            .with_default_catalog_and_schema(CATALOG, DEFAULT_SCHEMA)
            .with_information_schema(true);
        let state = SessionStateBuilder::new_from_existing(base)
            .with_config(config)
            .build();
        let session = SessionContext::new_with_state(state);
        let read_files = MemoryCatalogProvider::new();
        // Registering a schema in a fresh in-memory catalog cannot fail.
        let _ =
            read_files.register_schema(files::FILES_SCHEMA, Arc::new(MemorySchemaProvider::new()));
        session.register_catalog(files::FILES_CATALOG, Arc::new(read_files));
        session.register_catalog(
            CATALOG,
            Arc::new(catalog::LakeCatalog {
                root: engine.root.clone(),
            }),
        );
        Ok(Script {
            engine,
            ctx,
            session,
        })
    }

    pub(crate) async fn run(self, sql: &str) -> EngineResult<ScriptOutput> {
        let statements = bind::parse(sql, &self.ctx.params)?;
        if statements.is_empty() {
            return Err(EngineError::invalid("the SQL has no statements"));
        }
        let count = statements.len();
        let mut last = Outcome::Done;
        for (i, mut stmt) in statements.into_iter().enumerate() {
            // Boxed: a statement's future (DataFusion planning, a delta-rs write) is large, and
            // the caller's stack should not have to hold it.
            let outcome = self
                .cancellable(Box::pin(async {
                    files::rewrite(&self.session, &self.engine.sources, &mut stmt).await?;
                    let outcome = self.statement(i, stmt).await?;
                    match outcome {
                        // Every statement but the last runs to its end here.
                        Outcome::Rows(rows) if i + 1 < count => {
                            rows.try_for_each(|_| async { Ok(()) }).await?;
                            Ok(Outcome::Done)
                        }
                        other => Ok(other),
                    }
                }))
                .await
                .map_err(|e| if count > 1 { e.in_statement(i + 1) } else { e })?;
            last = outcome;
        }
        Ok(ScriptOutput {
            statements: count,
            last,
        })
    }

    /// Runs `work` unless or until the execution is cancelled.
    async fn cancellable<T>(&self, work: impl Future<Output = EngineResult<T>>) -> EngineResult<T> {
        tokio::select! {
            biased;
            _ = self.ctx.cancel.cancelled() => Err(EngineError::Cancelled),
            r = work => r,
        }
    }

    async fn statement(&self, index: usize, stmt: Statement) -> EngineResult<Outcome> {
        match stmt {
            Statement::Query(_)
            | Statement::ShowTables { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowSchemas { .. } => self.plan_and_stream(stmt).await,
            Statement::Explain { ref statement, .. }
                if matches!(**statement, Statement::Query(_)) =>
            {
                self.plan_and_stream(stmt).await
            }
            Statement::CreateTable(ct) => self.create_table(index, ct).await,
            Statement::Insert(ins) => self.insert(index, ins).await,
            Statement::CreateSchema { schema_name, .. } => self.create_schema(&schema_name),
            Statement::Drop {
                object_type: ObjectType::Table,
                names,
                if_exists,
                ..
            } => self.drop_tables(&names, if_exists).await,
            Statement::Merge { .. } | Statement::Update { .. } | Statement::Delete(_) => Err(
                EngineError::Unsupported("MERGE, UPDATE and DELETE are not supported yet".into()),
            ),
            other => Err(EngineError::Unsupported(format!(
                "this statement is not supported: {}",
                first_words(&other.to_string())
            ))),
        }
    }

    /// Plans a statement DataFusion runs by itself and streams its rows.
    pub(crate) async fn plan_and_stream(&self, stmt: Statement) -> EngineResult<Outcome> {
        let df = self.dataframe(stmt).await?;
        Ok(Outcome::Rows(df.execute_stream().await?))
    }

    pub(crate) async fn dataframe(
        &self,
        stmt: Statement,
    ) -> EngineResult<deltalake::datafusion::prelude::DataFrame> {
        let plan = self
            .session
            .state()
            .statement_to_plan(DfStatement::Statement(Box::new(stmt)))
            .await?;
        Ok(self.session.execute_logical_plan(plan).await?)
    }

    /// The attempt (txn version) that already committed statement `index`'s write to `table`, if an
    /// earlier run of the same work did: its application transaction is in the table's log. Such a
    /// write is not made again, so a task re-run after its worker died adds no rows twice.
    pub(crate) async fn committed_before(
        &self,
        index: usize,
        table: &DeltaTable,
    ) -> EngineResult<Option<i64>> {
        let Some(txn) = &self.ctx.txn else {
            return Ok(None);
        };
        let app_id = format!("{}/{index}", txn.app_id);
        let version = table
            .snapshot()?
            .transaction_version(table.log_store().as_ref(), &app_id)
            .await?;
        if let Some(v) = version {
            tracing::info!(
                app_id,
                committed_by_attempt = v,
                attempt = txn.version,
                "the statement's write was committed by an earlier attempt; not writing it again"
            );
        }
        Ok(version)
    }

    /// The commit properties of statement `index`'s write: the context's transaction identity, if any.
    pub(crate) fn commit(&self, index: usize) -> CommitProperties {
        let props = CommitProperties::default();
        match &self.ctx.txn {
            Some(txn) => props.with_application_transaction(Transaction::new(
                format!("{}/{index}", txn.app_id),
                txn.version,
            )),
            None => props,
        }
    }
}

/// The first few words of a statement, for messages.
fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

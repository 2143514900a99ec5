//! One execution of a script: a DataFusion session set up for the [`ExecContext`] (memory budget,
//! confined local files), the statements parsed with parameters bound, and each statement
//! dispatched to the module of its family. Names resolve through the catalog
//! ([`crate::catalog`]) against the current catalog and schema, which `USE` changes.

use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use deltalake::datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider,
};
use deltalake::datafusion::execution::context::SessionContext;
use deltalake::datafusion::execution::runtime_env::RuntimeEnvBuilder;
use deltalake::datafusion::execution::SessionStateBuilder;
use deltalake::datafusion::sql::sqlparser::ast::{ObjectType, Statement};
use deltalake::delta_datafusion::DeltaSessionContext;
use futures::TryStreamExt;
use lakeplane_core::catalog::{SchemaName, DEFAULT_SCHEMA, MAIN_CATALOG};
use url::Url;

use crate::error::{EngineError, EngineResult};
use crate::output::{Outcome, ScriptOutput};
use crate::sql::ast::{Command, Lake};
use crate::{confined, files, Engine, ExecContext};

/// A script being run.
pub(crate) struct Script<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) ctx: &'a ExecContext,
    pub(crate) session: SessionContext,
    /// Where unqualified names resolve; `USE` changes it.
    pub(crate) current: Mutex<SchemaName>,
    /// Numbers the hidden names of time-travelled tables.
    pub(crate) as_of_names: AtomicUsize,
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
        let current = SchemaName::new(
            ctx.catalog.as_deref().unwrap_or(MAIN_CATALOG),
            ctx.schema.as_deref().unwrap_or(DEFAULT_SCHEMA),
        )?;
        let config = base
            .config()
            .clone()
            .with_default_catalog_and_schema(&current.catalog, &current.schema)
            .with_create_default_catalog_and_schema(false);
        let state = SessionStateBuilder::new_from_existing(base)
            .with_config(config)
            .build();
        let session = SessionContext::new_with_state(state);
        let read_files = MemoryCatalogProvider::new();
        // Registering a schema in a fresh in-memory catalog cannot fail.
        let _ =
            read_files.register_schema(files::FILES_SCHEMA, Arc::new(MemorySchemaProvider::new()));
        session.register_catalog(files::FILES_CATALOG, Arc::new(read_files));
        Ok(Script {
            engine,
            ctx,
            session,
            current: Mutex::new(current),
            as_of_names: AtomicUsize::new(0),
        })
    }

    pub(crate) async fn run(self, sql: &str) -> EngineResult<ScriptOutput> {
        let commands = crate::sql::parse(sql, &self.ctx.params)?;
        if commands.is_empty() {
            return Err(EngineError::invalid("the SQL has no statements"));
        }
        let count = commands.len();
        let mut last = Outcome::Done;
        for (i, command) in commands.into_iter().enumerate() {
            // Boxed: a statement's future (DataFusion planning, a delta-rs write) is large, and
            // the caller's stack should not have to hold it.
            let outcome = self
                .cancellable(Box::pin(async {
                    let outcome = self.command(i, command).await?;
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
            current: self.current(),
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

    async fn command(&self, index: usize, mut command: Command) -> EngineResult<Outcome> {
        let mut calls = crate::udf::Calls::default();
        match &mut command {
            Command::Std(stmt) => {
                let _ = deltalake::datafusion::sql::sqlparser::ast::VisitMut::visit(
                    stmt.as_mut(),
                    &mut calls,
                );
            }
            Command::Lake(lake) => {
                let _ = lake.visit(&mut calls);
            }
        }
        if !calls.0.is_empty() {
            self.register_functions(calls, &self.current(), &self.who().clone())
                .await?;
        }
        match command {
            Command::Std(stmt) => self.statement(index, *stmt).await,
            Command::Lake(lake) => self.lake(index, *lake).await,
        }
    }

    async fn statement(&self, index: usize, stmt: Statement) -> EngineResult<Outcome> {
        match stmt {
            Statement::Query(_) => self.plan_and_stream(stmt).await,
            Statement::Explain { ref statement, .. }
                if matches!(**statement, Statement::Query(_)) =>
            {
                self.plan_and_stream(stmt).await
            }
            Statement::Insert(ins) => self.insert(index, ins).await,
            Statement::Update(update) => self.update(index, update).await,
            Statement::Delete(delete) => self.delete(index, delete).await,
            Statement::Drop {
                object_type: object_type @ (ObjectType::Table | ObjectType::View),
                names,
                if_exists,
                ..
            } => self.drop_tables(&names, if_exists, object_type).await,
            Statement::Drop {
                object_type: ObjectType::Schema,
                names,
                if_exists,
                cascade,
                ..
            } => self.drop_schemas(&names, if_exists, cascade).await,
            other => Err(EngineError::Unsupported(format!(
                "this statement is not supported: {}",
                first_words(&other.to_string())
            ))),
        }
    }

    async fn lake(&self, index: usize, lake: Lake) -> EngineResult<Outcome> {
        tracing::debug!(statement = lake.kind(), index, "running");
        match lake {
            Lake::CreateCatalog {
                name,
                if_not_exists,
                comment,
            } => {
                self.create_catalog(&name.value, if_not_exists, comment)
                    .await
            }
            Lake::DropCatalog {
                name,
                if_exists,
                cascade,
            } => self.drop_catalog(&name.value, if_exists, cascade).await,
            Lake::CreateSchema {
                name,
                if_not_exists,
                comment,
                properties,
            } => {
                self.create_schema(&name, if_not_exists, comment, properties)
                    .await
            }
            Lake::CreateTable(ct) => self.create_table(index, *ct).await,
            Lake::CreateView(cv) => self.create_view(*cv).await,
            Lake::Alter { table, action } => self.alter_table(index, &table, action).await,
            Lake::Use { kind, name } => self.use_(kind, &name).await,
            Lake::Show(show) => self.show(show).await,
            Lake::Grant(g) => self.grant(*g).await,
            Lake::Describe { table, what } => self.describe(&table, what).await,
            Lake::InsertReplaceWhere {
                table,
                predicate,
                query,
            } => self.replace_where(index, &table, predicate, query).await,
            Lake::Merge(merge) => self.merge(index, *merge).await,
            Lake::CopyInto(copy) => self.copy_into(index, *copy).await,
            Lake::Restore { table, to } => self.restore(index, &table, to).await,
            Lake::Optimize {
                table,
                predicate,
                zorder,
            } => self.optimize(index, &table, predicate, zorder).await,
            Lake::Vacuum {
                table,
                retain_hours,
                dry_run,
            } => self.vacuum(&table, retain_hours, dry_run).await,
            Lake::CreateFunction(f) => self.create_function(*f).await,
            Lake::DropFunction { name, if_exists } => self.drop_function(&name, if_exists).await,
            Lake::DescribeFunction { name, extended } => {
                self.describe_function(&name, extended).await
            }
        }
    }

    /// Plans a statement DataFusion runs by itself and streams its rows.
    pub(crate) async fn plan_and_stream(&self, stmt: Statement) -> EngineResult<Outcome> {
        let df = self.dataframe(stmt).await?;
        Ok(Outcome::Rows(df.execute_stream().await?))
    }

    /// A statement planned (tables and views registered from the catalog) as a DataFrame.
    pub(crate) async fn dataframe(
        &self,
        stmt: Statement,
    ) -> EngineResult<deltalake::datafusion::prelude::DataFrame> {
        let plan = self.plan(stmt).await?;
        Ok(self.session.execute_logical_plan(plan).await?)
    }
}

/// The first few words of a statement, for messages.
fn first_words(sql: &str) -> String {
    sql.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

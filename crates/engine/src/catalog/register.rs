//! The engine's DataFusion catalog is an adapter over the catalog port: before a statement is
//! planned, every table and view it names is looked up in the [`Metastore`] and registered in the
//! script's session under the name the statement uses — a Delta table at its latest version (or at
//! `VERSION AS OF` / `TIMESTAMP AS OF`), a view as its planned query. Nothing lists folders, so
//! names resolve the same on a local disk and on S3.
//!
//! [`Metastore`]: lakeplane_core::catalog::Metastore

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use deltalake::datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider,
};
use deltalake::datafusion::common::{DFSchema, TableReference};
use deltalake::datafusion::datasource::{TableProvider, ViewTable};
use deltalake::datafusion::execution::SessionState;
use deltalake::datafusion::logical_expr::LogicalPlan;
use deltalake::datafusion::sql::parser::Statement as DfStatement;
use deltalake::datafusion::sql::sqlparser::ast::{
    Expr, Ident, ObjectName, Statement, TableFactor, TableVersion, VisitMut, VisitorMut,
};
use lakeplane_core::catalog::{
    FullName, Identity, Privilege, SchemaName, Securable, TableInfo, TableType,
};

use super::location;
use super::open::{open_as_of, AsOf};
use crate::error::{EngineError, EngineResult};
use crate::script::Script;
use crate::sql::ast::Command;
use crate::{files, Params};

/// The hidden catalog time-travelled tables are registered in for one statement.
const AS_OF_CATALOG: &str = "__lakeplane_as_of";
/// How deep views may nest (a view over a view …); deeper is taken for a cycle.
pub const MAX_VIEW_DEPTH: usize = 16;

/// Takes `VERSION AS OF` / `TIMESTAMP AS OF` off table references, renaming each to a hidden one.
struct AsOfFinder<'a> {
    next: &'a std::sync::atomic::AtomicUsize,
    found: Vec<(ObjectName, TableVersion, ObjectName)>,
}

impl VisitorMut for AsOfFinder<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, version, .. } = tf {
            if let Some(v) = version.take() {
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                let hidden = ObjectName::from(vec![
                    Ident::new(AS_OF_CATALOG),
                    Ident::new("v"),
                    Ident::new(format!("t{n}")),
                ]);
                let original = std::mem::replace(name, hidden.clone());
                self.found.push((original, v, hidden));
            }
        }
        ControlFlow::Continue(())
    }
}

impl Script<'_> {
    /// A copy of the session's state whose unqualified names resolve in `current`.
    pub(crate) fn state_at(&self, current: &SchemaName) -> SessionState {
        let mut state = self.session.state();
        let options = state.config_mut().options_mut();
        options.catalog.default_catalog = current.catalog.clone();
        options.catalog.default_schema = current.schema.clone();
        state
    }

    /// Plans a statement: `read_files` calls, time travel, then the tables and views it names
    /// registered from the catalog, then DataFusion's planner.
    pub(crate) async fn plan(&self, mut stmt: Statement) -> EngineResult<LogicalPlan> {
        files::rewrite(&self.session, &self.engine.sources, &mut stmt).await?;
        let current = self.current();
        let who = self.who().clone();
        self.prepare(&mut stmt, &current, 0, &who).await?;
        Ok(self
            .state_at(&current)
            .statement_to_plan(DfStatement::Statement(Box::new(stmt)))
            .await?)
    }

    /// Registers what `stmt` reads, each table or view checked for `SELECT` by `who` (the caller,
    /// or the owner of the view being expanded).
    async fn prepare(
        &self,
        stmt: &mut Statement,
        current: &SchemaName,
        depth: usize,
        who: &Identity,
    ) -> EngineResult<()> {
        let mut finder = AsOfFinder {
            next: &self.as_of_names,
            found: vec![],
        };
        let _ = stmt.visit(&mut finder);
        for (name, version, hidden) in finder.found {
            self.register_as_of(&name, &version, &hidden, current, who)
                .await?;
        }
        let refs = self
            .state_at(current)
            .resolve_table_references(&DfStatement::Statement(Box::new(stmt.clone())))?;
        for r in refs {
            self.register(&r, current, depth, who).await?;
        }
        Ok(())
    }

    /// Registers what `r` names, looked up in the catalog.
    async fn register(
        &self,
        r: &TableReference,
        current: &SchemaName,
        depth: usize,
        who: &Identity,
    ) -> EngineResult<()> {
        let (c, s, t) = match r {
            TableReference::Bare { table } => (
                current.catalog.as_str(),
                current.schema.as_str(),
                table.as_ref(),
            ),
            TableReference::Partial { schema, table } => {
                (current.catalog.as_str(), schema.as_ref(), table.as_ref())
            }
            TableReference::Full {
                catalog,
                schema,
                table,
            } => (catalog.as_ref(), schema.as_ref(), table.as_ref()),
        };
        if c == files::FILES_CATALOG || c == AS_OF_CATALOG {
            return Ok(());
        }
        // A table function (`range(10)`, `generate_series(…)`) is DataFusion's own.
        if let TableReference::Bare { table } = r {
            if self
                .session
                .state()
                .table_functions()
                .contains_key(table.as_ref())
            {
                return Ok(());
            }
        }
        let name = FullName::new(c, s, t)?;
        let info = self.table_info(&name).await?;
        self.authorize_for(who, Securable::Table(name.clone()), Privilege::Select)
            .await?;
        let provider = match info.table_type {
            TableType::View => Box::pin(self.view(&info, depth)).await?,
            TableType::Managed | TableType::External => {
                super::open_table(&info).await?.table_provider().await?
            }
        };
        self.put(c, s, t, provider)
    }

    /// A view, planned in its own context.
    async fn view(&self, info: &TableInfo, depth: usize) -> EngineResult<Arc<dyn TableProvider>> {
        let name = info.full_name();
        if depth >= MAX_VIEW_DEPTH {
            return Err(EngineError::invalid(format!(
                "view {name} nests views more than {MAX_VIEW_DEPTH} deep (does it refer to itself?)"
            )));
        }
        let Some(def) = &info.view_definition else {
            return Err(EngineError::invalid(format!("view {name} has no query")));
        };
        let context = SchemaName::new(&def.catalog, &def.schema)?;
        let mut commands = crate::sql::parse(&def.sql, &Params::new())?;
        let (Some(Command::Std(stmt)), true) = (commands.pop(), commands.is_empty()) else {
            return Err(EngineError::invalid(format!(
                "view {name} is not one query"
            )));
        };
        let mut stmt = *stmt;
        files::rewrite(&self.session, &self.engine.sources, &mut stmt).await?;
        // What a view reads (and the functions it calls) are used with its owner's privileges.
        let owner = Identity::user(info.owner.clone(), vec![]);
        let mut calls = crate::udf::Calls::default();
        let _ = stmt.visit(&mut calls);
        self.register_functions(calls, &context, &owner).await?;
        self.prepare(&mut stmt, &context, depth + 1, &owner).await?;
        let plan = self
            .state_at(&context)
            .statement_to_plan(DfStatement::Statement(Box::new(stmt)))
            .await?;
        Ok(Arc::new(ViewTable::new(plan, Some(def.sql.clone()))))
    }

    /// Registers `name` as of `version` under the hidden name the statement now uses.
    async fn register_as_of(
        &self,
        name: &ObjectName,
        version: &TableVersion,
        hidden: &ObjectName,
        current: &SchemaName,
        who: &Identity,
    ) -> EngineResult<()> {
        let full = FullName::resolve(&super::parts(name)?, current)?;
        let info = self.table_info(&full).await?;
        self.authorize_for(who, Securable::Table(full.clone()), Privilege::Select)
            .await?;
        if info.table_type == TableType::View {
            return Err(EngineError::invalid(format!(
                "{full} is a view; time travel needs a table"
            )));
        }
        let as_of = self.as_of(version).await?;
        let table = open_as_of(&location(&info)?, &full.to_string(), &as_of).await?;
        let hidden = super::parts(hidden)?;
        let [c, s, t] = hidden.as_slice() else {
            return Err(EngineError::invalid("bad hidden name"));
        };
        self.put(c, s, t, table.table_provider().await?)
    }

    /// Evaluates a time-travel clause: a version number, or a timestamp in milliseconds.
    pub(crate) async fn as_of(&self, version: &TableVersion) -> EngineResult<AsOf> {
        match version {
            TableVersion::VersionAsOf(e) => Ok(AsOf::Version(
                self.scalar_i64(&format!("CAST(({e}) AS BIGINT)")).await?,
            )),
            TableVersion::TimestampAsOf(e) | TableVersion::ForSystemTimeAsOf(e) => {
                Ok(AsOf::Timestamp(self.timestamp_ms(e).await?))
            }
            other => Err(EngineError::Unsupported(format!(
                "time travel with {other} is not supported; use VERSION AS OF or TIMESTAMP AS OF"
            ))),
        }
    }

    /// A timestamp expression (a string, a TIMESTAMP, `current_timestamp() - INTERVAL …`), in
    /// epoch milliseconds UTC.
    pub(crate) async fn timestamp_ms(&self, e: &Expr) -> EngineResult<i64> {
        self.scalar_i64(&format!("CAST(to_timestamp_millis(({e})) AS BIGINT)"))
            .await
    }

    /// Evaluates a constant expression to a 64-bit integer.
    async fn scalar_i64(&self, expr: &str) -> EngineResult<i64> {
        use deltalake::arrow::array::{Array, Int64Array};
        let batches = self
            .session
            .sql(&format!("SELECT {expr}"))
            .await?
            .collect()
            .await?;
        let value = batches
            .first()
            .and_then(|b| b.column(0).as_any().downcast_ref::<Int64Array>().cloned())
            .filter(|a| !a.is_empty() && a.is_valid(0))
            .map(|a| a.value(0));
        value.ok_or_else(|| {
            EngineError::invalid(format!("'{expr}' is not a constant number or time"))
        })
    }

    /// A SQL expression planned against `schema` (column names, functions, casts).
    pub(crate) fn logical_expr(
        &self,
        e: Expr,
        schema: &DFSchema,
    ) -> EngineResult<deltalake::datafusion::logical_expr::Expr> {
        use deltalake::datafusion::sql::sqlparser::ast::ExprWithAlias;
        Ok(self
            .state_at(&self.current())
            .create_logical_expr_from_sql_expr(
                ExprWithAlias {
                    expr: e,
                    alias: None,
                },
                schema,
            )?)
    }

    /// Registers `provider` as `c.s.t` in the session.
    fn put(&self, c: &str, s: &str, t: &str, provider: Arc<dyn TableProvider>) -> EngineResult<()> {
        let catalog = match self.session.catalog(c) {
            Some(cat) => cat,
            None => {
                let cat: Arc<dyn CatalogProvider> = Arc::new(MemoryCatalogProvider::new());
                self.session.register_catalog(c, cat.clone());
                cat
            }
        };
        let schema = match catalog.schema(s) {
            Some(schema) => schema,
            None => {
                let schema: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
                catalog.register_schema(s, schema.clone())?;
                schema
            }
        };
        schema.deregister_table(t)?;
        schema.register_table(t.to_string(), provider)?;
        Ok(())
    }
}

//! Lakeplane's SQL engine: DataFusion over Delta tables (delta-rs), in a local folder or on S3.
//!
//! [`Engine::execute`] runs a script of `;`-separated statements in Databricks SQL:
//! `CREATE TABLE … AS SELECT`, `CREATE TABLE t (cols)`, `INSERT INTO/OVERWRITE … SELECT | VALUES`,
//! `SELECT`, `CREATE SCHEMA`, `DROP TABLE`, and `read_files('path', format => 'csv', header => true)`
//! to read CSV, JSON or Parquet files. Table names resolve in catalog `main`
//! (see [`location::Warehouse`]); every write is a Delta commit.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lakeplane_engine::EngineError> {
//! use lakeplane_engine::{Engine, location::Warehouse};
//! let engine = Engine::new(Warehouse::local(std::path::Path::new("/tmp/warehouse"))?);
//! engine.execute("CREATE TABLE t AS SELECT 1 AS id; INSERT INTO t VALUES (2)").await?;
//! let out = engine.execute("SELECT count(*) AS n FROM t").await?;
//! assert_eq!(out.rows, 1);
//! # Ok(()) }
//! ```

mod catalog;
pub mod error;
pub mod location;
mod read_files;

use std::sync::Arc;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
use deltalake::datafusion::catalog::{
    CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider,
};
use deltalake::datafusion::common::Column;
use deltalake::datafusion::execution::context::SessionContext;
use deltalake::datafusion::execution::SessionStateBuilder;
use deltalake::datafusion::logical_expr::{cast, lit, Expr, LogicalPlan};
use deltalake::datafusion::prelude::DataFrame;
use deltalake::datafusion::sql::parser::Statement as DfStatement;
use deltalake::datafusion::sql::sqlparser::ast::{
    CreateTable, Insert, ObjectName, ObjectNamePart, ObjectType, Query, Statement, TableObject,
};
use deltalake::datafusion::sql::sqlparser::dialect::DatabricksDialect;
use deltalake::datafusion::sql::sqlparser::parser::Parser;
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;
use futures::StreamExt;
use serde_json::{Map, Value};

pub use error::{EngineError, EngineResult};
use location::{TableName, Warehouse, CATALOG, DEFAULT_SCHEMA};

/// How many result rows a statement keeps as a sample for the task's output.
pub const SAMPLE_ROWS: usize = 20;

/// What a script did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScriptOutput {
    /// Statements run.
    pub statements: usize,
    /// Rows the last statement returned or wrote.
    pub rows: u64,
    /// Up to [`SAMPLE_ROWS`] rows of the last statement that returned rows, values as text.
    pub sample: Vec<Value>,
}

/// Runs SQL over a warehouse. Cheap to clone; each script gets its own DataFusion session.
#[derive(Debug, Clone)]
pub struct Engine {
    warehouse: Warehouse,
}

impl Engine {
    pub fn new(warehouse: Warehouse) -> Engine {
        Engine { warehouse }
    }

    fn session(&self) -> SessionContext {
        let base = deltalake::delta_datafusion::DeltaSessionContext::new().state();
        let config = base
            .config()
            .clone()
            .with_default_catalog_and_schema(CATALOG, DEFAULT_SCHEMA)
            .with_information_schema(true);
        let state = SessionStateBuilder::new_from_existing(base)
            .with_config(config)
            .build();
        let ctx = SessionContext::new_with_state(state);
        let files = MemoryCatalogProvider::new();
        // Registering a schema in a fresh in-memory catalog cannot fail.
        let _ = files.register_schema(
            read_files::FILES_SCHEMA,
            Arc::new(MemorySchemaProvider::new()),
        );
        ctx.register_catalog(read_files::FILES_CATALOG, Arc::new(files));
        ctx.register_catalog(
            CATALOG,
            Arc::new(catalog::LakeCatalog {
                warehouse: self.warehouse.clone(),
            }),
        );
        ctx
    }

    /// Runs a script of `;`-separated statements in order, stopping at the first error.
    pub async fn execute(&self, sql: &str) -> EngineResult<ScriptOutput> {
        let statements = Parser::parse_sql(&DatabricksDialect {}, sql)?;
        if statements.is_empty() {
            return Err(EngineError::Invalid("the SQL has no statements".into()));
        }
        let ctx = self.session();
        let mut out = ScriptOutput::default();
        for (i, mut stmt) in statements.into_iter().enumerate() {
            read_files::rewrite(&ctx, &mut stmt).await?;
            let (rows, sample) = self.statement(&ctx, stmt).await.map_err(|e| {
                if i > 0 {
                    annotate(e, i + 1)
                } else {
                    e
                }
            })?;
            out.statements += 1;
            out.rows = rows;
            if let Some(sample) = sample {
                out.sample = sample;
            }
        }
        Ok(out)
    }

    async fn statement(
        &self,
        ctx: &SessionContext,
        stmt: Statement,
    ) -> EngineResult<(u64, Option<Vec<Value>>)> {
        match stmt {
            Statement::Query(q) => self.query(ctx, q).await,
            Statement::CreateTable(ct) => self.create_table(ctx, ct).await.map(|n| (n, None)),
            Statement::Insert(ins) => self.insert(ctx, ins).await.map(|n| (n, None)),
            Statement::CreateSchema { schema_name, .. } => {
                let name = schema_name.to_string();
                let schema = match name.split('.').collect::<Vec<_>>().as_slice() {
                    [s] => *s,
                    [c, s] if c.eq_ignore_ascii_case(CATALOG) => *s,
                    _ => {
                        return Err(EngineError::Invalid(format!(
                            "'{name}' is not a schema name"
                        )))
                    }
                };
                let schema = location::check_ident("schema", schema)?;
                if let Some(dir) = self.warehouse.local_dir(&[&schema]) {
                    std::fs::create_dir_all(&dir).map_err(|e| EngineError::Io(e.to_string()))?;
                }
                Ok((0, None))
            }
            Statement::Drop {
                object_type: ObjectType::Table,
                names,
                if_exists,
                ..
            } => {
                for n in names {
                    self.drop_table(&table_name(&n)?, if_exists).await?;
                }
                Ok((0, None))
            }
            Statement::Merge { .. } | Statement::Update { .. } | Statement::Delete(_) => Err(
                EngineError::Unsupported("MERGE, UPDATE and DELETE are not supported yet".into()),
            ),
            other => {
                // Anything else DataFusion plans by itself (SHOW TABLES, EXPLAIN, SET, ...).
                let plan = ctx
                    .state()
                    .statement_to_plan(DfStatement::Statement(Box::new(other)))
                    .await?;
                let df = ctx.execute_logical_plan(plan).await?;
                let (n, sample) = stream_sample(df).await?;
                Ok((n, Some(sample)))
            }
        }
    }

    async fn plan_query(&self, ctx: &SessionContext, q: Box<Query>) -> EngineResult<LogicalPlan> {
        Ok(ctx
            .state()
            .statement_to_plan(DfStatement::Statement(Box::new(Statement::Query(q))))
            .await?)
    }

    async fn query(
        &self,
        ctx: &SessionContext,
        q: Box<Query>,
    ) -> EngineResult<(u64, Option<Vec<Value>>)> {
        let plan = self.plan_query(ctx, q).await?;
        let df = ctx.execute_logical_plan(plan).await?;
        let (n, sample) = stream_sample(df).await?;
        Ok((n, Some(sample)))
    }

    async fn create_table(&self, ctx: &SessionContext, ct: CreateTable) -> EngineResult<u64> {
        let name = table_name(&ct.name)?;
        if ct.external || ct.location.is_some() {
            return Err(EngineError::Unsupported(
                "external tables (LOCATION) are not supported yet; tables live in the warehouse"
                    .into(),
            ));
        }
        let mode = if ct.or_replace {
            SaveMode::Overwrite
        } else if ct.if_not_exists {
            SaveMode::Ignore
        } else {
            SaveMode::ErrorIfExists
        };
        let url = self.warehouse.url_of(&name)?;
        let existing = catalog::open(&url).await?;
        if existing.is_some() && mode == SaveMode::ErrorIfExists {
            return Err(EngineError::Invalid(format!("table {name} already exists")));
        }
        if existing.is_some() && mode == SaveMode::Ignore {
            return Ok(0);
        }
        let df = match ct.query {
            Some(q) => {
                ctx.execute_logical_plan(self.plan_query(ctx, q).await?)
                    .await?
            }
            None => {
                if ct.columns.is_empty() {
                    return Err(EngineError::Invalid(format!(
                        "CREATE TABLE {name} needs columns or AS SELECT"
                    )));
                }
                // An empty query with the declared column types; DataFusion maps the SQL types.
                let cols: Vec<String> = ct
                    .columns
                    .iter()
                    .map(|c| {
                        format!(
                            "CAST(NULL AS {}) AS `{}`",
                            c.data_type,
                            c.name.value.replace('`', "")
                        )
                    })
                    .collect();
                ctx.sql(&format!("SELECT {} WHERE false", cols.join(", ")))
                    .await?
            }
        };
        self.write(ctx, &name, existing, df, mode).await
    }

    async fn insert(&self, ctx: &SessionContext, ins: Insert) -> EngineResult<u64> {
        let TableObject::TableName(obj) = &ins.table else {
            return Err(EngineError::Unsupported(
                "INSERT INTO a table function is not supported".into(),
            ));
        };
        let name = table_name(obj)?;
        let url = self.warehouse.url_of(&name)?;
        let Some(table) = catalog::open(&url).await? else {
            return Err(EngineError::Invalid(format!("table {name} does not exist")));
        };
        let Some(source) = ins.source else {
            return Err(EngineError::Invalid(
                "INSERT needs VALUES or a SELECT".into(),
            ));
        };
        let df = ctx
            .execute_logical_plan(self.plan_query(ctx, source).await?)
            .await?;
        let target = table.snapshot()?.snapshot().arrow_schema();
        // Map source columns onto the table's: by position, or through the column list.
        let targets: Vec<String> = if ins.columns.is_empty() {
            target.fields().iter().map(|f| f.name().clone()).collect()
        } else {
            ins.columns
                .iter()
                .map(|c| c.to_string().to_ascii_lowercase())
                .collect()
        };
        let width = df.schema().fields().len();
        if width != targets.len() {
            return Err(EngineError::Invalid(format!(
                "INSERT INTO {name}: the query has {width} column(s) but {} are expected",
                targets.len()
            )));
        }
        let mut exprs: Vec<Expr> = Vec::with_capacity(target.fields().len());
        for field in target.fields() {
            let e = match targets
                .iter()
                .position(|t| t.eq_ignore_ascii_case(field.name()))
            {
                Some(i) => Expr::Column(Column::from(df.schema().qualified_field(i))),
                None => lit(deltalake::datafusion::scalar::ScalarValue::Null),
            };
            exprs.push(cast(e, field.data_type().clone()).alias(field.name()));
        }
        for t in &targets {
            if !target
                .fields()
                .iter()
                .any(|f| f.name().eq_ignore_ascii_case(t))
            {
                return Err(EngineError::Invalid(format!(
                    "table {name} has no column '{t}'"
                )));
            }
        }
        let df = df.select(exprs)?;
        let mode = if ins.overwrite {
            SaveMode::Overwrite
        } else {
            SaveMode::Append
        };
        self.write(ctx, &name, Some(table), df, mode).await
    }

    async fn write(
        &self,
        ctx: &SessionContext,
        name: &TableName,
        existing: Option<DeltaTable>,
        df: DataFrame,
        mode: SaveMode,
    ) -> EngineResult<u64> {
        let table = match existing {
            Some(t) => t,
            None => {
                if let Some(dir) = self.warehouse.local_dir(&[&name.schema, &name.table]) {
                    std::fs::create_dir_all(&dir)
                        .map_err(|e| EngineError::Io(format!("{}: {e}", dir.display())))?;
                }
                // A new table: no log to load yet.
                deltalake::DeltaTableBuilder::from_url(self.warehouse.url_of(name)?)?.build()?
            }
        };
        let plan = df.into_unoptimized_plan();
        let mut builder = table
            .write(Vec::<RecordBatch>::new())
            .with_input_plan(plan)
            .with_session_state(Arc::new(ctx.state()))
            .with_save_mode(mode)
            .with_table_name(name.table.clone());
        if mode == SaveMode::Overwrite {
            builder = builder.with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite);
        }
        let table = builder.await?;
        let rows = match table.history(Some(1)).next().await {
            Some(Ok(commit)) => commit
                .info
                .get("operationMetrics")
                .and_then(|m| m.get("num_added_rows"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
            _ => 0,
        };
        tracing::info!(table = %name, rows, "table written");
        Ok(rows)
    }

    async fn drop_table(&self, name: &TableName, if_exists: bool) -> EngineResult<()> {
        let url = self.warehouse.url_of(name)?;
        if catalog::open(&url).await?.is_none() {
            return if if_exists {
                Ok(())
            } else {
                Err(EngineError::Invalid(format!("table {name} does not exist")))
            };
        }
        match self.warehouse.local_dir(&[&name.schema, &name.table]) {
            Some(dir) => std::fs::remove_dir_all(dir).map_err(|e| EngineError::Io(e.to_string())),
            None => Err(EngineError::Unsupported(
                "DROP TABLE on object storage is not supported yet".into(),
            )),
        }
    }

    /// Reads a `.sql` file: a local path, a `file://` URL, or an `s3://bucket/key` URI (credentials and
    /// endpoint from the usual `AWS_*` environment variables).
    pub async fn read_sql_file(&self, path: &str) -> EngineResult<String> {
        let bytes = read_files::read_bytes(path).await?;
        String::from_utf8(bytes)
            .map_err(|_| EngineError::Invalid(format!("{path} is not UTF-8 text")))
    }
}

fn table_name(n: &ObjectName) -> EngineResult<TableName> {
    let parts: Vec<String> =
        n.0.iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => Ok(i.value.clone()),
                other => Err(EngineError::Invalid(format!(
                    "'{other}' is not a plain name"
                ))),
            })
            .collect::<EngineResult<_>>()?;
    TableName::from_parts(&parts)
}

fn annotate(e: EngineError, n: usize) -> EngineError {
    match e {
        EngineError::Sql(m) => EngineError::Sql(format!("statement {n}: {m}")),
        EngineError::Invalid(m) => EngineError::Invalid(format!("statement {n}: {m}")),
        EngineError::Unsupported(m) => EngineError::Unsupported(format!("statement {n}: {m}")),
        other => other,
    }
}

/// Streams a result, counting rows and keeping the first [`SAMPLE_ROWS`] as JSON objects of text.
async fn stream_sample(df: DataFrame) -> EngineResult<(u64, Vec<Value>)> {
    let mut stream = df.execute_stream().await?;
    let mut rows = 0u64;
    let mut sample = Vec::new();
    let options = FormatOptions::default().with_null("null");
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        if sample.len() < SAMPLE_ROWS {
            let schema = batch.schema();
            let formatters = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| EngineError::Sql(e.to_string()))?;
            for r in 0..batch.num_rows().min(SAMPLE_ROWS - sample.len()) {
                let mut obj = Map::new();
                for (ci, (f, fmt)) in schema.fields().iter().zip(&formatters).enumerate() {
                    let v = if batch.column(ci).is_null(r) {
                        Value::Null
                    } else {
                        Value::String(fmt.value(r).to_string())
                    };
                    obj.insert(f.name().clone(), v);
                }
                sample.push(Value::Object(obj));
            }
        }
        rows += batch.num_rows() as u64;
    }
    Ok((rows, sample))
}

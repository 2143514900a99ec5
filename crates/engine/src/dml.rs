//! DML: `INSERT INTO | OVERWRITE`, and the Delta write every statement that adds rows ends in.

use std::sync::Arc;

use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::common::Column;
use deltalake::datafusion::logical_expr::{cast, lit, Expr};
use deltalake::datafusion::prelude::DataFrame;
use deltalake::datafusion::sql::sqlparser::ast::{Insert, Statement, TableObject};
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;
use futures::StreamExt;
use serde_json::Value;

use crate::catalog;
use crate::ddl::table_name;
use crate::error::{EngineError, EngineResult};
use crate::output::Outcome;
use crate::script::Script;
use crate::storage::TableName;

impl Script<'_> {
    pub(crate) async fn insert(&self, index: usize, ins: Insert) -> EngineResult<Outcome> {
        let TableObject::TableName(obj) = &ins.table else {
            return Err(EngineError::Unsupported(
                "INSERT INTO a table function is not supported".into(),
            ));
        };
        let name = table_name(obj)?;
        let url = self.engine.root.url_of(&name)?;
        let Some(table) = catalog::open(&url).await? else {
            return Err(EngineError::invalid(format!("table {name} does not exist")));
        };
        if self.committed_before(index, &table).await?.is_some() {
            return Ok(Outcome::Written { rows: 0 });
        }
        let Some(source) = ins.source else {
            return Err(EngineError::invalid("INSERT needs VALUES or a SELECT"));
        };
        let df = self.dataframe(Statement::Query(source)).await?;
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
            return Err(EngineError::invalid(format!(
                "INSERT INTO {name}: the query has {width} column(s) but {} are expected",
                targets.len()
            )));
        }
        for t in &targets {
            if !target
                .fields()
                .iter()
                .any(|f| f.name().eq_ignore_ascii_case(t))
            {
                return Err(EngineError::invalid(format!(
                    "table {name} has no column '{t}'"
                )));
            }
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
        let df = df.select(exprs)?;
        let mode = match ins.overwrite {
            true => SaveMode::Overwrite,
            false => SaveMode::Append,
        };
        let rows = self.write(index, &name, Some(table), df, mode).await?;
        Ok(Outcome::Written { rows })
    }

    /// Streams `df` into the Delta table `name` as one commit, carrying the context's transaction
    /// identity; returns the rows added.
    pub(crate) async fn write(
        &self,
        index: usize,
        name: &TableName,
        existing: Option<DeltaTable>,
        df: DataFrame,
        mode: SaveMode,
    ) -> EngineResult<u64> {
        let table = match existing {
            Some(t) => t,
            None => {
                if let Some(dir) = self.engine.root.local_dir(&[&name.schema, &name.table]) {
                    std::fs::create_dir_all(&dir).map_err(|source| EngineError::Io {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                // A new table: no log to load yet.
                deltalake::DeltaTableBuilder::from_url(self.engine.root.url_of(name)?)?.build()?
            }
        };
        let mut builder = table
            .write(Vec::<RecordBatch>::new())
            .with_input_plan(df.into_unoptimized_plan())
            .with_session_state(Arc::new(self.session.state()))
            .with_save_mode(mode)
            .with_table_name(name.table.clone())
            .with_commit_properties(self.commit(index));
        if mode == SaveMode::Overwrite {
            builder = builder.with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite);
        }
        let table = match builder.await {
            Ok(t) => t,
            // Lost a commit race: if the winner was another attempt of this very statement (same
            // txn app id, a worker still finishing after its lease), the work is done.
            Err(e) => match self.committed_meanwhile(index, name).await {
                true => return Ok(0),
                false => return Err(e.into()),
            },
        };
        let rows = match table.history(Some(1)).next().await {
            Some(Ok(commit)) => commit
                .info
                .get("operationMetrics")
                .and_then(|m| m.get("num_added_rows"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
            _ => 0,
        };
        tracing::info!(table = %name, rows, principal = %self.ctx.principal, "table written");
        Ok(rows)
    }

    /// After a failed write: whether another attempt committed statement `index` to `name` in the
    /// meantime.
    async fn committed_meanwhile(&self, index: usize, name: &TableName) -> bool {
        if self.ctx.txn.is_none() {
            return false;
        }
        let Ok(url) = self.engine.root.url_of(name) else {
            return false;
        };
        match catalog::open(&url).await {
            Ok(Some(table)) => matches!(self.committed_before(index, &table).await, Ok(Some(_))),
            _ => false,
        }
    }
}

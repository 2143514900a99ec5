//! `INSERT INTO | OVERWRITE [TABLE] t [(cols)] SELECT | VALUES`, and `INSERT INTO t REPLACE WHERE
//! pred SELECT …` (replace the rows matching `pred` with the query's, in one commit).
//!
//! Schema enforcement: the query's columns map onto the table's by position or through the column
//! list; a column the table lacks, a wrong count, or a type that cannot be stored in the column's
//! type fails naming the column. Values are cast to the column's type (store assignment), and
//! NOT NULL and CHECK constraints are checked on the rows written.

use deltalake::arrow::compute::can_cast_types;
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::datafusion::common::{Column, DFSchema};
use deltalake::datafusion::logical_expr::{cast, lit, Expr};
use deltalake::datafusion::prelude::DataFrame;
use deltalake::datafusion::scalar::ScalarValue;
use deltalake::datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, Insert, ObjectName, Query, Statement, TableObject,
};
use deltalake::protocol::SaveMode;
use lakeplane_core::catalog::FullName;

use crate::error::{EngineError, EngineResult};
use crate::output::{Changes, Outcome};
use crate::script::Script;

/// Maps `df`'s columns onto `target`'s: by position, or through `columns`; columns left out are
/// NULL. Errors name the column that does not fit.
pub(crate) fn conform(
    name: &FullName,
    df: DataFrame,
    target: &SchemaRef,
    columns: &[String],
) -> EngineResult<DataFrame> {
    let targets: Vec<String> = if columns.is_empty() {
        target.fields().iter().map(|f| f.name().clone()).collect()
    } else {
        columns.to_vec()
    };
    let width = df.schema().fields().len();
    if width != targets.len() {
        return Err(EngineError::Constraint(format!(
            "cannot write to {name}: the query has {width} column(s) but {} are expected",
            targets.len()
        )));
    }
    for t in &targets {
        if !target
            .fields()
            .iter()
            .any(|f| f.name().eq_ignore_ascii_case(t))
        {
            return Err(EngineError::Constraint(format!(
                "cannot write to {name}: it has no column '{t}'"
            )));
        }
    }
    let mut exprs: Vec<Expr> = Vec::with_capacity(target.fields().len());
    for field in target.fields() {
        let e = match targets
            .iter()
            .position(|t| t.eq_ignore_ascii_case(field.name()))
        {
            Some(i) => {
                let (q, source) = df.schema().qualified_field(i);
                if !can_cast_types(source.data_type(), field.data_type()) {
                    return Err(EngineError::Constraint(format!(
                        "cannot write to {name}: column '{}' is {} but the value is {}",
                        field.name(),
                        field.data_type(),
                        source.data_type()
                    )));
                }
                Expr::Column(Column::from((q, source)))
            }
            None => lit(ScalarValue::Null),
        };
        exprs.push(cast(e, field.data_type().clone()).alias(field.name()));
    }
    Ok(df.select(exprs)?)
}

impl Script<'_> {
    pub(crate) async fn insert(&self, index: usize, ins: Insert) -> EngineResult<Outcome> {
        let TableObject::TableName(obj) = &ins.table else {
            return Err(EngineError::Unsupported(
                "INSERT INTO a table function is not supported".into(),
            ));
        };
        let name = self.full_name(obj)?;
        let (info, table) = self.writable(&name, false).await?;
        if self.committed_before(index, &table).await?.is_some() {
            return Ok(Outcome::Changed(Changes::inserted(0)));
        }
        let Some(source) = ins.source else {
            return Err(EngineError::invalid("INSERT needs VALUES or a SELECT"));
        };
        let df = self.dataframe(Statement::Query(source)).await?;
        let target = table.snapshot()?.snapshot().arrow_schema();
        let columns: Vec<String> = ins
            .columns
            .iter()
            .map(|c| c.to_string().trim_matches('`').to_string())
            .collect();
        let df = conform(&name, df, &target, &columns)?;
        let mode = match ins.overwrite {
            true => SaveMode::Overwrite,
            false => SaveMode::Append,
        };
        let rows = self.write(index, &info, table, df, mode, None).await?;
        Ok(Outcome::Changed(Changes::inserted(rows)))
    }

    pub(crate) async fn replace_where(
        &self,
        index: usize,
        table: &ObjectName,
        predicate: SqlExpr,
        query: Box<Query>,
    ) -> EngineResult<Outcome> {
        let name = self.full_name(table)?;
        let (info, delta) = self.writable(&name, true).await?;
        if self.committed_before(index, &delta).await?.is_some() {
            return Ok(Outcome::Changed(Changes::inserted(0)));
        }
        let target = delta.snapshot()?.snapshot().arrow_schema();
        let predicate = self.table_expr(predicate, &name.name, &target)?;
        let df = self.dataframe(Statement::Query(query)).await?;
        let df = conform(&name, df, &target, &[])?;
        let rows = self
            .write(
                index,
                &info,
                delta,
                df,
                SaveMode::Overwrite,
                Some(predicate),
            )
            .await?;
        Ok(Outcome::Changed(Changes::inserted(rows)))
    }

    /// A SQL expression over one table's columns (`col` or `<qualifier>.col`), as an unqualified
    /// DataFusion expression delta-rs evaluates against the table.
    pub(crate) fn table_expr(
        &self,
        e: SqlExpr,
        qualifier: &str,
        schema: &SchemaRef,
    ) -> EngineResult<Expr> {
        let df_schema = DFSchema::try_from_qualified_schema(qualifier, schema)?;
        Ok(super::unqualified(self.logical_expr(e, &df_schema)?)?)
    }
}

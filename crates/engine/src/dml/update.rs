//! `UPDATE t [AS x] SET col = expr, … [WHERE pred]` and `DELETE FROM t [AS x] [WHERE pred]`, as
//! delta-rs rewrites of the files holding matching rows (copy-on-write), in one commit each.

use std::sync::Arc;

use deltalake::datafusion::sql::sqlparser::ast::{
    AssignmentTarget, Delete, FromTable, ObjectName, TableFactor, TableWithJoins, Update,
};

use super::delta_error;
use crate::catalog::parts;
use crate::error::{EngineError, EngineResult};
use crate::output::{Changes, Outcome};
use crate::script::Script;

/// The table a single-table UPDATE or DELETE names, and what its columns are qualified with.
fn single_table(t: &TableWithJoins, statement: &str) -> EngineResult<(ObjectName, String)> {
    let TableFactor::Table { name, alias, .. } = &t.relation else {
        return Err(EngineError::Unsupported(format!(
            "{statement} of something other than a table"
        )));
    };
    if !t.joins.is_empty() {
        return Err(EngineError::Unsupported(format!(
            "{statement} with a join; use MERGE INTO"
        )));
    }
    let qualifier = match alias {
        Some(a) => a.name.value.clone(),
        None => parts(name)?.last().cloned().unwrap_or_default(),
    };
    Ok((name.clone(), qualifier))
}

impl Script<'_> {
    pub(crate) async fn update(&self, index: usize, update: Update) -> EngineResult<Outcome> {
        if update.from.is_some() {
            return Err(EngineError::Unsupported(
                "UPDATE … FROM; use MERGE INTO".into(),
            ));
        }
        let (table, qualifier) = single_table(&update.table, "UPDATE")?;
        let name = self.full_name(&table)?;
        let (info, delta) = self.writable(&name, true).await?;
        if self.committed_before(index, &delta).await?.is_some() {
            return Ok(Outcome::Changed(Changes::affected(0)));
        }
        let schema = delta.snapshot()?.snapshot().arrow_schema();
        let mut builder = delta
            .clone()
            .update()
            .with_session_state(Arc::new(self.session.state()))
            .with_commit_properties(self.commit(index));
        for a in update.assignments {
            let AssignmentTarget::ColumnName(col) = &a.target else {
                return Err(EngineError::Unsupported(
                    "UPDATE SET (a, b) = …; assign columns one by one".into(),
                ));
            };
            let col = parts(col)?.last().cloned().unwrap_or_default();
            let col = self.column_named(&delta, &name, &col)?;
            builder = builder.with_update(col, self.table_expr(a.value, &qualifier, &schema)?);
        }
        if let Some(p) = update.selection {
            builder = builder.with_predicate(self.table_expr(p, &qualifier, &schema)?);
        }
        match builder.await {
            Ok((_, metrics)) => Ok(Outcome::Changed(Changes::affected(
                metrics.num_updated_rows as u64,
            ))),
            Err(_) if self.committed_meanwhile(index, &info).await => {
                Ok(Outcome::Changed(Changes::affected(0)))
            }
            Err(e) => Err(delta_error(&name, e)),
        }
    }

    pub(crate) async fn delete(&self, index: usize, delete: Delete) -> EngineResult<Outcome> {
        if delete.using.is_some() {
            return Err(EngineError::Unsupported(
                "DELETE … USING; use MERGE INTO … WHEN MATCHED THEN DELETE".into(),
            ));
        }
        let tables = match &delete.from {
            FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
        };
        let [table] = tables.as_slice() else {
            return Err(EngineError::Unsupported(
                "DELETE from several tables".into(),
            ));
        };
        let (table, qualifier) = single_table(table, "DELETE")?;
        let name = self.full_name(&table)?;
        let (info, delta) = self.writable(&name, true).await?;
        if self.committed_before(index, &delta).await?.is_some() {
            return Ok(Outcome::Changed(Changes::affected(0)));
        }
        let schema = delta.snapshot()?.snapshot().arrow_schema();
        let mut builder = delta
            .clone()
            .delete()
            .with_session_state(Arc::new(self.session.state()))
            .with_commit_properties(self.commit(index));
        if let Some(p) = delete.selection {
            builder = builder.with_predicate(self.table_expr(p, &qualifier, &schema)?);
        }
        match builder.await {
            Ok((_, metrics)) => Ok(Outcome::Changed(Changes::affected(
                metrics.num_deleted_rows.unwrap_or(0) as u64,
            ))),
            Err(_) if self.committed_meanwhile(index, &info).await => {
                Ok(Outcome::Changed(Changes::affected(0)))
            }
            Err(e) => Err(delta_error(&name, e)),
        }
    }
}

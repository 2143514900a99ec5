//! `MERGE [WITH SCHEMA EVOLUTION] INTO target USING source ON cond WHEN …`: delta-rs's merge, with
//! the clauses in the order written (the first whose condition holds acts on a row), `UPDATE SET *`
//! and `INSERT *` expanded by column name, and every expression planned against the target and
//! source columns under their aliases (the table names when no alias is given).

use std::sync::Arc;

use deltalake::arrow::datatypes::{Schema, SchemaRef};
use deltalake::datafusion::common::{Column, DFSchema};
use deltalake::datafusion::logical_expr::Expr;
use deltalake::datafusion::sql::sqlparser::ast::{
    AssignmentTarget, Expr as SqlExpr, Statement, TableFactor,
};

use super::delta_error;
use crate::catalog::parts;
use crate::error::{EngineError, EngineResult};
use crate::output::{Changes, Outcome};
use crate::script::Script;
use crate::sql::ast::{Command, Merge, MergeAction, MergeWhen};
use crate::Params;

/// A clause with its expressions planned.
struct Planned {
    when: MergeWhen,
    condition: Option<Expr>,
    /// `(target column, value)`; empty for DELETE.
    sets: Vec<(String, Expr)>,
    delete: bool,
}

/// The alias of a table factor, or the last part of its name.
fn alias_of(tf: &TableFactor, default: &str) -> EngineResult<String> {
    Ok(match tf {
        TableFactor::Table { alias: Some(a), .. }
        | TableFactor::Derived { alias: Some(a), .. }
        | TableFactor::Function { alias: Some(a), .. } => a.name.value.clone(),
        TableFactor::Table { name, .. } => parts(name)?.last().cloned().unwrap_or_default(),
        _ => default.to_string(),
    })
}

impl Script<'_> {
    pub(crate) async fn merge(&self, index: usize, m: Merge) -> EngineResult<Outcome> {
        let TableFactor::Table { name: tname, .. } = &m.target else {
            return Err(EngineError::Unsupported(
                "MERGE INTO something other than a table".into(),
            ));
        };
        let name = self.full_name(tname)?;
        let target_alias = alias_of(&m.target, "target")?;
        let source_alias = alias_of(&m.source, "source")?;
        if target_alias.eq_ignore_ascii_case(&source_alias) {
            return Err(EngineError::invalid(format!(
                "MERGE: the target and the source are both called '{target_alias}'; give one an alias"
            )));
        }
        let (info, delta) = self.writable(&name, true).await?;
        if self.committed_before(index, &delta).await?.is_some() {
            return Ok(Outcome::Changed(Changes::default()));
        }
        // The source, as a query of its own (its values are bound literals already).
        let mut parsed = crate::sql::parse(&format!("SELECT * FROM {}", m.source), &Params::new())?;
        let (Some(Command::Std(stmt)), true) = (parsed.pop(), parsed.is_empty()) else {
            return Err(EngineError::invalid(
                "MERGE: the source is not a table or query",
            ));
        };
        let stmt = *stmt;
        let Statement::Query(_) = &stmt else {
            return Err(EngineError::invalid(
                "MERGE: the source is not a table or query",
            ));
        };
        let source = self.dataframe(stmt).await?;
        let target_schema = delta.snapshot()?.snapshot().arrow_schema();
        let source_schema: SchemaRef = Arc::new(Schema::new(source.schema().fields().clone()));
        let both =
            DFSchema::try_from_qualified_schema(target_alias.as_str(), &target_schema)?.join(
                &DFSchema::try_from_qualified_schema(source_alias.as_str(), &source_schema)?,
            )?;
        let plan = |e: SqlExpr| -> EngineResult<Expr> { self.logical_expr(e, &both) };

        let on = plan(m.on)?;
        let mut clauses = Vec::with_capacity(m.clauses.len());
        for c in m.clauses {
            let condition = c.condition.map(&plan).transpose()?;
            let (sets, delete) = match c.action {
                MergeAction::Delete => (vec![], true),
                MergeAction::UpdateAll | MergeAction::InsertAll => (
                    by_name(
                        &target_schema,
                        &source_schema,
                        &source_alias,
                        m.schema_evolution,
                    ),
                    false,
                ),
                MergeAction::Update(assignments) => {
                    let mut sets = Vec::with_capacity(assignments.len());
                    for a in assignments {
                        let AssignmentTarget::ColumnName(col) = &a.target else {
                            return Err(EngineError::Unsupported(
                                "MERGE … UPDATE SET (a, b) = …; assign columns one by one".into(),
                            ));
                        };
                        let col = parts(col)?.last().cloned().unwrap_or_default();
                        sets.push((
                            self.merge_column(&delta, &name, &col, m.schema_evolution)?,
                            plan(a.value)?,
                        ));
                    }
                    (sets, false)
                }
                MergeAction::Insert { columns, values } => {
                    if columns.len() != values.len() {
                        return Err(EngineError::invalid(format!(
                            "MERGE … INSERT names {} column(s) but gives {} value(s)",
                            columns.len(),
                            values.len()
                        )));
                    }
                    let mut sets = Vec::with_capacity(columns.len());
                    for (col, v) in columns.into_iter().zip(values) {
                        sets.push((
                            self.merge_column(&delta, &name, &col.value, m.schema_evolution)?,
                            plan(v)?,
                        ));
                    }
                    (sets, false)
                }
            };
            clauses.push(Planned {
                when: c.when,
                condition,
                sets,
                delete,
            });
        }

        let mut builder = delta
            .clone()
            .merge(source, on)
            .with_source_alias(&source_alias)
            .with_target_alias(&target_alias)
            .with_merge_schema(m.schema_evolution)
            .with_session_state(Arc::new(self.session.state()))
            .with_commit_properties(self.commit(index));
        for c in clauses {
            builder = match (c.when, c.delete) {
                (MergeWhen::Matched, true) => {
                    builder.when_matched_delete(|d| match c.condition {
                        Some(p) => d.predicate(p),
                        None => d,
                    })?
                }
                (MergeWhen::Matched, false) => builder.when_matched_update(|mut u| {
                    if let Some(p) = c.condition {
                        u = u.predicate(p);
                    }
                    c.sets.into_iter().fold(u, |u, (col, e)| u.update(col, e))
                })?,
                (MergeWhen::NotMatched, _) => builder.when_not_matched_insert(|mut i| {
                    if let Some(p) = c.condition {
                        i = i.predicate(p);
                    }
                    c.sets.into_iter().fold(i, |i, (col, e)| i.set(col, e))
                })?,
                (MergeWhen::NotMatchedBySource, true) => builder
                    .when_not_matched_by_source_delete(|d| match c.condition {
                        Some(p) => d.predicate(p),
                        None => d,
                    })?,
                (MergeWhen::NotMatchedBySource, false) => builder
                    .when_not_matched_by_source_update(|mut u| {
                        if let Some(p) = c.condition {
                            u = u.predicate(p);
                        }
                        c.sets.into_iter().fold(u, |u, (col, e)| u.update(col, e))
                    })?,
            };
        }
        match builder.await {
            Ok((_, metrics)) => {
                let (u, d, i) = (
                    metrics.num_target_rows_updated as u64,
                    metrics.num_target_rows_deleted as u64,
                    metrics.num_target_rows_inserted as u64,
                );
                Ok(Outcome::Changed(Changes {
                    affected: u + d + i,
                    updated: Some(u),
                    deleted: Some(d),
                    inserted: Some(i),
                }))
            }
            Err(_) if self.committed_meanwhile(index, &info).await => {
                Ok(Outcome::Changed(Changes::default()))
            }
            Err(e) => Err(delta_error(&name, e)),
        }
    }

    /// The target column a MERGE assigns: the table's spelling, or a new column under schema
    /// evolution.
    fn merge_column(
        &self,
        delta: &deltalake::DeltaTable,
        name: &lakeplane_core::catalog::FullName,
        col: &str,
        evolve: bool,
    ) -> EngineResult<String> {
        match self.column_named(delta, name, col) {
            Ok(c) => Ok(c),
            Err(_) if evolve => Ok(col.to_string()),
            Err(e) => Err(EngineError::Constraint(format!(
                "{e}; add it with ALTER TABLE … ADD COLUMNS or MERGE WITH SCHEMA EVOLUTION"
            ))),
        }
    }
}

/// `SET *`: each target column from the source column of the same name (any case); with schema
/// evolution, every source column.
fn by_name(
    target: &SchemaRef,
    source: &SchemaRef,
    source_alias: &str,
    evolve: bool,
) -> Vec<(String, Expr)> {
    let from_source = |name: &str| Expr::Column(Column::new(Some(source_alias), name));
    let mut sets: Vec<(String, Expr)> = target
        .fields()
        .iter()
        .filter_map(|t| {
            source
                .fields()
                .iter()
                .find(|s| s.name().eq_ignore_ascii_case(t.name()))
                .map(|s| (t.name().clone(), from_source(s.name())))
        })
        .collect();
    if evolve {
        for s in source.fields() {
            if !target
                .fields()
                .iter()
                .any(|t| t.name().eq_ignore_ascii_case(s.name()))
            {
                sets.push((s.name().clone(), from_source(s.name())));
            }
        }
    }
    sets
}

//! `ALTER TABLE`: ADD COLUMNS, RENAME TO, SET/UNSET TBLPROPERTIES, ALTER COLUMN … COMMENT,
//! ADD CONSTRAINT … CHECK, DROP CONSTRAINT. Schema and properties changes are Delta commits (the
//! table's log is the truth about its schema); a rename changes only the catalog entry.

use std::collections::HashMap;

use deltalake::datafusion::sql::sqlparser::ast::ObjectName;
use deltalake::kernel::MetadataValue;
use lakeplane_core::catalog::{FullName, Privilege, Securable, TableType, TableUpdate};

use super::columns::COMMENT_KEY;
use super::property_map;
use crate::catalog::parts;
use crate::error::{EngineError, EngineResult};
use crate::output::Outcome;
use crate::script::Script;
use crate::sql::ast::AlterAction;

impl Script<'_> {
    pub(crate) async fn alter_table(
        &self,
        index: usize,
        table: &ObjectName,
        action: AlterAction,
    ) -> EngineResult<Outcome> {
        let name = self.full_name(table)?;
        self.table_info(&name).await?;
        self.authorize_owner(Securable::Table(name.clone())).await?;
        if let AlterAction::RenameTo(to) = &action {
            let to = match parts(to)?.as_slice() {
                [t] => name.schema_name().table(t)?,
                _ => self.full_name(to)?,
            };
            if to.catalog != name.catalog {
                return Err(EngineError::invalid(format!(
                    "RENAME TO {to}: a table stays in its catalog ({})",
                    name.catalog
                )));
            }
            self.authorize(Securable::Schema(to.schema_name()), Privilege::CreateTable)
                .await?;
            self.engine.metastore.rename_table(&name, &to).await?;
            return Ok(Outcome::Done);
        }
        let info = self.table_info(&name).await?;
        if info.table_type == TableType::View {
            return self.alter_view(&name, action).await;
        }
        let (_, delta) = self.delta_table(&name).await?;
        if self.committed_before(index, &delta).await?.is_some() {
            return Ok(Outcome::Done);
        }
        let commit = self.commit(index);
        match action {
            AlterAction::AddColumns(cols) => {
                let fields = self.fields(&cols).await?;
                if let Some(f) = fields.iter().find(|f| !f.is_nullable()) {
                    return Err(EngineError::invalid(format!(
                        "column '{}': an added column must allow NULL (existing rows have none)",
                        f.name()
                    )));
                }
                delta
                    .add_columns()
                    .with_fields(fields)
                    .with_commit_properties(commit)
                    .await?;
            }
            AlterAction::SetProperties(props) => {
                let mut props = property_map(props)?;
                if let Some(c) = props.remove("comment") {
                    self.engine
                        .metastore
                        .update_table(&name, TableUpdate::Comment(Some(c)), &self.ctx.principal)
                        .await?;
                }
                if !props.is_empty() {
                    delta
                        .set_tbl_properties()
                        .with_properties(props.into_iter().collect())
                        .with_raise_if_not_exists(false)
                        .with_commit_properties(commit)
                        .await?;
                }
            }
            AlterAction::UnsetProperties { .. } => {
                return Err(EngineError::Unsupported(
                    "UNSET TBLPROPERTIES on a Delta table is not supported yet; set the property to another value".into(),
                ))
            }
            AlterAction::ColumnComment { column, comment } => {
                let field = self.column_named(&delta, &name, &column.value)?;
                delta
                    .update_field_metadata()
                    .with_field_name(&field)
                    .with_metadata(HashMap::from([(
                        COMMENT_KEY.to_string(),
                        MetadataValue::String(comment),
                    )]))
                    .with_commit_properties(commit)
                    .await?;
            }
            AlterAction::AddCheck { name: c, expr } => {
                let c_shown = format!("{} ({expr})", c.value);
                delta
                    .add_constraint()
                    .with_constraint(c.value, expr.to_string())
                    .with_commit_properties(commit)
                    .await
                    .map_err(|e| match crate::dml::delta_error(&name, e) {
                        EngineError::Constraint(m) => EngineError::Constraint(format!(
                            "CHECK constraint {} on {name} is violated by existing rows: {}",
                            c_shown,
                            m.split_once("): ").map_or(m.as_str(), |(_, d)| d)
                        )),
                        other => other,
                    })?;
            }
            AlterAction::DropConstraint { name: c, if_exists } => {
                delta
                    .drop_constraints()
                    .with_constraint(c.value)
                    .with_raise_if_not_exists(!if_exists)
                    .with_commit_properties(commit)
                    .await?;
            }
            AlterAction::RenameTo(_) => {}
        }
        Ok(Outcome::Done)
    }

    /// The table's own spelling of column `column` (names compare case-insensitively).
    pub(crate) fn column_named(
        &self,
        delta: &deltalake::DeltaTable,
        table: &FullName,
        column: &str,
    ) -> EngineResult<String> {
        let schema = delta.snapshot()?.snapshot().arrow_schema();
        schema
            .fields()
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(column))
            .map(|f| f.name().clone())
            .ok_or_else(|| EngineError::invalid(format!("table {table} has no column '{column}'")))
    }

    async fn alter_view(&self, name: &FullName, action: AlterAction) -> EngineResult<Outcome> {
        let update = match action {
            AlterAction::SetProperties(props) => TableUpdate::Properties {
                set: property_map(props)?,
                unset: vec![],
            },
            AlterAction::UnsetProperties { keys, if_exists } => {
                let info = self.table_info(name).await?;
                if let Some(k) = keys.iter().find(|k| !info.properties.contains_key(*k)) {
                    if !if_exists {
                        return Err(EngineError::invalid(format!(
                            "view {name} has no property '{k}' (use UNSET TBLPROPERTIES IF EXISTS)"
                        )));
                    }
                }
                TableUpdate::Properties {
                    set: Default::default(),
                    unset: keys,
                }
            }
            _ => {
                return Err(EngineError::invalid(format!(
                    "{name} is a view: it has no columns or constraints to alter"
                )))
            }
        };
        self.engine
            .metastore
            .update_table(name, update, &self.ctx.principal)
            .await?;
        Ok(Outcome::Done)
    }
}

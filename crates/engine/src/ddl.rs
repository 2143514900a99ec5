//! DDL: `CREATE TABLE` (with columns or `AS SELECT`), `CREATE SCHEMA`, `DROP TABLE`.

use deltalake::datafusion::sql::sqlparser::ast::{
    CreateTable, ObjectName, ObjectNamePart, SchemaName,
};
use deltalake::protocol::SaveMode;

use crate::catalog;
use crate::error::{EngineError, EngineResult};
use crate::output::Outcome;
use crate::script::Script;
use crate::storage::{check_ident, TableName, CATALOG};

/// A table's name from the parsed statement.
pub(crate) fn table_name(n: &ObjectName) -> EngineResult<TableName> {
    let parts: Vec<String> =
        n.0.iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => Ok(i.value.clone()),
                other => Err(EngineError::invalid(format!(
                    "'{other}' is not a plain name"
                ))),
            })
            .collect::<EngineResult<_>>()?;
    TableName::from_parts(&parts)
}

impl Script<'_> {
    pub(crate) async fn create_table(
        &self,
        index: usize,
        ct: CreateTable,
    ) -> EngineResult<Outcome> {
        let name = table_name(&ct.name)?;
        // `LOCATION` parses into `location` or, Hive-style (Databricks), into `hive_formats`.
        let location = ct
            .location
            .as_ref()
            .or(ct.hive_formats.as_ref().and_then(|h| h.location.as_ref()));
        if let Some(location) = location {
            // Checked first, so a path outside what may be read is refused as such.
            self.engine.sources.policy.check(location)?;
        }
        if ct.external || location.is_some() {
            return Err(EngineError::Unsupported(
                "external tables (LOCATION) are not supported yet; tables live under the storage root"
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
        let url = self.engine.root.url_of(&name)?;
        let existing = catalog::open(&url).await?;
        if let Some(table) = &existing {
            if self.committed_before(index, table).await?.is_some() {
                return Ok(Outcome::Written { rows: 0 });
            }
        }
        match (&existing, mode) {
            (Some(_), SaveMode::ErrorIfExists) => {
                return Err(EngineError::invalid(format!("table {name} already exists")))
            }
            (Some(_), SaveMode::Ignore) => return Ok(Outcome::Done),
            _ => {}
        }
        let df = match ct.query {
            Some(q) => {
                self.dataframe(deltalake::datafusion::sql::sqlparser::ast::Statement::Query(q))
                    .await?
            }
            None => {
                if ct.columns.is_empty() {
                    return Err(EngineError::invalid(format!(
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
                self.session
                    .sql(&format!("SELECT {} WHERE false", cols.join(", ")))
                    .await?
            }
        };
        let rows = self.write(index, &name, existing, df, mode).await?;
        Ok(Outcome::Written { rows })
    }

    pub(crate) fn create_schema(&self, schema_name: &SchemaName) -> EngineResult<Outcome> {
        let name = schema_name.to_string();
        let schema = match name.split('.').collect::<Vec<_>>().as_slice() {
            [s] => *s,
            [c, s] if c.eq_ignore_ascii_case(CATALOG) => *s,
            _ => {
                return Err(EngineError::invalid(format!(
                    "'{name}' is not a schema name"
                )))
            }
        };
        let schema = check_ident("schema", schema)?;
        if let Some(dir) = self.engine.root.local_dir(&[&schema]) {
            std::fs::create_dir_all(&dir).map_err(|source| EngineError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        Ok(Outcome::Done)
    }

    pub(crate) async fn drop_tables(
        &self,
        names: &[ObjectName],
        if_exists: bool,
    ) -> EngineResult<Outcome> {
        for n in names {
            let name = table_name(n)?;
            let url = self.engine.root.url_of(&name)?;
            if catalog::open(&url).await?.is_none() {
                if if_exists {
                    continue;
                }
                return Err(EngineError::invalid(format!("table {name} does not exist")));
            }
            let Some(dir) = self.engine.root.local_dir(&[&name.schema, &name.table]) else {
                return Err(EngineError::Unsupported(
                    "DROP TABLE on object storage is not supported yet".into(),
                ));
            };
            std::fs::remove_dir_all(&dir).map_err(|source| EngineError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        Ok(Outcome::Done)
    }
}

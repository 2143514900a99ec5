//! Names and tables as the engine sees them, over the catalog port ([`Metastore`]): resolving a
//! one-, two- or three-part name against the script's current catalog and schema, reading a
//! table's entry, and opening its Delta table at its storage location.

pub(crate) mod open;
mod register;

use deltalake::datafusion::sql::sqlparser::ast::{ObjectName, ObjectNamePart};
use deltalake::DeltaTable;
use lakeplane_core::catalog::{CatalogError, FullName, SchemaName, TableInfo, TableType};
use url::Url;

use crate::error::{EngineError, EngineResult};
use crate::script::Script;

/// The parts of a parsed name, as written.
pub(crate) fn parts(n: &ObjectName) -> EngineResult<Vec<String>> {
    n.0.iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Ok(i.value.clone()),
            other => Err(EngineError::invalid(format!(
                "'{other}' is not a plain name"
            ))),
        })
        .collect()
}

/// A table's storage location as a URL.
pub(crate) fn location(info: &TableInfo) -> EngineResult<Url> {
    let Some(loc) = &info.storage_location else {
        return Err(EngineError::invalid(format!(
            "{} is a view, not a table",
            info.full_name()
        )));
    };
    Url::parse(loc).map_err(|e| EngineError::invalid(format!("table location '{loc}': {e}")))
}

/// A table's Delta table at its latest version. Errors: no Delta log at its location.
pub(crate) async fn open_table(info: &TableInfo) -> EngineResult<DeltaTable> {
    match open::open(&location(info)?).await? {
        Some(t) => Ok(t),
        None => Err(EngineError::invalid(format!(
            "table {} has no Delta log at {}",
            info.full_name(),
            info.storage_location.as_deref().unwrap_or("?")
        ))),
    }
}

impl Script<'_> {
    /// The current catalog and schema (`USE`).
    pub(crate) fn current(&self) -> SchemaName {
        match self.current.lock() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn set_current(&self, to: SchemaName) {
        match self.current.lock() {
            Ok(mut c) => *c = to,
            Err(poisoned) => *poisoned.into_inner() = to,
        }
    }

    /// A table name resolved against the current catalog and schema.
    pub(crate) fn full_name(&self, n: &ObjectName) -> EngineResult<FullName> {
        Ok(FullName::resolve(&parts(n)?, &self.current())?)
    }

    /// A schema name (`s` or `c.s`) resolved against the current catalog.
    pub(crate) fn schema_name(&self, n: &ObjectName) -> EngineResult<SchemaName> {
        let cur = self.current();
        match parts(n)?.as_slice() {
            [s] => Ok(SchemaName::new(&cur.catalog, s)?),
            [c, s] => Ok(SchemaName::new(c, s)?),
            _ => Err(EngineError::invalid(format!(
                "'{n}' is not a schema name: use schema or catalog.schema"
            ))),
        }
    }

    /// A table's entry, or `None`.
    pub(crate) async fn find_table(&self, name: &FullName) -> EngineResult<Option<TableInfo>> {
        match self.engine.metastore.get_table(name).await {
            Ok(t) => Ok(Some(t)),
            Err(CatalogError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A table's entry. Errors: `NotFound` naming the table.
    pub(crate) async fn table_info(&self, name: &FullName) -> EngineResult<TableInfo> {
        self.find_table(name)
            .await?
            .ok_or_else(|| EngineError::not_found("Table or view", name))
    }

    /// A Delta table the caller writes to: checked for `MODIFY` (and `SELECT` when the write
    /// reads the table too: UPDATE, DELETE, MERGE), then opened.
    pub(crate) async fn writable(
        &self,
        name: &FullName,
        reads_it: bool,
    ) -> EngineResult<(TableInfo, DeltaTable)> {
        let table = lakeplane_core::catalog::Securable::Table(name.clone());
        if reads_it {
            self.authorize(table.clone(), lakeplane_core::catalog::Privilege::Select)
                .await?;
        }
        self.authorize(table, lakeplane_core::catalog::Privilege::Modify)
            .await?;
        self.delta_table(name).await
    }

    /// A Delta table to write to or maintain, with its entry. Errors: not found, a view, no Delta
    /// log at the location.
    pub(crate) async fn delta_table(
        &self,
        name: &FullName,
    ) -> EngineResult<(TableInfo, DeltaTable)> {
        let info = self.table_info(name).await?;
        if info.table_type == TableType::View {
            return Err(EngineError::invalid(format!(
                "{name} is a view; only tables can be written or maintained"
            )));
        }
        let table = open_table(&info).await?;
        Ok((info, table))
    }
}

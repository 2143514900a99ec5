//! DDL over the catalog: catalogs and schemas (here), tables and views ([`table`]), ALTER TABLE
//! ([`alter`]), and `USE`.

mod alter;
mod columns;
mod table;

use std::collections::BTreeMap;

use deltalake::datafusion::sql::sqlparser::ast::ObjectName;
use lakeplane_core::catalog::{
    check_name, check_properties, CatalogError, CatalogInfo, Privilege, SchemaInfo, SchemaName,
    Securable, TableType, DEFAULT_SCHEMA,
};

use crate::catalog::parts;
use crate::error::{EngineError, EngineResult};
use crate::output::Outcome;
use crate::script::Script;
use crate::sql::ast::{Properties, UseKind};

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Properties as a map, checked for size.
pub(crate) fn property_map(props: Properties) -> EngineResult<BTreeMap<String, String>> {
    let map: BTreeMap<String, String> = props.into_iter().collect();
    check_properties(&map)?;
    Ok(map)
}

impl Script<'_> {
    pub(crate) async fn create_catalog(
        &self,
        name: &str,
        if_not_exists: bool,
        comment: Option<String>,
    ) -> EngineResult<Outcome> {
        let name = check_name("catalog", name)?;
        self.authorize_admin("create catalogs")?;
        let catalog = CatalogInfo {
            name: name.clone(),
            comment,
            properties: BTreeMap::new(),
            owner: self.ctx.principal.clone(),
            created_at: now_ms(),
            created_by: self.ctx.principal.clone(),
            id: uuid::Uuid::new_v4().to_string(),
        };
        let schema = SchemaInfo {
            catalog_name: name.clone(),
            name: DEFAULT_SCHEMA.into(),
            comment: Some("Default schema (auto-created)".into()),
            properties: BTreeMap::new(),
            owner: self.ctx.principal.clone(),
            created_at: now_ms(),
            created_by: self.ctx.principal.clone(),
            id: uuid::Uuid::new_v4().to_string(),
        };
        match self.engine.metastore.create_catalog(catalog).await {
            Ok(_) => {}
            Err(CatalogError::AlreadyExists { .. }) if if_not_exists => return Ok(Outcome::Done),
            Err(e) => return Err(e.into()),
        }
        // Every catalog starts with a `default` schema, as in Databricks.
        match self.engine.metastore.create_schema(schema).await {
            Ok(_) | Err(CatalogError::AlreadyExists { .. }) => Ok(Outcome::Done),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn drop_catalog(
        &self,
        name: &str,
        if_exists: bool,
        cascade: bool,
    ) -> EngineResult<Outcome> {
        let name = check_name("catalog", name)?;
        match self.engine.metastore.get_catalog(&name).await {
            Err(CatalogError::NotFound { .. }) if if_exists => return Ok(Outcome::Done),
            other => other?,
        };
        self.authorize_owner(Securable::Catalog(name.clone()))
            .await?;
        match self.engine.metastore.drop_catalog(&name, cascade).await {
            Ok(dropped) => {
                for t in dropped {
                    self.delete_managed_data(&t).await;
                }
                Ok(Outcome::Done)
            }
            Err(CatalogError::NotFound { .. }) if if_exists => Ok(Outcome::Done),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn create_schema(
        &self,
        name: &ObjectName,
        if_not_exists: bool,
        comment: Option<String>,
        properties: Properties,
    ) -> EngineResult<Outcome> {
        let name = self.schema_name(name)?;
        self.authorize(
            Securable::Catalog(name.catalog.clone()),
            Privilege::CreateSchema,
        )
        .await?;
        let schema = SchemaInfo {
            catalog_name: name.catalog.clone(),
            name: name.schema.clone(),
            comment,
            properties: property_map(properties)?,
            owner: self.ctx.principal.clone(),
            created_at: now_ms(),
            created_by: self.ctx.principal.clone(),
            id: uuid::Uuid::new_v4().to_string(),
        };
        match self.engine.metastore.create_schema(schema).await {
            Ok(_) => Ok(Outcome::Done),
            Err(CatalogError::AlreadyExists { .. }) if if_not_exists => Ok(Outcome::Done),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn drop_schemas(
        &self,
        names: &[ObjectName],
        if_exists: bool,
        cascade: bool,
    ) -> EngineResult<Outcome> {
        for n in names {
            let name = self.schema_name(n)?;
            match self.engine.metastore.get_schema(&name).await {
                Err(CatalogError::NotFound { .. }) if if_exists => continue,
                other => other?,
            };
            self.authorize_owner(Securable::Schema(name.clone()))
                .await?;
            match self.engine.metastore.drop_schema(&name, cascade).await {
                Ok(dropped) => {
                    for t in dropped {
                        self.delete_managed_data(&t).await;
                    }
                }
                Err(CatalogError::NotFound { .. }) if if_exists => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Outcome::Done)
    }

    /// `USE CATALOG c` (schema `default`), `USE SCHEMA s`, `USE c.s`; the target must exist.
    pub(crate) async fn use_(&self, kind: UseKind, name: &ObjectName) -> EngineResult<Outcome> {
        let parts = parts(name)?;
        let to = match (kind, parts.as_slice()) {
            (UseKind::Catalog, [c]) => {
                let c = check_name("catalog", c)?;
                self.engine.metastore.get_catalog(&c).await?;
                self.authorize(Securable::Catalog(c.clone()), Privilege::UseCatalog)
                    .await?;
                SchemaName::new(&c, DEFAULT_SCHEMA)?
            }
            (UseKind::Schema | UseKind::Either, [_] | [_, _]) => {
                let s = self.schema_name(name)?;
                self.engine.metastore.get_schema(&s).await?;
                self.authorize(Securable::Schema(s.clone()), Privilege::UseSchema)
                    .await?;
                s
            }
            _ => {
                return Err(EngineError::invalid(format!(
                    "USE {name}: name a catalog (USE CATALOG c) or a schema (USE s, USE c.s)"
                )))
            }
        };
        self.set_current(to);
        Ok(Outcome::Done)
    }

    /// Deletes a dropped managed table's files (best effort: the entry is gone already, and its
    /// folder is its own, so what is left behind is only storage).
    pub(crate) async fn delete_managed_data(&self, table: &lakeplane_core::catalog::TableInfo) {
        if table.table_type != TableType::Managed {
            return;
        }
        if let Err(e) = crate::dml::delete_location(table).await {
            tracing::warn!(table = %table.full_name(), error = %e, "could not delete a dropped table's files");
        }
    }
}

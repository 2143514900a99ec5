//! What the Unity Catalog REST API asks of the engine, besides SQL: a table's columns (read from
//! its Delta log or a view's plan), and creating and dropping catalogs, schemas and tables with the
//! same rules as their SQL (a new catalog gets its `default` schema; dropping a managed table
//! deletes its files).

use deltalake::datafusion::sql::sqlparser::ast::{Ident, ObjectName, ObjectNamePart, ObjectType};
use lakeplane_core::catalog::{FullName, SchemaName, TableType};

use crate::error::EngineResult;
use crate::script::Script;
use crate::{Engine, ExecContext};

/// A column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDesc {
    pub name: String,
    /// `int`, `string`, `decimal(10,2)`, …
    pub type_text: String,
    /// Unity Catalog's `ColumnTypeName`: INT, LONG, STRING, DECIMAL, …
    pub type_name: &'static str,
    pub position: usize,
    pub nullable: bool,
    pub comment: Option<String>,
    pub partition_index: Option<usize>,
}

fn object_name(parts: &[&str]) -> ObjectName {
    ObjectName(
        parts
            .iter()
            .map(|p| ObjectNamePart::Identifier(Ident::with_quote('`', *p)))
            .collect(),
    )
}

impl Engine {
    /// The columns of a table or view.
    pub async fn table_columns(
        &self,
        ctx: &ExecContext,
        name: &FullName,
    ) -> EngineResult<Vec<ColumnDesc>> {
        let script = Script::new(self, ctx)?;
        let info = script.table_info(name).await?;
        let schema = script.schema_of(name).await?;
        let partitions = match info.table_type {
            TableType::View => vec![],
            _ => {
                let (_, delta) = script.delta_table(name).await?;
                delta.snapshot()?.metadata().partition_columns().to_vec()
            }
        };
        Ok(schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| ColumnDesc {
                name: f.name().clone(),
                type_text: crate::show::type_name(f.data_type()),
                type_name: crate::show::type_enum(f.data_type()),
                position: i,
                nullable: f.is_nullable(),
                comment: f.metadata().get("comment").cloned(),
                partition_index: partitions.iter().position(|p| p == f.name()),
            })
            .collect())
    }

    /// `CREATE CATALOG [IF NOT EXISTS]`, as the caller.
    pub async fn create_catalog(
        &self,
        ctx: &ExecContext,
        name: &str,
        comment: Option<String>,
    ) -> EngineResult<()> {
        Script::new(self, ctx)?
            .create_catalog(name, false, comment)
            .await
            .map(|_| ())
    }

    /// `DROP CATALOG [CASCADE]`.
    pub async fn drop_catalog(
        &self,
        ctx: &ExecContext,
        name: &str,
        cascade: bool,
    ) -> EngineResult<()> {
        Script::new(self, ctx)?
            .drop_catalog(name, false, cascade)
            .await
            .map(|_| ())
    }

    /// `CREATE SCHEMA` with a comment and properties.
    pub async fn create_schema(
        &self,
        ctx: &ExecContext,
        name: &SchemaName,
        comment: Option<String>,
        properties: Vec<(String, String)>,
    ) -> EngineResult<()> {
        let object = object_name(&[&name.catalog, &name.schema]);
        Script::new(self, ctx)?
            .create_schema(&object, false, comment, properties)
            .await
            .map(|_| ())
    }

    /// `DROP SCHEMA [CASCADE]`.
    pub async fn drop_schema(
        &self,
        ctx: &ExecContext,
        name: &SchemaName,
        cascade: bool,
    ) -> EngineResult<()> {
        let object = object_name(&[&name.catalog, &name.schema]);
        Script::new(self, ctx)?
            .drop_schemas(&[object], false, cascade)
            .await
            .map(|_| ())
    }

    /// `CREATE TABLE name [COMMENT …] [TBLPROPERTIES (…)] LOCATION 'location'` over an existing
    /// Delta table: an external table whose schema is its log's.
    pub async fn create_external_table(
        &self,
        ctx: &ExecContext,
        name: &FullName,
        location: &str,
        comment: Option<String>,
        properties: Vec<(String, String)>,
    ) -> EngineResult<()> {
        let ct = crate::sql::ast::CreateTable {
            name: object_name(&[&name.catalog, &name.schema, &name.name]),
            or_replace: false,
            if_not_exists: false,
            columns: vec![],
            checks: vec![],
            partitioned_by: vec![],
            location: Some(location.to_string()),
            comment,
            properties,
            query: None,
        };
        Script::new(self, ctx)?
            .create_table(0, ct)
            .await
            .map(|_| ())
    }

    /// `DROP TABLE` or `DROP VIEW`, whichever it is.
    pub async fn drop_table(&self, ctx: &ExecContext, name: &FullName) -> EngineResult<()> {
        let script = Script::new(self, ctx)?;
        let kind = match script.table_info(name).await?.table_type {
            TableType::View => ObjectType::View,
            _ => ObjectType::Table,
        };
        let object = object_name(&[&name.catalog, &name.schema, &name.name]);
        script.drop_tables(&[object], false, kind).await.map(|_| ())
    }
}

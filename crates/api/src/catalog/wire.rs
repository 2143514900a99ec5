//! Unity Catalog's bodies: CatalogInfo, SchemaInfo, TableInfo with ColumnInfo, in the shapes the
//! SDK reads.

use std::collections::BTreeMap;

use lakeplane_core::catalog::{CatalogInfo, SchemaInfo, TableInfo, TableType};
use lakeplane_engine::securables::ColumnDesc;
use lakeplane_http::extract::lenient;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The one metastore's id.
pub const METASTORE_ID: &str = "lakeplane-metastore";

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogResponse {
    pub name: String,
    pub full_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub properties: BTreeMap<String, String>,
    pub owner: String,
    pub created_at: i64,
    pub created_by: String,
    pub id: String,
    pub metastore_id: String,
    pub catalog_type: String,
    pub securable_type: String,
    pub isolation_mode: String,
    pub browse_only: bool,
}

impl From<&CatalogInfo> for CatalogResponse {
    fn from(c: &CatalogInfo) -> CatalogResponse {
        CatalogResponse {
            name: c.name.clone(),
            full_name: c.name.clone(),
            comment: c.comment.clone(),
            properties: c.properties.clone(),
            owner: c.owner.clone(),
            created_at: c.created_at,
            created_by: c.created_by.clone(),
            id: c.id.clone(),
            metastore_id: METASTORE_ID.into(),
            catalog_type: "MANAGED_CATALOG".into(),
            securable_type: "CATALOG".into(),
            isolation_mode: "OPEN".into(),
            browse_only: false,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SchemaResponse {
    pub name: String,
    pub catalog_name: String,
    pub full_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub properties: BTreeMap<String, String>,
    pub owner: String,
    pub created_at: i64,
    pub created_by: String,
    pub schema_id: String,
    pub metastore_id: String,
    pub catalog_type: String,
    pub securable_type: String,
}

impl From<&SchemaInfo> for SchemaResponse {
    fn from(s: &SchemaInfo) -> SchemaResponse {
        SchemaResponse {
            name: s.name.clone(),
            catalog_name: s.catalog_name.clone(),
            full_name: s.full_name().to_string(),
            comment: s.comment.clone(),
            properties: s.properties.clone(),
            owner: s.owner.clone(),
            created_at: s.created_at,
            created_by: s.created_by.clone(),
            schema_id: s.id.clone(),
            metastore_id: METASTORE_ID.into(),
            catalog_type: "MANAGED_CATALOG".into(),
            securable_type: "SCHEMA".into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnInfo {
    pub name: String,
    pub type_text: String,
    pub type_name: String,
    /// A Spark `StructField` as JSON text.
    pub type_json: String,
    pub position: usize,
    pub nullable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_index: Option<usize>,
}

/// Spark's JSON name of a simple type (`int` is `integer`, `bigint` is `long`, …).
fn spark_json_type(type_text: &str) -> String {
    match type_text {
        "int" => "integer".into(),
        "bigint" => "long".into(),
        "smallint" => "short".into(),
        "tinyint" => "byte".into(),
        other => other.into(),
    }
}

impl From<&ColumnDesc> for ColumnInfo {
    fn from(c: &ColumnDesc) -> ColumnInfo {
        let mut metadata = serde_json::Map::new();
        if let Some(comment) = &c.comment {
            metadata.insert("comment".into(), comment.clone().into());
        }
        let type_json = serde_json::json!({
            "name": c.name, "type": spark_json_type(&c.type_text),
            "nullable": c.nullable, "metadata": metadata,
        });
        ColumnInfo {
            name: c.name.clone(),
            type_text: c.type_text.clone(),
            type_name: c.type_name.into(),
            type_json: type_json.to_string(),
            position: c.position,
            nullable: c.nullable,
            comment: c.comment.clone(),
            partition_index: c.partition_index,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TableResponse {
    pub name: String,
    pub catalog_name: String,
    pub schema_name: String,
    pub full_name: String,
    /// MANAGED, EXTERNAL or VIEW.
    pub table_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_source_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view_definition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<ColumnInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub properties: BTreeMap<String, String>,
    pub owner: String,
    pub table_id: String,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
    pub metastore_id: String,
    pub securable_type: String,
}

pub fn table_type(t: TableType) -> &'static str {
    match t {
        TableType::Managed => "MANAGED",
        TableType::External => "EXTERNAL",
        TableType::View => "VIEW",
    }
}

impl TableResponse {
    pub fn new(t: &TableInfo, columns: Option<Vec<ColumnInfo>>) -> TableResponse {
        TableResponse {
            name: t.name.clone(),
            catalog_name: t.catalog_name.clone(),
            schema_name: t.schema_name.clone(),
            full_name: t.full_name().to_string(),
            table_type: table_type(t.table_type).into(),
            data_source_format: t.data_source_format.clone(),
            storage_location: t.storage_location.clone(),
            view_definition: t.view_definition.as_ref().map(|v| v.sql.clone()),
            columns,
            comment: t.comment.clone(),
            properties: t.properties.clone(),
            owner: t.owner.clone(),
            table_id: t.table_id.clone(),
            created_at: t.created_at,
            created_by: t.created_by.clone(),
            updated_at: t.updated_at,
            updated_by: t.updated_by.clone(),
            metastore_id: METASTORE_ID.into(),
            securable_type: "TABLE".into(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCatalog {
    pub name: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub properties: Option<BTreeMap<String, String>>,
    #[allow(dead_code)] // accepted and ignored: managed tables live under the storage root
    #[serde(default)]
    pub storage_root: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSchema {
    pub name: String,
    pub catalog_name: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub properties: Option<BTreeMap<String, String>>,
    #[allow(dead_code)] // accepted and ignored: managed tables live under the storage root
    #[serde(default)]
    pub storage_root: Option<String>,
}

/// PATCH of a catalog or schema.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateSecurable {
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub properties: Option<BTreeMap<String, String>>,
    /// Renames are not supported yet; giving one is an error.
    #[serde(default)]
    pub new_name: Option<String>,
}

/// `POST /tables`: registers an existing Delta table as an external table.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTable {
    pub name: String,
    pub catalog_name: String,
    pub schema_name: String,
    /// EXTERNAL (managed tables are made with SQL).
    pub table_type: String,
    /// DELTA.
    pub data_source_format: String,
    pub storage_location: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub properties: Option<BTreeMap<String, String>>,
    /// Accepted; the table's columns are its Delta log's.
    #[allow(dead_code)]
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub columns: Option<Vec<serde_json::Value>>,
}

/// PATCH of a table.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateTable {
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// 0 (or absent) lets the server choose; at most 1000.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub max_results: Option<u64>,
    #[serde(default)]
    pub page_token: Option<String>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub include_browse: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListSchemas {
    pub catalog_name: String,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTables {
    pub catalog_name: String,
    pub schema_name: String,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub omit_columns: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub omit_properties: Option<bool>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TableSummaries {
    pub catalog_name: String,
    #[serde(default)]
    pub schema_name_pattern: Option<String>,
    #[serde(default)]
    pub table_name_pattern: Option<String>,
    #[serde(flatten)]
    pub paging: Paging,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Force {
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub force: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListCatalogsResponse {
    pub catalogs: Vec<CatalogResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListSchemasResponse {
    pub schemas: Vec<SchemaResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListTablesResponse {
    pub tables: Vec<TableResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TableSummary {
    pub full_name: String,
    pub table_type: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TableSummariesResponse {
    pub tables: Vec<TableSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TableExists {
    pub table_exists: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetastoreSummary {
    pub metastore_id: String,
    pub name: String,
    pub owner: String,
    pub cloud: String,
    pub region: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

//! The catalog: catalogs → schemas → tables and views, Unity Catalog's three-level namespace.
//!
//! These are the securables and the [`Metastore`] port the engine resolves names through. The
//! control plane keeps them in the state store (the same on SQLite and DynamoDB), so the catalog
//! never depends on listing folders and reads the same on a local disk and on S3. A table's data
//! lives at its `storage_location`: under the storage root for a managed table (a fresh folder per
//! table, so a dropped and re-created table never reuses files), where the user said for an
//! external one.

mod function;
pub mod grants;
mod names;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use function::{FunctionInfo, FunctionParameter, MAX_FUNCTION_PARAMETERS, WASM_LANGUAGE};
pub use grants::{
    Denied, GrantChange, Grants, Held, Identity, Kind, Lineage, Privilege, Securable,
};
pub use names::{check_name, FullName, SchemaName, MAX_NAME_CHARS};

/// The catalog every metastore has.
pub const MAIN_CATALOG: &str = "main";
/// The schema every catalog starts with.
pub const DEFAULT_SCHEMA: &str = "default";
/// The longest comment kept, in bytes.
pub const MAX_COMMENT_BYTES: usize = 4096;
/// The most table properties, and the longest key or value, in bytes.
pub const MAX_PROPERTIES: usize = 256;
pub const MAX_PROPERTY_BYTES: usize = 4096;
/// The longest view definition, in bytes.
pub const MAX_VIEW_SQL_BYTES: usize = 256 * 1024;

/// A backend's error, kept as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a catalog operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// `kind` is "Catalog", "Schema" or "Table".
    #[error("{kind} '{name}' does not exist.")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} '{name}' already exists.")]
    AlreadyExists { kind: &'static str, name: String },
    /// A catalog or schema that still holds objects, dropped without `CASCADE`.
    #[error("{kind} '{name}' is not empty: it contains {what}. Use CASCADE to drop it with its contents.")]
    NotEmpty {
        kind: &'static str,
        name: String,
        what: String,
    },
    #[error("{0}")]
    Invalid(String),
    /// The catalog's store failed or kept conflicting; trying again later may work.
    #[error("the catalog is unavailable: {source}")]
    Unavailable {
        #[source]
        source: BoxError,
    },
}

pub type CatalogResult<T> = Result<T, CatalogError>;

/// A catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogInfo {
    pub name: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    pub owner: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub created_by: String,
    pub id: String,
}

/// A schema (database) in a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaInfo {
    pub catalog_name: String,
    pub name: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    pub owner: String,
    pub created_at: i64,
    pub created_by: String,
    pub id: String,
}

impl SchemaInfo {
    pub fn full_name(&self) -> SchemaName {
        SchemaName {
            catalog: self.catalog_name.clone(),
            schema: self.name.clone(),
        }
    }
}

/// What a table entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TableType {
    /// A Delta table whose files lakeplane owns, under the storage root; dropping it deletes them.
    Managed,
    /// A Delta table at a location the user gave; dropping it leaves the files.
    External,
    /// A stored query.
    View,
}

/// A view's query and the names its unqualified references resolve against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewDefinition {
    pub sql: String,
    pub catalog: String,
    pub schema: String,
}

/// A table or view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInfo {
    pub catalog_name: String,
    pub schema_name: String,
    pub name: String,
    pub table_type: TableType,
    /// `DELTA` for tables; `None` for views.
    #[serde(default)]
    pub data_source_format: Option<String>,
    /// The table's root URL (`file:///…/` or `s3://bucket/prefix/`); `None` for views.
    #[serde(default)]
    pub storage_location: Option<String>,
    #[serde(default)]
    pub view_definition: Option<ViewDefinition>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    pub owner: String,
    pub table_id: String,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
}

impl TableInfo {
    pub fn full_name(&self) -> FullName {
        FullName {
            catalog: self.catalog_name.clone(),
            schema: self.schema_name.clone(),
            name: self.name.clone(),
        }
    }

    /// Checks the sizes of what a user wrote into the entry.
    pub fn validate(&self) -> CatalogResult<()> {
        check_comment(self.comment.as_deref())?;
        check_properties(&self.properties)?;
        if let Some(v) = &self.view_definition {
            if v.sql.len() > MAX_VIEW_SQL_BYTES {
                return Err(CatalogError::Invalid(format!(
                    "the view's query is longer than {MAX_VIEW_SQL_BYTES} bytes"
                )));
            }
        }
        Ok(())
    }
}

/// Checks a comment's size.
pub fn check_comment(comment: Option<&str>) -> CatalogResult<()> {
    match comment {
        Some(c) if c.len() > MAX_COMMENT_BYTES => Err(CatalogError::Invalid(format!(
            "a comment is at most {MAX_COMMENT_BYTES} bytes"
        ))),
        _ => Ok(()),
    }
}

/// Checks the number and sizes of properties.
pub fn check_properties(props: &BTreeMap<String, String>) -> CatalogResult<()> {
    if props.len() > MAX_PROPERTIES {
        return Err(CatalogError::Invalid(format!(
            "at most {MAX_PROPERTIES} properties are kept"
        )));
    }
    if props
        .iter()
        .any(|(k, v)| k.len() > MAX_PROPERTY_BYTES || v.len() > MAX_PROPERTY_BYTES)
    {
        return Err(CatalogError::Invalid(format!(
            "a property key or value is at most {MAX_PROPERTY_BYTES} bytes"
        )));
    }
    Ok(())
}

/// A change to a table entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableUpdate {
    Comment(Option<String>),
    /// Sets these properties and removes those named in `unset`.
    Properties {
        set: BTreeMap<String, String>,
        unset: Vec<String>,
    },
    /// `CREATE OR REPLACE`: the entry becomes this one (the table id and creation stay).
    Replace(Box<TableInfo>),
    /// A new owner.
    Owner(String),
}

/// A change to a catalog or schema: each field set is changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurableUpdate {
    pub comment: Option<Option<String>>,
    pub properties: Option<BTreeMap<String, String>>,
    pub owner: Option<String>,
}

impl SecurableUpdate {
    /// Applies the change to an entry's fields, checking sizes.
    pub fn apply(
        &self,
        comment: &mut Option<String>,
        properties: &mut BTreeMap<String, String>,
        owner: &mut String,
    ) -> CatalogResult<()> {
        if let Some(c) = &self.comment {
            check_comment(c.as_deref())?;
            *comment = c.clone();
        }
        if let Some(p) = &self.properties {
            check_properties(p)?;
            *properties = p.clone();
        }
        if let Some(o) = &self.owner {
            if o.trim().is_empty() || o.len() > 255 {
                return Err(CatalogError::Invalid(
                    "an owner is 1 to 255 characters".into(),
                ));
            }
            *owner = o.clone();
        }
        Ok(())
    }
}

/// The catalog port. Names are checked and lower-cased by the caller ([`FullName::new`]).
/// Catalog `main` and its schema `default` always exist and cannot be dropped.
#[async_trait]
pub trait Metastore: Send + Sync + std::fmt::Debug + 'static {
    /// Errors: `AlreadyExists`.
    async fn create_catalog(&self, catalog: CatalogInfo) -> CatalogResult<CatalogInfo>;
    /// Errors: `NotFound`.
    async fn get_catalog(&self, name: &str) -> CatalogResult<CatalogInfo>;
    /// Every catalog, by name.
    async fn list_catalogs(&self) -> CatalogResult<Vec<CatalogInfo>>;
    /// Changes a catalog's comment, properties or owner. Errors: `NotFound`.
    async fn update_catalog(
        &self,
        name: &str,
        update: SecurableUpdate,
    ) -> CatalogResult<CatalogInfo>;
    /// Drops a catalog; with `cascade`, its schemas and tables too, returning the tables dropped
    /// (so that the caller deletes managed tables' files). Errors: `NotFound`, `NotEmpty`.
    async fn drop_catalog(&self, name: &str, cascade: bool) -> CatalogResult<Vec<TableInfo>>;

    /// Errors: `AlreadyExists`; `NotFound` for the catalog.
    async fn create_schema(&self, schema: SchemaInfo) -> CatalogResult<SchemaInfo>;
    async fn get_schema(&self, name: &SchemaName) -> CatalogResult<SchemaInfo>;
    /// The schemas of a catalog, by name. Errors: `NotFound` for the catalog.
    async fn list_schemas(&self, catalog: &str) -> CatalogResult<Vec<SchemaInfo>>;
    /// Changes a schema's comment, properties or owner. Errors: `NotFound`.
    async fn update_schema(
        &self,
        name: &SchemaName,
        update: SecurableUpdate,
    ) -> CatalogResult<SchemaInfo>;
    /// As [`Metastore::drop_catalog`], for a schema.
    async fn drop_schema(&self, name: &SchemaName, cascade: bool) -> CatalogResult<Vec<TableInfo>>;

    /// Errors: `AlreadyExists`; `NotFound` for the schema.
    async fn create_table(&self, table: TableInfo) -> CatalogResult<TableInfo>;
    async fn get_table(&self, name: &FullName) -> CatalogResult<TableInfo>;
    /// The tables and views of a schema, by name. Errors: `NotFound` for the schema.
    async fn list_tables(&self, schema: &SchemaName) -> CatalogResult<Vec<TableInfo>>;
    /// Applies `update` by `principal`; returns the entry as stored.
    async fn update_table(
        &self,
        name: &FullName,
        update: TableUpdate,
        principal: &str,
    ) -> CatalogResult<TableInfo>;
    /// Renames a table within the metastore; its data stays where it is. Errors: `NotFound`,
    /// `AlreadyExists` for `to`.
    async fn rename_table(&self, from: &FullName, to: &FullName) -> CatalogResult<TableInfo>;
    /// Removes the entry and returns it. Errors: `NotFound`.
    async fn drop_table(&self, name: &FullName) -> CatalogResult<TableInfo>;

    /// The grants on the object with this id (none when nothing was granted).
    async fn grants(&self, object_id: &str) -> CatalogResult<Grants>;
    /// Changes the grants on the object with this id, of `kind`; returns them as stored.
    async fn update_grants(
        &self,
        object_id: &str,
        kind: Kind,
        changes: &[GrantChange],
    ) -> CatalogResult<Grants>;

    /// Creates a function; with `replace`, an existing one of that name is replaced (keeping its
    /// id, so its grants stay). Errors: `AlreadyExists` without `replace`; `NotFound` for the
    /// schema.
    async fn create_function(
        &self,
        function: FunctionInfo,
        replace: bool,
    ) -> CatalogResult<FunctionInfo>;
    /// Errors: `NotFound`.
    async fn get_function(&self, name: &FullName) -> CatalogResult<FunctionInfo>;
    /// The functions of a schema, by name. Errors: `NotFound` for the schema.
    async fn list_functions(&self, schema: &SchemaName) -> CatalogResult<Vec<FunctionInfo>>;
    /// Removes the entry and returns it. Errors: `NotFound`.
    async fn drop_function(&self, name: &FullName) -> CatalogResult<FunctionInfo>;

    /// A securable with those above it, each with its owner and grants (for [`Lineage::check`]).
    /// Errors: `NotFound` for the first that does not exist.
    async fn lineage(&self, securable: &Securable) -> CatalogResult<Lineage> {
        let mut out = Vec::new();
        for s in securable.path() {
            let (owner, id) = match &s {
                Securable::Catalog(c) => {
                    let c = self.get_catalog(c).await?;
                    (c.owner, c.id)
                }
                Securable::Schema(n) => {
                    let s = self.get_schema(n).await?;
                    (s.owner, s.id)
                }
                Securable::Table(n) => {
                    let t = self.get_table(n).await?;
                    (t.owner, t.table_id)
                }
                Securable::Function(n) => {
                    let f = self.get_function(n).await?;
                    (f.owner, f.function_id)
                }
            };
            let grants = self.grants(&id).await?;
            out.push(Held {
                securable: s,
                owner,
                grants,
            });
        }
        Ok(Lineage(out))
    }
}

//! How the catalog's records are laid out: catalogs, schemas, tables and views, the grants on
//! them, and the principals and groups grants name.

use lakeplane_core::catalog::{
    CatalogInfo, FullName, FunctionInfo, SchemaInfo, SchemaName, TableInfo,
};
use lakeplane_store::{IndexEntry, Item, Key};

use super::{CATALOGS, GROUPS, PRINCIPALS};
use crate::catalogs::GrantsDoc;
use crate::doc::Record;
use crate::principals::{group_alias, principal_alias, GroupDoc, PrincipalDoc};

/// The listing of a catalog's schemas, by name.
pub fn schemas_of(catalog: &str) -> String {
    format!("CATALOG#{catalog}#SCHEMAS")
}

/// The listing of a schema's tables and views, by name.
pub fn tables_of(schema: &SchemaName) -> String {
    format!("SCHEMA#{schema}#TABLES")
}

/// The listing of a schema's functions, by name.
pub fn functions_of(schema: &SchemaName) -> String {
    format!("SCHEMA#{schema}#FUNCTIONS")
}

impl Record for CatalogInfo {
    const KIND: &'static str = "Catalog";
    type Id = String;

    fn key_of(name: &String) -> Key {
        Key::new(format!("CATALOG#{name}"), "CATALOG")
    }

    fn id(&self) -> String {
        self.name.clone()
    }

    fn layout(&self, item: &mut Item) {
        item.collection = Some(IndexEntry::new(CATALOGS, self.name.clone()));
    }
}

impl Record for SchemaInfo {
    const KIND: &'static str = "Schema";
    type Id = SchemaName;

    fn key_of(name: &SchemaName) -> Key {
        Key::new(format!("SCHEMA#{name}"), "SCHEMA")
    }

    fn id(&self) -> SchemaName {
        self.full_name()
    }

    fn layout(&self, item: &mut Item) {
        item.parent = Some(IndexEntry::new(
            schemas_of(&self.catalog_name),
            self.name.clone(),
        ));
    }
}

impl Record for TableInfo {
    const KIND: &'static str = "Table";
    type Id = FullName;

    fn key_of(name: &FullName) -> Key {
        Key::new(format!("TABLE#{name}"), "TABLE")
    }

    fn id(&self) -> FullName {
        self.full_name()
    }

    fn layout(&self, item: &mut Item) {
        item.parent = Some(IndexEntry::new(
            tables_of(&self.full_name().schema_name()),
            self.name.clone(),
        ));
    }
}

impl Record for FunctionInfo {
    const KIND: &'static str = "Function";
    type Id = FullName;

    fn key_of(name: &FullName) -> Key {
        Key::new(format!("FUNCTION#{name}"), "FUNCTION")
    }

    fn id(&self) -> FullName {
        self.full_name()
    }

    fn layout(&self, item: &mut Item) {
        item.parent = Some(IndexEntry::new(
            functions_of(&self.full_name().schema_name()),
            self.name.clone(),
        ));
    }
}

impl Record for GrantsDoc {
    const KIND: &'static str = "Grants";
    type Id = String;

    /// By the object's id, not its name.
    fn key_of(object_id: &String) -> Key {
        Key::new(format!("GRANTS#{object_id}"), "GRANTS")
    }

    fn id(&self) -> String {
        self.object_id.clone()
    }
}

impl Record for PrincipalDoc {
    const KIND: &'static str = "Principal";
    type Id = String;

    fn key_of(id: &String) -> Key {
        Key::new(format!("PRINCIPAL#{id}"), "PRINCIPAL")
    }

    fn id(&self) -> String {
        self.id.clone()
    }

    /// Unique by name: the alias makes a second principal of one name fail to insert.
    fn layout(&self, item: &mut Item) {
        item.collection = Some(IndexEntry::new(PRINCIPALS, self.id.clone()));
        item.alias = Some(principal_alias(&self.name));
    }
}

impl Record for GroupDoc {
    const KIND: &'static str = "Group";
    type Id = String;

    fn key_of(id: &String) -> Key {
        Key::new(format!("GROUP#{id}"), "GROUP")
    }

    fn id(&self) -> String {
        self.id.clone()
    }

    fn layout(&self, item: &mut Item) {
        item.collection = Some(IndexEntry::new(GROUPS, self.id.clone()));
        item.alias = Some(group_alias(&self.display_name));
    }
}

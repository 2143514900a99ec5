//! Who may do what: privileges granted on catalogs, schemas and tables to principals (users,
//! service principals, groups), inherited down the hierarchy, and the one access check every path
//! that reads or writes data goes through ([`Lineage::check`]).
//!
//! The rules, as Unity Catalog's: reading a table needs `USE CATALOG` on its catalog, `USE SCHEMA`
//! on its schema and `SELECT` on it (each may be granted on an ancestor: `SELECT` on a catalog
//! covers its tables); `ALL PRIVILEGES` stands for every privilege; the owner of an object, or of
//! any object above it, may do everything with it; admins may do everything. Grants are kept by
//! the object's id, so a table dropped and created again under the same name starts with none.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

mod access;

pub use access::{Denied, Held, Identity, Lineage};

use super::{CatalogError, CatalogResult, FullName, SchemaName};

/// The group every principal is in.
pub const ACCOUNT_USERS: &str = "account users";
/// The group whose members may do everything.
pub const ADMINS: &str = "admins";
/// The most principals one object's grants name.
pub const MAX_GRANTEES: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Privilege {
    AllPrivileges,
    UseCatalog,
    UseSchema,
    CreateSchema,
    CreateTable,
    Select,
    Modify,
    /// Creating functions in a schema (granted on the schema or its catalog).
    CreateFunction,
    /// Calling a function (granted on it, its schema or its catalog).
    Execute,
}

impl Privilege {
    pub const ALL: [Privilege; 9] = [
        Privilege::AllPrivileges,
        Privilege::UseCatalog,
        Privilege::UseSchema,
        Privilege::CreateSchema,
        Privilege::CreateTable,
        Privilege::Select,
        Privilege::Modify,
        Privilege::CreateFunction,
        Privilege::Execute,
    ];

    /// The REST API's name: `USE_CATALOG`.
    pub fn name(self) -> &'static str {
        match self {
            Privilege::AllPrivileges => "ALL_PRIVILEGES",
            Privilege::UseCatalog => "USE_CATALOG",
            Privilege::UseSchema => "USE_SCHEMA",
            Privilege::CreateSchema => "CREATE_SCHEMA",
            Privilege::CreateTable => "CREATE_TABLE",
            Privilege::Select => "SELECT",
            Privilege::Modify => "MODIFY",
            Privilege::CreateFunction => "CREATE_FUNCTION",
            Privilege::Execute => "EXECUTE",
        }
    }

    /// SQL's name: `USE CATALOG`.
    pub fn sql(self) -> String {
        self.name().replace('_', " ")
    }

    /// `USE CATALOG`, `use_catalog`, `ALL`, … in any case.
    pub fn parse(s: &str) -> Option<Privilege> {
        let norm = s.trim().to_ascii_uppercase().replace([' ', '-'], "_");
        if norm == "ALL" {
            return Some(Privilege::AllPrivileges);
        }
        Privilege::ALL.into_iter().find(|p| p.name() == norm)
    }

    /// Whether it may be granted on a securable of this kind.
    pub fn applies_to(self, kind: Kind) -> bool {
        match kind {
            Kind::Catalog => true,
            Kind::Schema => !matches!(self, Privilege::UseCatalog | Privilege::CreateSchema),
            Kind::Table => matches!(
                self,
                Privilege::AllPrivileges | Privilege::Select | Privilege::Modify
            ),
            Kind::Function => matches!(self, Privilege::AllPrivileges | Privilege::Execute),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    Catalog,
    Schema,
    Table,
    Function,
}

impl Kind {
    /// `catalog`, `SCHEMA`, `table` or `view` (a view is a table here), any case.
    pub fn parse(s: &str) -> Option<Kind> {
        match s.to_ascii_lowercase().as_str() {
            "catalog" => Some(Kind::Catalog),
            "schema" | "database" => Some(Kind::Schema),
            "table" | "view" => Some(Kind::Table),
            "function" => Some(Kind::Function),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Catalog => "CATALOG",
            Kind::Schema => "SCHEMA",
            Kind::Table => "TABLE",
            Kind::Function => "FUNCTION",
        }
    }

    /// As messages say it: `Catalog`.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Catalog => "Catalog",
            Kind::Schema => "Schema",
            Kind::Table => "Table",
            Kind::Function => "Function",
        }
    }
}

/// Something privileges are granted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Securable {
    Catalog(String),
    Schema(SchemaName),
    Table(FullName),
    Function(FullName),
}

impl Securable {
    /// From a kind and a full name (`main`, `main.default`, `main.default.t`).
    pub fn parse(kind: Kind, full_name: &str) -> CatalogResult<Securable> {
        let parts: Vec<&str> = full_name.split('.').collect();
        match (kind, parts.as_slice()) {
            (Kind::Catalog, [c]) => Ok(Securable::Catalog(super::check_name("catalog", c)?)),
            (Kind::Schema, [c, s]) => Ok(Securable::Schema(SchemaName::new(c, s)?)),
            (Kind::Table, [c, s, t]) => Ok(Securable::Table(FullName::new(c, s, t)?)),
            (Kind::Function, [c, s, f]) => Ok(Securable::Function(FullName::new(c, s, f)?)),
            _ => Err(CatalogError::Invalid(format!(
                "'{full_name}' is not the full name of a {}",
                kind.name().to_lowercase()
            ))),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Securable::Catalog(_) => Kind::Catalog,
            Securable::Schema(_) => Kind::Schema,
            Securable::Table(_) => Kind::Table,
            Securable::Function(_) => Kind::Function,
        }
    }

    pub fn full_name(&self) -> String {
        match self {
            Securable::Catalog(c) => c.clone(),
            Securable::Schema(s) => s.to_string(),
            Securable::Table(t) | Securable::Function(t) => t.to_string(),
        }
    }

    /// The catalog, then the schema, then the table: this securable and those above it.
    pub fn path(&self) -> Vec<Securable> {
        match self {
            Securable::Catalog(_) => vec![self.clone()],
            Securable::Schema(s) => vec![Securable::Catalog(s.catalog.clone()), self.clone()],
            Securable::Table(t) | Securable::Function(t) => vec![
                Securable::Catalog(t.catalog.clone()),
                Securable::Schema(t.schema_name()),
                self.clone(),
            ],
        }
    }
}

impl std::fmt::Display for Securable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} '{}'", self.kind().title(), self.full_name())
    }
}

/// A change to one principal's privileges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantChange {
    pub principal: String,
    pub add: Vec<Privilege>,
    pub remove: Vec<Privilege>,
}

/// The privileges granted on one object, by principal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    pub by_principal: BTreeMap<String, BTreeSet<Privilege>>,
}

impl Grants {
    /// Applies changes to grants on an object of `kind`: additions first, then removals.
    pub fn apply(&mut self, kind: Kind, changes: &[GrantChange]) -> CatalogResult<()> {
        for c in changes {
            let principal = c.principal.trim();
            if principal.is_empty() || principal.len() > 255 {
                return Err(CatalogError::Invalid(
                    "a principal is 1 to 255 characters".into(),
                ));
            }
            for p in c.add.iter().chain(&c.remove) {
                if !p.applies_to(kind) {
                    return Err(CatalogError::Invalid(format!(
                        "{} cannot be granted on a {}",
                        p.sql(),
                        kind.name().to_lowercase()
                    )));
                }
            }
            let set = self.by_principal.entry(principal.to_string()).or_default();
            set.extend(c.add.iter().copied());
            for p in &c.remove {
                set.remove(p);
            }
            if set.is_empty() {
                self.by_principal.remove(principal);
            }
        }
        if self.by_principal.len() > MAX_GRANTEES {
            return Err(CatalogError::Invalid(format!(
                "an object's grants name at most {MAX_GRANTEES} principals"
            )));
        }
        Ok(())
    }

    fn has(&self, who: &Identity, p: Privilege) -> bool {
        self.by_principal.iter().any(|(principal, set)| {
            who.is(principal) && (set.contains(&p) || set.contains(&Privilege::AllPrivileges))
        })
    }
}

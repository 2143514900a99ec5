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
}

impl Privilege {
    pub const ALL: [Privilege; 7] = [
        Privilege::AllPrivileges,
        Privilege::UseCatalog,
        Privilege::UseSchema,
        Privilege::CreateSchema,
        Privilege::CreateTable,
        Privilege::Select,
        Privilege::Modify,
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
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    Catalog,
    Schema,
    Table,
}

impl Kind {
    /// `catalog`, `SCHEMA`, `table` or `view` (a view is a table here), any case.
    pub fn parse(s: &str) -> Option<Kind> {
        match s.to_ascii_lowercase().as_str() {
            "catalog" => Some(Kind::Catalog),
            "schema" | "database" => Some(Kind::Schema),
            "table" | "view" => Some(Kind::Table),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Catalog => "CATALOG",
            Kind::Schema => "SCHEMA",
            Kind::Table => "TABLE",
        }
    }

    /// As messages say it: `Catalog`.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Catalog => "Catalog",
            Kind::Schema => "Schema",
            Kind::Table => "Table",
        }
    }
}

/// Something privileges are granted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Securable {
    Catalog(String),
    Schema(SchemaName),
    Table(FullName),
}

impl Securable {
    /// From a kind and a full name (`main`, `main.default`, `main.default.t`).
    pub fn parse(kind: Kind, full_name: &str) -> CatalogResult<Securable> {
        let parts: Vec<&str> = full_name.split('.').collect();
        match (kind, parts.as_slice()) {
            (Kind::Catalog, [c]) => Ok(Securable::Catalog(super::check_name("catalog", c)?)),
            (Kind::Schema, [c, s]) => Ok(Securable::Schema(SchemaName::new(c, s)?)),
            (Kind::Table, [c, s, t]) => Ok(Securable::Table(FullName::new(c, s, t)?)),
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
        }
    }

    pub fn full_name(&self) -> String {
        match self {
            Securable::Catalog(c) => c.clone(),
            Securable::Schema(s) => s.to_string(),
            Securable::Table(t) => t.to_string(),
        }
    }

    /// The catalog, then the schema, then the table: this securable and those above it.
    pub fn path(&self) -> Vec<Securable> {
        match self {
            Securable::Catalog(_) => vec![self.clone()],
            Securable::Schema(s) => vec![Securable::Catalog(s.catalog.clone()), self.clone()],
            Securable::Table(t) => vec![
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

/// Who is acting: a user (or service principal), the groups they are in, and whether they are an
/// admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
    pub admin: bool,
}

impl Identity {
    /// An admin: may do everything (the platform's own work, tests, `lakeplane dev`'s demo).
    pub fn admin(user: impl Into<String>) -> Identity {
        Identity {
            user: user.into(),
            groups: vec![ADMINS.into()],
            admin: true,
        }
    }

    /// A user in `groups`; an admin when one of them is [`ADMINS`].
    pub fn user(user: impl Into<String>, groups: Vec<String>) -> Identity {
        let admin = groups.iter().any(|g| g == ADMINS);
        Identity {
            user: user.into(),
            groups,
            admin,
        }
    }

    /// Whether grants to `principal` are this identity's.
    pub fn is(&self, principal: &str) -> bool {
        principal == self.user
            || principal == ACCOUNT_USERS
            || self.groups.iter().any(|g| g == principal)
    }
}

/// One object of a lineage: what it is, who owns it, what is granted on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub securable: Securable,
    pub owner: String,
    pub grants: Grants,
}

/// Why access was denied: the first privilege missing, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("User does not have {} on {securable}.", privilege.sql())]
pub struct Denied {
    pub privilege: Privilege,
    pub securable: Securable,
}

/// An object and those above it, catalog first, each with its owner and grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lineage(pub Vec<Held>);

impl Lineage {
    fn holds(&self, who: &Identity, upto: usize, p: Privilege) -> bool {
        self.0.iter().take(upto + 1).any(|h| h.grants.has(who, p))
    }

    /// Whether `who` owns the object or one above it.
    pub fn owned_by(&self, who: &Identity) -> bool {
        self.0.iter().any(|h| who.is(&h.owner))
    }

    /// Whether `who` may use `p` on the last object: admins and owners may; others need `USE
    /// CATALOG` on the catalog, `USE SCHEMA` on the schema (when the object is in one) and `p`,
    /// each granted on the object or above it.
    pub fn check(&self, who: &Identity, p: Privilege) -> Result<(), Denied> {
        if who.admin || self.owned_by(who) {
            return Ok(());
        }
        let deny = |privilege, at: usize| {
            Err(Denied {
                privilege,
                securable: self.0[at].securable.clone(),
            })
        };
        let Some(last) = self.0.len().checked_sub(1) else {
            return Ok(());
        };
        if !self.holds(who, 0, Privilege::UseCatalog) {
            return deny(Privilege::UseCatalog, 0);
        }
        if last >= 1 && !self.holds(who, 1, Privilege::UseSchema) {
            return deny(Privilege::UseSchema, 1);
        }
        if matches!(p, Privilege::UseCatalog | Privilege::UseSchema) || self.holds(who, last, p) {
            return Ok(());
        }
        deny(p, last)
    }

    /// Whether `who` sees the last object in listings: they may use it and hold some privilege
    /// on it (or above it), or own it.
    pub fn visible(&self, who: &Identity) -> bool {
        if who.admin || self.owned_by(who) {
            return true;
        }
        let Some(last) = self.0.len().checked_sub(1) else {
            return false;
        };
        self.check(who, Privilege::UseCatalog).is_ok()
            && (last == 0 || self.holds(who, 1, Privilege::UseSchema))
            && Privilege::ALL.iter().any(|p| self.holds(who, last, *p))
    }

    /// Every privilege `who` holds on the last object, with where each was granted (for
    /// `effective-permissions`).
    pub fn effective(&self, who: &Identity) -> Vec<(Privilege, Securable)> {
        let mut out = Vec::new();
        for h in &self.0 {
            for (principal, set) in &h.grants.by_principal {
                if who.is(principal) {
                    for p in set {
                        out.push((*p, h.securable.clone()));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(s: Securable, owner: &str, grants: &[(&str, &[Privilege])]) -> Held {
        let mut g = Grants::default();
        for (who, ps) in grants {
            g.by_principal
                .insert(who.to_string(), ps.iter().copied().collect());
        }
        Held {
            securable: s,
            owner: owner.into(),
            grants: g,
        }
    }

    fn table(grants: [&[(&str, &[Privilege])]; 3]) -> Lineage {
        let t = FullName::new("main", "sales", "orders").unwrap();
        Lineage(vec![
            held(Securable::Catalog("main".into()), "admin", grants[0]),
            held(Securable::Schema(t.schema_name()), "admin", grants[1]),
            held(Securable::Table(t), "admin", grants[2]),
        ])
    }

    use Privilege::*;

    #[test]
    fn select_needs_use_catalog_use_schema_and_select() {
        let ann = Identity::user("ann", vec!["analysts".into()]);
        let denied = table([&[], &[], &[("ann", &[Select])]])
            .check(&ann, Select)
            .unwrap_err();
        assert_eq!(
            denied.to_string(),
            "User does not have USE CATALOG on Catalog 'main'."
        );
        let denied =
            table([&[("ann", &[UseCatalog])], &[], &[("ann", &[Select])]]).check(&ann, Select);
        assert_eq!(denied.unwrap_err().privilege, UseSchema);
        let ok = table([
            &[("analysts", &[UseCatalog])],
            &[("ann", &[UseSchema])],
            &[("ann", &[Select])],
        ]);
        assert!(ok.check(&ann, Select).is_ok());
        assert_eq!(ok.check(&ann, Modify).unwrap_err().privilege, Modify);
    }

    #[test]
    fn privileges_are_inherited_and_all_covers_all() {
        let ann = Identity::user("ann", vec![]);
        let from_catalog = table([&[("ann", &[UseCatalog, UseSchema, Select])], &[], &[]]);
        assert!(from_catalog.check(&ann, Select).is_ok());
        assert!(from_catalog.visible(&ann));
        let all = table([&[("account users", &[AllPrivileges])], &[], &[]]);
        assert!(all.check(&ann, Modify).is_ok());
    }

    #[test]
    fn owners_and_admins_may_do_everything() {
        let mut l = table([&[], &[], &[]]);
        assert!(l.check(&Identity::admin("root"), Modify).is_ok());
        assert!(l
            .check(&Identity::user("bob", vec!["admins".into()]), Modify)
            .is_ok());
        l.0[1].owner = "team".into();
        assert!(l
            .check(&Identity::user("bob", vec!["team".into()]), Select)
            .is_ok());
        assert!(!l.visible(&Identity::user("eve", vec![])));
    }

    #[test]
    fn grants_apply_and_refuse_what_does_not_fit() {
        let mut g = Grants::default();
        let change = |add: Vec<Privilege>, remove: Vec<Privilege>| GrantChange {
            principal: "ann".into(),
            add,
            remove,
        };
        g.apply(Kind::Table, &[change(vec![Select, Modify], vec![])])
            .unwrap();
        g.apply(Kind::Table, &[change(vec![], vec![Modify])])
            .unwrap();
        assert_eq!(g.by_principal["ann"], [Select].into_iter().collect());
        assert!(g
            .apply(Kind::Table, &[change(vec![UseCatalog], vec![])])
            .is_err());
        g.apply(Kind::Table, &[change(vec![], vec![Select])])
            .unwrap();
        assert!(g.by_principal.is_empty());
        assert_eq!(Privilege::parse("use catalog"), Some(UseCatalog));
        assert_eq!(Privilege::parse("ALL"), Some(AllPrivileges));
        assert_eq!(Privilege::parse("read"), None);
    }
}

//! Who is acting, and the one access check: an object's lineage (it and those above it, with
//! owners and grants) judged for an identity.

use super::{Grants, Privilege, Securable, ACCOUNT_USERS, ADMINS};

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
    use crate::catalog::{FullName, GrantChange, Kind};

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

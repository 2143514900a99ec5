//! Grants on every path: the checks statements make before they read, write, create or change
//! anything (through [`Lineage::check`], the catalog's one rule), and `GRANT`, `REVOKE` and
//! `SHOW GRANTS`. A view is read with its owner's privileges on what it reads, so that granting
//! `SELECT` on a view is enough to query it.

use deltalake::datafusion::sql::sqlparser::ast::ObjectName;
use lakeplane_core::catalog::{
    check_name, GrantChange, Identity, Kind, Lineage, Privilege, Securable,
};

use crate::error::{EngineError, EngineResult};
use crate::output::Outcome;
use crate::script::Script;
use crate::show::text_table;
use crate::sql::ast::Grant;

impl Script<'_> {
    /// The caller.
    pub(crate) fn who(&self) -> &Identity {
        &self.ctx.identity
    }

    async fn lineage(&self, s: &Securable) -> EngineResult<Lineage> {
        Ok(self.engine.metastore.lineage(s).await?)
    }

    /// Checks that `who` may use `p` on `s`.
    pub(crate) async fn authorize_for(
        &self,
        who: &Identity,
        s: Securable,
        p: Privilege,
    ) -> EngineResult<()> {
        if who.admin {
            return Ok(());
        }
        self.lineage(&s)
            .await?
            .check(who, p)
            .map_err(|d| EngineError::PermissionDenied(d.to_string()))
    }

    /// Checks that the caller may use `p` on `s`.
    pub(crate) async fn authorize(&self, s: Securable, p: Privilege) -> EngineResult<()> {
        self.authorize_for(&self.ctx.identity.clone(), s, p).await
    }

    /// Checks that the caller owns `s` (or something above it), or is an admin: dropping,
    /// altering and granting on an object are its owner's.
    pub(crate) async fn authorize_owner(&self, s: Securable) -> EngineResult<()> {
        let who = self.who();
        if who.admin || self.lineage(&s).await?.owned_by(who) {
            return Ok(());
        }
        Err(EngineError::PermissionDenied(format!(
            "User is not an owner of {s}."
        )))
    }

    /// Checks that the caller is an admin (creating catalogs).
    pub(crate) fn authorize_admin(&self, what: &str) -> EngineResult<()> {
        match self.who().admin {
            true => Ok(()),
            false => Err(EngineError::PermissionDenied(format!(
                "Only admins may {what}."
            ))),
        }
    }

    /// Whether the caller sees `s` in listings.
    pub(crate) async fn visible(&self, s: Securable) -> EngineResult<bool> {
        let who = self.who();
        Ok(who.admin || self.lineage(&s).await?.visible(who))
    }

    /// Checks that the caller sees `s` (describing it needs no more).
    pub(crate) async fn require_visible(&self, s: Securable) -> EngineResult<()> {
        match self.visible(s.clone()).await? {
            true => Ok(()),
            false => Err(EngineError::PermissionDenied(format!(
                "User does not have a privilege on {s}."
            ))),
        }
    }

    /// The securable `name` names as a `kind`.
    pub(crate) fn securable(&self, kind: Kind, name: &ObjectName) -> EngineResult<Securable> {
        Ok(match kind {
            Kind::Catalog => Securable::Catalog(check_name(
                "catalog",
                &crate::catalog::parts(name)?.join("."),
            )?),
            Kind::Schema => Securable::Schema(self.schema_name(name)?),
            Kind::Table => Securable::Table(self.full_name(name)?),
            Kind::Function => Securable::Function(self.full_name(name)?),
        })
    }

    /// The id grants on `s` are kept under.
    async fn object_id(&self, s: &Securable) -> EngineResult<String> {
        let m = &self.engine.metastore;
        Ok(match s {
            Securable::Catalog(c) => m.get_catalog(c).await?.id,
            Securable::Schema(n) => m.get_schema(n).await?.id,
            Securable::Table(n) => m.get_table(n).await?.table_id,
            Securable::Function(n) => m.get_function(n).await?.function_id,
        })
    }

    /// `GRANT` / `REVOKE`, by the object's owner or an admin.
    pub(crate) async fn grant(&self, g: Grant) -> EngineResult<Outcome> {
        let s = self.securable(g.kind, &g.name)?;
        self.authorize_owner(s.clone()).await?;
        let id = self.object_id(&s).await?;
        let change = GrantChange {
            principal: g.principal,
            add: if g.revoke {
                vec![]
            } else {
                g.privileges.clone()
            },
            remove: if g.revoke { g.privileges } else { vec![] },
        };
        self.engine
            .metastore
            .update_grants(&id, s.kind(), &[change])
            .await?;
        Ok(Outcome::Done)
    }

    /// `SHOW GRANTS [principal] ON kind name`: what is granted on the object itself, as
    /// Databricks lists it.
    pub(crate) async fn show_grants(
        &self,
        principal: Option<String>,
        kind: Kind,
        name: &ObjectName,
    ) -> EngineResult<Outcome> {
        let s = self.securable(kind, name)?;
        if !self.visible(s.clone()).await? {
            return Err(EngineError::PermissionDenied(format!(
                "User does not have USE on {s}."
            )));
        }
        let grants = self
            .engine
            .metastore
            .grants(&self.object_id(&s).await?)
            .await?;
        let mut rows = Vec::new();
        for (who, set) in &grants.by_principal {
            if principal.as_ref().is_some_and(|p| p != who) {
                continue;
            }
            for p in set {
                rows.push(vec![
                    Some(who.clone()),
                    Some(p.sql()),
                    Some(s.kind().name().to_string()),
                    Some(s.full_name()),
                ]);
            }
        }
        text_table(
            &["principal", "ActionType", "ObjectType", "ObjectKey"],
            rows,
        )
    }
}

//! Principals: users and service principals (who tokens authenticate and grants name) and groups
//! of them. Membership in `admins` makes an admin; everyone is in `account users`. A service
//! principal's name, in grants and tokens, is its application id, as in Databricks.

use std::collections::BTreeSet;

use lakeplane_core::catalog::grants::ADMINS;
use lakeplane_core::catalog::Identity;
use lakeplane_store::Index;
use serde::{Deserialize, Serialize};

use crate::doc::{Documents, PageRequest, Paged, Record};
use crate::error::{ControlError, ControlResult};
use crate::layout::{GROUPS, PRINCIPALS};
use crate::time::now_ms;

/// The most members a group has.
pub const MAX_MEMBERS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    ServicePrincipal,
}

/// A user or service principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalDoc {
    pub id: String,
    /// The user name, or the service principal's application id.
    pub name: String,
    pub display_name: String,
    pub kind: PrincipalKind,
    pub active: bool,
    pub created_at: i64,
}

/// A group: a name and its members' names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDoc {
    pub id: String,
    pub display_name: String,
    pub members: BTreeSet<String>,
}

/// The principals area.
#[derive(Debug, Clone)]
pub struct Principals {
    docs: Documents,
}

fn check_name(what: &str, name: &str) -> ControlResult<()> {
    if name.trim().is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(ControlError::InvalidParameter(format!(
            "{what} must be 1 to 255 printable characters"
        )));
    }
    Ok(())
}

fn new_id() -> String {
    // Databricks ids are numbers sent as strings.
    (u64::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .unwrap_or_default(),
    ) >> 12)
        .to_string()
}

impl Principals {
    pub(crate) fn new(docs: Documents) -> Principals {
        Principals { docs }
    }

    /// A new user or service principal. Errors: `AlreadyExists` for a name in use.
    pub async fn create(
        &self,
        kind: PrincipalKind,
        name: &str,
        display_name: Option<&str>,
    ) -> ControlResult<PrincipalDoc> {
        check_name("a user name", name)?;
        let doc = PrincipalDoc {
            id: new_id(),
            name: name.to_string(),
            display_name: display_name.unwrap_or(name).to_string(),
            kind,
            active: true,
            created_at: now_ms(),
        };
        self.docs
            .create_all(vec![doc.to_item()?, name_claim(&principal_alias(name))])
            .await
            .map_err(|e| match e {
                ControlError::Store(lakeplane_store::StoreError::AlreadyExists { .. }) => {
                    ControlError::AlreadyExists {
                        kind: "Principal",
                        name: name.into(),
                    }
                }
                e => e,
            })?;
        Ok(doc)
    }

    /// Makes sure a user exists (the token a deployment starts with names one).
    pub async fn ensure_user(&self, name: &str) -> ControlResult<PrincipalDoc> {
        if let Some(p) = self.by_name(name).await? {
            return Ok(p);
        }
        match self.create(PrincipalKind::User, name, None).await {
            Err(ControlError::AlreadyExists { .. }) => {
                self.by_name(name).await?.ok_or(ControlError::NotFound {
                    kind: "Principal",
                    name: name.into(),
                })
            }
            other => other,
        }
    }

    pub async fn by_name(&self, name: &str) -> ControlResult<Option<PrincipalDoc>> {
        Ok(self
            .docs
            .by_alias::<PrincipalDoc>(&principal_alias(name))
            .await?
            .map(|v| v.doc))
    }

    pub async fn get(&self, id: &str) -> ControlResult<PrincipalDoc> {
        self.docs.read::<PrincipalDoc>(&id.to_string()).await
    }

    pub async fn list(
        &self,
        kind: PrincipalKind,
        page: &PageRequest,
    ) -> ControlResult<Paged<PrincipalDoc>> {
        self.docs
            .list::<PrincipalDoc>(Index::Collection, PRINCIPALS, page, |p| p.kind == kind)
            .await
    }

    pub async fn delete(&self, id: &str) -> ControlResult<()> {
        let p = self.get(id).await?;
        self.docs.delete::<PrincipalDoc>(&id.to_string()).await?;
        self.docs
            .remove(&name_claim(&principal_alias(&p.name)).key)
            .await
    }

    /// A new group. Errors: `AlreadyExists` for a name in use.
    pub async fn create_group(
        &self,
        name: &str,
        members: BTreeSet<String>,
    ) -> ControlResult<GroupDoc> {
        check_name("a group name", name)?;
        if members.len() > MAX_MEMBERS {
            return Err(ControlError::InvalidParameter(format!(
                "a group has at most {MAX_MEMBERS} members"
            )));
        }
        let doc = GroupDoc {
            id: new_id(),
            display_name: name.to_string(),
            members,
        };
        self.docs
            .create_all(vec![doc.to_item()?, name_claim(&group_alias(name))])
            .await
            .map_err(|e| match e {
                ControlError::Store(lakeplane_store::StoreError::AlreadyExists { .. }) => {
                    ControlError::AlreadyExists {
                        kind: "Group",
                        name: name.into(),
                    }
                }
                e => e,
            })?;
        Ok(doc)
    }

    pub async fn group(&self, id: &str) -> ControlResult<GroupDoc> {
        self.docs.read::<GroupDoc>(&id.to_string()).await
    }

    pub async fn group_by_name(&self, name: &str) -> ControlResult<Option<GroupDoc>> {
        Ok(self
            .docs
            .by_alias::<GroupDoc>(&group_alias(name))
            .await?
            .map(|v| v.doc))
    }

    pub async fn groups(&self, page: &PageRequest) -> ControlResult<Paged<GroupDoc>> {
        self.docs
            .list::<GroupDoc>(Index::Collection, GROUPS, page, |_| true)
            .await
    }

    pub async fn delete_group(&self, id: &str) -> ControlResult<()> {
        let g = self.group(id).await?;
        self.docs.delete::<GroupDoc>(&id.to_string()).await?;
        self.docs
            .remove(&name_claim(&group_alias(&g.display_name)).key)
            .await
    }

    /// Adds and removes members of a group.
    pub async fn change_members(
        &self,
        id: &str,
        add: &[String],
        remove: &[String],
    ) -> ControlResult<GroupDoc> {
        let (g, _) = self
            .docs
            .update::<GroupDoc>(&id.to_string(), |g| {
                g.members.extend(add.iter().cloned());
                for r in remove {
                    g.members.remove(r);
                }
                if g.members.len() > MAX_MEMBERS {
                    return Err(ControlError::InvalidParameter(format!(
                        "a group has at most {MAX_MEMBERS} members"
                    )));
                }
                Ok(true)
            })
            .await?;
        Ok(g)
    }

    /// Makes `name` a member of the group `group`, creating the group if needed.
    pub async fn add_to_group(&self, group: &str, name: &str) -> ControlResult<()> {
        let g = match self.group_by_name(group).await? {
            Some(g) => g,
            None => match self.create_group(group, BTreeSet::new()).await {
                Ok(g) => g,
                Err(ControlError::AlreadyExists { .. }) => {
                    self.group_by_name(group)
                        .await?
                        .ok_or(ControlError::NotFound {
                            kind: "Group",
                            name: group.into(),
                        })?
                }
                Err(e) => return Err(e),
            },
        };
        self.change_members(&g.id, &[name.to_string()], &[])
            .await
            .map(|_| ())
    }

    /// Makes `name` a user and an admin (the principal of the token a deployment starts with).
    pub async fn ensure_admin(&self, name: &str) -> ControlResult<()> {
        self.ensure_user(name).await?;
        if !self.is_admin(name).await? {
            self.add_to_group(ADMINS, name).await?;
        }
        Ok(())
    }

    /// Who `name` is: the groups it is in, and whether it is an admin.
    pub async fn identity(&self, name: &str) -> ControlResult<Identity> {
        let mut groups = Vec::new();
        let mut page = PageRequest {
            limit: 500,
            ..PageRequest::default()
        };
        loop {
            let listed = self.groups(&page).await?;
            groups.extend(
                listed
                    .items
                    .into_iter()
                    .filter(|g| g.members.contains(name))
                    .map(|g| g.display_name),
            );
            match listed.next_page_token {
                Some(t) => page.page_token = Some(t),
                None => break,
            }
        }
        Ok(Identity::user(name, groups))
    }

    /// Whether `name` is an admin.
    pub async fn is_admin(&self, name: &str) -> ControlResult<bool> {
        Ok(self
            .group_by_name(ADMINS)
            .await?
            .is_some_and(|g| g.members.contains(name)))
    }
}

/// The item that keeps a name unique: inserted with the record, in one transaction.
fn name_claim(alias: &str) -> lakeplane_store::Item {
    lakeplane_store::Item::new(lakeplane_store::Key::new(alias, "NAME"), "{}")
}

/// The alias a principal is found by its name under.
pub fn principal_alias(name: &str) -> String {
    format!("PRINCIPALNAME#{name}")
}

/// The alias a group is found by its name under.
pub fn group_alias(name: &str) -> String {
    format!("GROUPNAME#{name}")
}

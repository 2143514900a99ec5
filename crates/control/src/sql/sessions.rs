//! Sessions of the SQL connector (`/api/2.0/sql/sessions`): a warehouse, the caller, and the
//! catalog and schema statements start in, which a statement's `USE` changes for the next one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::doc::Documents;
use crate::error::{ControlError, ControlResult};
use crate::time::now_ms;

/// The most session configuration entries kept.
pub const MAX_SESSION_CONFS: usize = 64;

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub warehouse_id: String,
    pub principal: String,
    #[serde(default)]
    pub catalog: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub confs: BTreeMap<String, String>,
    pub created_at: i64,
}

/// The sessions area.
#[derive(Debug, Clone)]
pub struct Sessions {
    docs: Documents,
}

impl Sessions {
    pub(crate) fn new(docs: Documents) -> Sessions {
        Sessions { docs }
    }

    pub async fn create(
        &self,
        warehouse_id: &str,
        principal: &str,
        catalog: Option<String>,
        schema: Option<String>,
        confs: BTreeMap<String, String>,
    ) -> ControlResult<Session> {
        if confs.len() > MAX_SESSION_CONFS {
            return Err(ControlError::InvalidParameter(format!(
                "a session takes at most {MAX_SESSION_CONFS} configuration entries"
            )));
        }
        let session = Session {
            id: uuid::Uuid::new_v4().to_string(),
            warehouse_id: warehouse_id.to_string(),
            principal: principal.to_string(),
            catalog,
            schema,
            confs,
            created_at: now_ms(),
        };
        self.docs.create(&session).await?;
        Ok(session)
    }

    /// The caller's session; another principal's is as missing as one that never was.
    pub async fn get(&self, id: &str, principal: &str) -> ControlResult<Session> {
        match self.docs.find::<Session>(&id.to_string()).await? {
            Some(s) if s.principal == principal => Ok(s),
            _ => Err(ControlError::NotFound {
                kind: "Session",
                name: id.to_string(),
            }),
        }
    }

    pub async fn delete(&self, id: &str, principal: &str) -> ControlResult<()> {
        self.get(id, principal).await?;
        self.docs.delete::<Session>(&id.to_string()).await
    }

    /// Keeps where a statement left the session (after a `USE`).
    pub async fn set_current(&self, id: &str, catalog: &str, schema: &str) -> ControlResult<()> {
        match self
            .docs
            .update::<Session>(&id.to_string(), |s| {
                let same =
                    s.catalog.as_deref() == Some(catalog) && s.schema.as_deref() == Some(schema);
                s.catalog = Some(catalog.to_string());
                s.schema = Some(schema.to_string());
                Ok(!same)
            })
            .await
        {
            Ok(_) | Err(ControlError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

//! Saved queries: the Queries API objects a `sql_task` references by `query_id`.

use lakeplane_store::Index;
use serde::{Deserialize, Serialize};

use crate::doc::{Documents, PageRequest, Paged};
use crate::error::{ControlError, ControlResult};
use crate::layout::QUERIES;
use crate::time::now_ms;

/// The longest query text accepted, in bytes (the SQL a task runs is bounded the same way).
pub const MAX_QUERY_TEXT_BYTES: usize = 1024 * 1024;

/// A saved SQL query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedQuery {
    pub id: String,
    pub display_name: String,
    pub query_text: String,
    #[serde(default)]
    pub warehouse_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub owner_user_name: String,
    /// Epoch milliseconds.
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// What a new saved query says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewQuery {
    pub display_name: String,
    pub query_text: String,
    pub warehouse_id: Option<String>,
    pub description: Option<String>,
}

/// The queries area.
#[derive(Debug, Clone)]
pub struct Queries {
    docs: Documents,
}

impl Queries {
    pub(crate) fn new(docs: Documents) -> Queries {
        Queries { docs }
    }

    pub async fn create(&self, new: NewQuery, owner: &str) -> ControlResult<SavedQuery> {
        if new.query_text.trim().is_empty() {
            return Err(ControlError::InvalidParameter(
                "query.query_text must not be empty".into(),
            ));
        }
        if new.query_text.len() > MAX_QUERY_TEXT_BYTES {
            return Err(ControlError::InvalidParameter(format!(
                "query.query_text is longer than {MAX_QUERY_TEXT_BYTES} bytes"
            )));
        }
        let now = now_ms();
        let query = SavedQuery {
            id: uuid::Uuid::new_v4().to_string(),
            display_name: new.display_name,
            query_text: new.query_text,
            warehouse_id: new.warehouse_id,
            description: new.description,
            owner_user_name: owner.to_string(),
            created_ms: now,
            updated_ms: now,
        };
        self.docs.create(&query).await?;
        Ok(query)
    }

    pub async fn get(&self, id: &str) -> ControlResult<SavedQuery> {
        self.docs.read(&id.to_string()).await
    }

    /// Saved queries, oldest first.
    pub async fn list(&self, request: &PageRequest) -> ControlResult<Paged<SavedQuery>> {
        self.docs
            .list(Index::Collection, QUERIES, request, |_: &SavedQuery| true)
            .await
    }

    pub async fn delete(&self, id: &str) -> ControlResult<()> {
        self.docs.delete::<SavedQuery>(&id.to_string()).await
    }
}

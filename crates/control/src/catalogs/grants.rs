//! Grants, one document per object, keyed by the object's id (so a table dropped and created
//! again under its name starts with none, and a renamed one keeps its own).

use lakeplane_core::catalog::{CatalogResult, GrantChange, Grants, Kind};
use serde::{Deserialize, Serialize};

use crate::doc::{retry, Versioned};
use crate::error::ControlError;

use super::Catalogs;

/// The grants on one object, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantsDoc {
    pub object_id: String,
    pub kind: Kind,
    pub grants: Grants,
}

impl Catalogs {
    pub(super) async fn read_grants(&self, object_id: &str) -> CatalogResult<Grants> {
        Ok(self
            .docs
            .find::<GrantsDoc>(&object_id.to_string())
            .await?
            .map(|d| d.grants)
            .unwrap_or_default())
    }

    pub(super) async fn write_grants(
        &self,
        object_id: &str,
        kind: Kind,
        changes: &[GrantChange],
    ) -> CatalogResult<Grants> {
        let id = object_id.to_string();
        let grants = retry("Grants", &id, |_| async {
            let invalid = |e: lakeplane_core::catalog::CatalogError| {
                ControlError::InvalidParameter(e.to_string())
            };
            match self.docs.get::<GrantsDoc>(&id).await {
                Ok(Versioned { mut doc, version }) => {
                    doc.grants.apply(kind, changes).map_err(invalid)?;
                    self.docs.replace(&doc, version).await?;
                    Ok(doc.grants)
                }
                Err(ControlError::NotFound { .. }) => {
                    let mut doc = GrantsDoc {
                        object_id: id.clone(),
                        kind,
                        grants: Grants::default(),
                    };
                    doc.grants.apply(kind, changes).map_err(invalid)?;
                    match self.docs.create(&doc).await {
                        // Someone else created it meanwhile: read it and apply again.
                        Err(ControlError::AlreadyExists { kind, name }) => {
                            Err(ControlError::Store(lakeplane_store::StoreError::conflict(
                                format!("{kind} {name}"),
                                "created concurrently",
                            )))
                        }
                        other => other.map(|_| doc.grants),
                    }
                }
                Err(e) => Err(e),
            }
        })
        .await?;
        Ok(grants)
    }

    /// Forgets a dropped object's grants (best effort: ids are never reused).
    pub(super) async fn forget_grants(&self, object_id: &str) {
        let key = <GrantsDoc as crate::doc::Record>::key_of(&object_id.to_string());
        if let Err(e) = self.docs.remove(&key).await {
            tracing::warn!(object = object_id, error = %e, "could not delete a dropped object's grants");
        }
    }
}

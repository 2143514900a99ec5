//! Functions in the catalog: created (or replaced, keeping their id and grants), read, listed,
//! dropped; each change a conditional write.

use lakeplane_core::catalog::Metastore;
use lakeplane_core::catalog::{CatalogResult, FullName, FunctionInfo, SchemaName};
use lakeplane_store::Index;

use super::{all, Catalogs};
use crate::doc::{retry, Versioned};
use crate::error::ControlError;
use crate::layout::functions_of;

impl Catalogs {
    pub(super) async fn put_function(
        &self,
        function: FunctionInfo,
        replace: bool,
    ) -> CatalogResult<FunctionInfo> {
        function.validate()?;
        let name = function.full_name();
        self.get_schema(&name.schema_name()).await?;
        if !replace {
            self.docs.create(&function).await?;
            return Ok(function);
        }
        let stored = retry("Function", &name, |_| async {
            match self.docs.find::<FunctionInfo>(&name).await? {
                None => {
                    self.docs.create(&function).await?;
                    Ok(function.clone())
                }
                Some(_) => {
                    let Versioned { doc, version } = self.docs.get::<FunctionInfo>(&name).await?;
                    let mut new = function.clone();
                    // Replacing keeps the function's identity: its id (so its grants), its
                    // creation and owner.
                    (new.function_id, new.created_at, new.created_by, new.owner) =
                        (doc.function_id, doc.created_at, doc.created_by, doc.owner);
                    self.docs.replace(&new, version).await?;
                    Ok(new)
                }
            }
        })
        .await?;
        Ok(stored)
    }

    pub(super) async fn functions_in(
        &self,
        schema: &SchemaName,
    ) -> CatalogResult<Vec<FunctionInfo>> {
        self.get_schema(schema).await?;
        all(&self.docs, Index::Parent, &functions_of(schema)).await
    }

    pub(super) async fn remove_function(&self, name: &FullName) -> CatalogResult<FunctionInfo> {
        let dropped = retry("Function", name, |_| async {
            let Versioned { doc, version } = self.docs.get::<FunctionInfo>(name).await?;
            self.docs.delete_at::<FunctionInfo>(name, version).await?;
            Ok::<_, ControlError>(doc)
        })
        .await?;
        self.forget_grants(&dropped.function_id).await;
        Ok(dropped)
    }

    /// Drops every function of a schema (a schema dropped with CASCADE).
    pub(super) async fn drop_functions_of(&self, schema: &SchemaName) -> CatalogResult<()> {
        for f in self.list_functions(schema).await? {
            match self.remove_function(&f.full_name()).await {
                Ok(_) | Err(lakeplane_core::catalog::CatalogError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

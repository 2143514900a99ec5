//! The catalog DataFusion sees: catalog `main`, one schema per folder under the storage root, one
//! Delta table per folder under a schema. Tables are opened when a query names them.

use std::sync::Arc;

use async_trait::async_trait;
use deltalake::datafusion::catalog::{CatalogProvider, SchemaProvider};
use deltalake::datafusion::datasource::TableProvider;
use deltalake::datafusion::error::DataFusionError;
use deltalake::DeltaTable;
use url::Url;

use crate::storage::StorageRoot;

#[derive(Debug)]
pub(crate) struct LakeCatalog {
    pub root: StorageRoot,
}

impl CatalogProvider for LakeCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.root.list_local_dirs(&[])
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(Arc::new(LakeSchema {
            root: self.root.clone(),
            schema: name.to_ascii_lowercase(),
        }))
    }
}

#[derive(Debug)]
pub(crate) struct LakeSchema {
    root: StorageRoot,
    schema: String,
}

#[async_trait]
impl SchemaProvider for LakeSchema {
    fn table_names(&self) -> Vec<String> {
        self.root.list_local_dirs(&[&self.schema])
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        let url = self
            .root
            .table_url(&self.schema, name)
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        match open(&url).await {
            Ok(Some(table)) => Ok(Some(table.table_provider().await?)),
            Ok(None) => Ok(None),
            Err(e) => Err(DataFusionError::External(Box::new(e))),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.root
            .list_local_dirs(&[&self.schema])
            .iter()
            .any(|t| t == name)
    }
}

/// Opens a Delta table, or `None` when nothing is there yet.
pub(crate) async fn open(url: &Url) -> Result<Option<DeltaTable>, deltalake::DeltaTableError> {
    if let Ok(dir) = url.to_file_path() {
        if !dir.join("_delta_log").is_dir() {
            return Ok(None);
        }
    }
    match DeltaTable::try_from_url(url.clone()).await {
        Ok(table) => Ok(table.version().map(|_| table)),
        // An object store location (S3) with no log under it yet.
        Err(deltalake::DeltaTableError::NotATable(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

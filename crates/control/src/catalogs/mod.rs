//! The catalog ([`Metastore`]) over the state store: catalogs, schemas, tables and views as
//! documents, each change a conditional write. Catalog `main` with schema `default` is created the
//! first time a process needs it, so every store has it without a set-up step.

mod functions;
mod grants;

use async_trait::async_trait;
use lakeplane_core::catalog::{
    CatalogError, CatalogInfo, CatalogResult, FullName, FunctionInfo, GrantChange, Grants, Kind,
    Metastore, SchemaInfo, SchemaName, SecurableUpdate, TableInfo, TableUpdate, DEFAULT_SCHEMA,
    MAIN_CATALOG,
};

pub use grants::GrantsDoc;
use lakeplane_store::Index;
use tokio::sync::OnceCell;

use crate::doc::{retry, Documents, PageRequest, Record, Versioned};
use crate::error::ControlError;
use crate::layout::{schemas_of, tables_of, CATALOGS};
use crate::time::now_ms;

/// The catalog area. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Catalogs {
    docs: Documents,
    builtin: std::sync::Arc<OnceCell<()>>,
}

impl From<ControlError> for CatalogError {
    fn from(e: ControlError) -> CatalogError {
        match e {
            ControlError::NotFound { kind, name } => CatalogError::NotFound { kind, name },
            ControlError::AlreadyExists { kind, name } => {
                CatalogError::AlreadyExists { kind, name }
            }
            ControlError::InvalidParameter(m) | ControlError::InvalidState(m) => {
                CatalogError::Invalid(m)
            }
            other => CatalogError::Unavailable {
                source: Box::new(other),
            },
        }
    }
}

/// Reads every entry of a listing.
async fn all<R: Record>(docs: &Documents, index: Index, partition: &str) -> CatalogResult<Vec<R>> {
    let mut out = Vec::new();
    let mut request = PageRequest {
        limit: lakeplane_store::MAX_PAGE,
        ..PageRequest::default()
    };
    loop {
        let page = docs.list(index, partition, &request, |_: &R| true).await?;
        out.extend(page.items);
        match page.next_page_token {
            Some(t) => request.page_token = Some(t),
            None => return Ok(out),
        }
    }
}

impl Catalogs {
    pub(crate) fn new(docs: Documents) -> Catalogs {
        Catalogs {
            docs,
            builtin: Default::default(),
        }
    }

    /// Makes sure `main` and `main.default` exist (once per process).
    async fn builtin(&self) -> CatalogResult<()> {
        self.builtin
            .get_or_try_init(|| async {
                let now = now_ms();
                let catalog = CatalogInfo {
                    name: MAIN_CATALOG.into(),
                    comment: Some("Main catalog".into()),
                    properties: Default::default(),
                    owner: "system".into(),
                    created_at: now,
                    created_by: "system".into(),
                    id: uuid::Uuid::new_v4().to_string(),
                };
                let schema = SchemaInfo {
                    catalog_name: MAIN_CATALOG.into(),
                    name: DEFAULT_SCHEMA.into(),
                    comment: Some("Default schema".into()),
                    properties: Default::default(),
                    owner: "system".into(),
                    created_at: now,
                    created_by: "system".into(),
                    id: uuid::Uuid::new_v4().to_string(),
                };
                for r in [
                    self.create_missing(&catalog).await,
                    self.create_missing(&schema).await,
                ] {
                    r?;
                }
                Ok::<(), CatalogError>(())
            })
            .await
            .map(|_| ())
    }

    async fn create_missing<R: Record>(&self, doc: &R) -> CatalogResult<()> {
        if self.docs.find::<R>(&doc.id()).await?.is_some() {
            return Ok(());
        }
        match self.docs.create(doc).await {
            Ok(()) | Err(ControlError::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn refuse_builtin(kind: &str, name: &str) -> CatalogError {
        CatalogError::Invalid(format!("{kind} '{name}' is built in and cannot be dropped"))
    }

    /// Drops every table of a schema; returns them.
    async fn drop_tables_of(&self, schema: &SchemaName) -> CatalogResult<Vec<TableInfo>> {
        let mut dropped = Vec::new();
        for t in self.list_tables(schema).await? {
            match self.drop_table(&t.full_name()).await {
                Ok(t) => dropped.push(t),
                Err(CatalogError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(dropped)
    }
}

#[async_trait]
impl Metastore for Catalogs {
    async fn create_catalog(&self, catalog: CatalogInfo) -> CatalogResult<CatalogInfo> {
        self.builtin().await?;
        lakeplane_core::catalog::check_comment(catalog.comment.as_deref())?;
        self.docs.create(&catalog).await?;
        Ok(catalog)
    }

    async fn get_catalog(&self, name: &str) -> CatalogResult<CatalogInfo> {
        self.builtin().await?;
        Ok(self.docs.read(&name.to_string()).await?)
    }

    async fn list_catalogs(&self) -> CatalogResult<Vec<CatalogInfo>> {
        self.builtin().await?;
        all(&self.docs, Index::Collection, CATALOGS).await
    }

    async fn update_catalog(
        &self,
        name: &str,
        update: SecurableUpdate,
    ) -> CatalogResult<CatalogInfo> {
        self.builtin().await?;
        let (c, _) = self
            .docs
            .update::<CatalogInfo>(&name.to_string(), |c| {
                update
                    .apply(&mut c.comment, &mut c.properties, &mut c.owner)
                    .map_err(|e| ControlError::InvalidParameter(e.to_string()))?;
                Ok(true)
            })
            .await?;
        Ok(c)
    }

    async fn drop_catalog(&self, name: &str, cascade: bool) -> CatalogResult<Vec<TableInfo>> {
        if name == MAIN_CATALOG {
            return Err(Catalogs::refuse_builtin("catalog", name));
        }
        self.get_catalog(name).await?;
        let schemas = self.list_schemas(name).await?;
        if !cascade && !schemas.is_empty() {
            return Err(CatalogError::NotEmpty {
                kind: "Catalog",
                name: name.into(),
                what: format!("{} schema(s)", schemas.len()),
            });
        }
        let mut dropped = Vec::new();
        for s in schemas {
            dropped.extend(self.drop_schema(&s.full_name(), true).await?);
        }
        let catalog = self.get_catalog(name).await?;
        self.docs.delete::<CatalogInfo>(&name.to_string()).await?;
        self.forget_grants(&catalog.id).await;
        Ok(dropped)
    }

    async fn create_schema(&self, schema: SchemaInfo) -> CatalogResult<SchemaInfo> {
        lakeplane_core::catalog::check_comment(schema.comment.as_deref())?;
        self.get_catalog(&schema.catalog_name).await?;
        self.docs.create(&schema).await?;
        Ok(schema)
    }

    async fn get_schema(&self, name: &SchemaName) -> CatalogResult<SchemaInfo> {
        self.builtin().await?;
        Ok(self.docs.read(name).await?)
    }

    async fn list_schemas(&self, catalog: &str) -> CatalogResult<Vec<SchemaInfo>> {
        self.get_catalog(catalog).await?;
        all(&self.docs, Index::Parent, &schemas_of(catalog)).await
    }

    async fn update_schema(
        &self,
        name: &SchemaName,
        update: SecurableUpdate,
    ) -> CatalogResult<SchemaInfo> {
        self.builtin().await?;
        let (s, _) = self
            .docs
            .update::<SchemaInfo>(name, |s| {
                update
                    .apply(&mut s.comment, &mut s.properties, &mut s.owner)
                    .map_err(|e| ControlError::InvalidParameter(e.to_string()))?;
                Ok(true)
            })
            .await?;
        Ok(s)
    }

    async fn drop_schema(&self, name: &SchemaName, cascade: bool) -> CatalogResult<Vec<TableInfo>> {
        if name.catalog == MAIN_CATALOG && name.schema == DEFAULT_SCHEMA {
            return Err(Catalogs::refuse_builtin("schema", &name.to_string()));
        }
        self.get_schema(name).await?;
        let tables = self.list_tables(name).await?;
        let functions = self.list_functions(name).await?;
        let empty = tables.is_empty() && functions.is_empty();
        if !cascade && !empty {
            return Err(CatalogError::NotEmpty {
                kind: "Schema",
                name: name.to_string(),
                what: format!(
                    "{} table(s) or view(s) and {} function(s)",
                    tables.len(),
                    functions.len()
                ),
            });
        }
        let dropped = self.drop_tables_of(name).await?;
        self.drop_functions_of(name).await?;
        let schema = self.get_schema(name).await?;
        self.docs.delete::<SchemaInfo>(name).await?;
        self.forget_grants(&schema.id).await;
        Ok(dropped)
    }

    async fn create_table(&self, table: TableInfo) -> CatalogResult<TableInfo> {
        table.validate()?;
        self.get_schema(&table.full_name().schema_name()).await?;
        self.docs.create(&table).await?;
        Ok(table)
    }

    async fn get_table(&self, name: &FullName) -> CatalogResult<TableInfo> {
        Ok(self.docs.read(name).await?)
    }

    async fn list_tables(&self, schema: &SchemaName) -> CatalogResult<Vec<TableInfo>> {
        self.get_schema(schema).await?;
        all(&self.docs, Index::Parent, &tables_of(schema)).await
    }

    async fn update_table(
        &self,
        name: &FullName,
        update: TableUpdate,
        principal: &str,
    ) -> CatalogResult<TableInfo> {
        let (table, _) = self
            .docs
            .update::<TableInfo>(name, |t| {
                match &update {
                    TableUpdate::Comment(c) => t.comment = c.clone(),
                    TableUpdate::Properties { set, unset } => {
                        for k in unset {
                            t.properties.remove(k);
                        }
                        t.properties.extend(set.clone());
                    }
                    TableUpdate::Owner(o) => t.owner = o.clone(),
                    TableUpdate::Replace(new) => {
                        let (id, at, by) = (t.table_id.clone(), t.created_at, t.created_by.clone());
                        *t = (**new).clone();
                        (t.table_id, t.created_at, t.created_by) = (id, at, by);
                    }
                }
                t.validate()
                    .map_err(|e| ControlError::InvalidParameter(e.to_string()))?;
                t.updated_at = now_ms();
                t.updated_by = principal.to_string();
                Ok(true)
            })
            .await?;
        Ok(table)
    }

    async fn rename_table(&self, from: &FullName, to: &FullName) -> CatalogResult<TableInfo> {
        self.get_schema(&to.schema_name()).await?;
        let result = retry("Table", from, |_| async {
            let Versioned { doc, version } = self.docs.get::<TableInfo>(from).await?;
            let mut renamed = doc.clone();
            (renamed.catalog_name, renamed.schema_name, renamed.name) =
                (to.catalog.clone(), to.schema.clone(), to.name.clone());
            renamed.updated_at = now_ms();
            self.docs.create(&renamed).await?;
            // The old name goes only if nobody changed it meanwhile; otherwise the new entry is
            // taken back and the whole rename tried again.
            if let Err(e) = self.docs.delete_at::<TableInfo>(from, version).await {
                self.docs.delete::<TableInfo>(to).await?;
                return Err(e);
            }
            Ok(renamed)
        })
        .await?;
        Ok(result)
    }

    async fn drop_table(&self, name: &FullName) -> CatalogResult<TableInfo> {
        let dropped = retry("Table", name, |_| async {
            let Versioned { doc, version } = self.docs.get::<TableInfo>(name).await?;
            self.docs.delete_at::<TableInfo>(name, version).await?;
            Ok(doc)
        })
        .await?;
        self.forget_grants(&dropped.table_id).await;
        Ok(dropped)
    }

    async fn create_function(
        &self,
        function: FunctionInfo,
        replace: bool,
    ) -> CatalogResult<FunctionInfo> {
        self.put_function(function, replace).await
    }

    async fn get_function(&self, name: &FullName) -> CatalogResult<FunctionInfo> {
        Ok(self.docs.read(name).await?)
    }

    async fn list_functions(&self, schema: &SchemaName) -> CatalogResult<Vec<FunctionInfo>> {
        self.functions_in(schema).await
    }

    async fn drop_function(&self, name: &FullName) -> CatalogResult<FunctionInfo> {
        self.remove_function(name).await
    }

    async fn grants(&self, object_id: &str) -> CatalogResult<Grants> {
        self.read_grants(object_id).await
    }

    async fn update_grants(
        &self,
        object_id: &str,
        kind: Kind,
        changes: &[GrantChange],
    ) -> CatalogResult<Grants> {
        self.write_grants(object_id, kind, changes).await
    }
}

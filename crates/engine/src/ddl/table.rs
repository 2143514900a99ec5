//! `CREATE [OR REPLACE] TABLE` (columns, `AS SELECT`, or over a Delta table at a `LOCATION`),
//! `CREATE [OR REPLACE] VIEW`, and `DROP TABLE | VIEW`.
//!
//! The Delta side is written first and the catalog entry after, so a crash in between leaves files
//! but no entry. A managed table's id (and so its folder) is derived from the statement's
//! transaction identity, so the re-run of a task lands in the same folder, finds its own commit in
//! the log and only registers the table.

use deltalake::datafusion::sql::sqlparser::ast::{ObjectName, ObjectType, Statement};
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use lakeplane_core::catalog::{
    CatalogError, FullName, Privilege, Securable, TableInfo, TableType, TableUpdate, ViewDefinition,
};
use url::Url;

use super::{now_ms, property_map};
use crate::access::Location;
use crate::catalog::location;
use crate::catalog::open::open;
use crate::error::{EngineError, EngineResult};
use crate::output::{Changes, Outcome};
use crate::script::Script;
use crate::sql::ast::{CreateTable, CreateView};

/// Ids of tables and views: fixed per statement of a task run, so a re-run finds its own.
const TABLE_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6c61_6b65_706c_616e_6500_0000_0000_0001);

impl Script<'_> {
    fn new_table_id(&self, index: usize, name: &FullName) -> String {
        match &self.ctx.txn {
            Some(txn) => uuid::Uuid::new_v5(
                &TABLE_ID_NAMESPACE,
                format!("{}/{index}/{name}", txn.app_id).as_bytes(),
            )
            .to_string(),
            None => uuid::Uuid::new_v4().to_string(),
        }
    }

    /// A `LOCATION`, checked against what this engine may touch.
    fn external_url(&self, loc: &str) -> EngineResult<Url> {
        match self.engine.sources.policy.check(loc)? {
            Location::S3 { url, .. } => {
                let mut url = url;
                if !url.path().ends_with('/') {
                    let p = format!("{}/", url.path());
                    url.set_path(&p);
                }
                Ok(url)
            }
            Location::Local(p) => Url::from_directory_path(&p).map_err(|_| {
                EngineError::invalid(format!("LOCATION '{loc}' is not an absolute path"))
            }),
        }
    }

    pub(crate) async fn create_table(
        &self,
        index: usize,
        ct: CreateTable,
    ) -> EngineResult<Outcome> {
        let name = self.full_name(&ct.name)?;
        self.engine
            .metastore
            .get_schema(&name.schema_name())
            .await?;
        self.authorize_create(&name).await?;
        let existing = self.find_table(&name).await?;
        if let Some(info) = &existing {
            if info.table_type == TableType::View && !ct.if_not_exists {
                return Err(EngineError::invalid(format!(
                    "{name} is a view; drop it first to create a table of that name"
                )));
            }
            if !ct.or_replace {
                if let Some(t) = open(&location(info)?).await? {
                    if self.committed_before(index, &t).await?.is_some() {
                        return Ok(Outcome::Changed(Changes::inserted(0)));
                    }
                }
                if ct.if_not_exists {
                    return Ok(Outcome::Done);
                }
                return Err(EngineError::AlreadyExists {
                    kind: "Table",
                    name: name.to_string(),
                });
            }
        }
        let (table_type, url, table_id) = match (&ct.location, &existing) {
            (Some(loc), e) => (
                TableType::External,
                self.external_url(loc)?,
                e.as_ref()
                    .map_or_else(|| self.new_table_id(index, &name), |e| e.table_id.clone()),
            ),
            (None, Some(e)) => (e.table_type, location(e)?, e.table_id.clone()),
            (None, None) => {
                let id = self.new_table_id(index, &name);
                let url = self.engine.root.managed_location(&name, &id)?;
                (TableType::Managed, url, id)
            }
        };
        let outcome = self.create_delta(index, &name, &url, &ct).await?;
        let now = now_ms();
        let info = TableInfo {
            catalog_name: name.catalog.clone(),
            schema_name: name.schema.clone(),
            name: name.name.clone(),
            table_type,
            data_source_format: Some("DELTA".into()),
            storage_location: Some(url.to_string()),
            view_definition: None,
            comment: ct.comment.clone(),
            properties: Default::default(),
            owner: self.ctx.principal.clone(),
            table_id,
            created_at: now,
            created_by: self.ctx.principal.clone(),
            updated_at: now,
            updated_by: self.ctx.principal.clone(),
        };
        self.register_entry(info, existing.is_some()).await?;
        Ok(outcome)
    }

    /// Creates or replaces the Delta table at `url` for `ct`.
    async fn create_delta(
        &self,
        index: usize,
        name: &FullName,
        url: &Url,
        ct: &CreateTable,
    ) -> EngineResult<Outcome> {
        if let Ok(dir) = url.to_file_path() {
            std::fs::create_dir_all(&dir).map_err(|source| EngineError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let prior = open(url).await?;
        if let Some(t) = &prior {
            if self.committed_before(index, t).await?.is_some() {
                return Ok(Outcome::Changed(Changes::inserted(0)));
            }
        }
        // REPLACE defines the table anew: the old CHECK constraints go first (they would be
        // checked against the new rows otherwise).
        let prior = match (prior, ct.or_replace) {
            (Some(t), true) => Some(drop_all_constraints(t).await?),
            (p, _) => p,
        };
        let config = property_map(ct.properties.clone())?;
        let partitions: Vec<String> = ct.partitioned_by.iter().map(|i| i.value.clone()).collect();
        let outcome = if let Some(q) = &ct.query {
            let df = self.dataframe(Statement::Query(q.clone())).await?;
            let mode = match ct.or_replace {
                true => SaveMode::Overwrite,
                false => SaveMode::ErrorIfExists,
            };
            let target = match prior {
                Some(t) => t,
                None => deltalake::DeltaTableBuilder::from_url(url.clone())?.build()?,
            };
            let rows = self
                .write_new(
                    index,
                    name,
                    target,
                    df,
                    mode,
                    partitions,
                    config,
                    ct.comment.clone(),
                )
                .await?;
            Outcome::Changed(Changes::inserted(rows))
        } else if ct.columns.is_empty() {
            if prior.is_none() {
                return Err(EngineError::invalid(format!(
                    "CREATE TABLE {name} needs columns, AS SELECT, or a LOCATION that holds a Delta table"
                )));
            }
            // An existing Delta table, registered as it is.
            return Ok(Outcome::Done);
        } else {
            if prior.is_some() && !ct.or_replace {
                return Err(EngineError::invalid(format!(
                    "the location of {name} already holds a Delta table; \
                     leave out the columns to register it, or use CREATE OR REPLACE"
                )));
            }
            let mut create = deltalake::DeltaTable::create(
                &deltalake::DeltaTableBuilder::from_url(url.clone())?.build()?,
            )
            .with_location(url.to_string())
            .with_table_name(name.name.clone())
            .with_columns(self.fields(&ct.columns).await?)
            .with_partition_columns(partitions)
            .with_configuration(config.into_iter().map(|(k, v)| (k, Some(v))))
            .with_raise_if_key_not_exists(false)
            .with_save_mode(match ct.or_replace {
                true => SaveMode::Overwrite,
                false => SaveMode::ErrorIfExists,
            })
            .with_commit_properties(self.commit(index));
            if let Some(c) = &ct.comment {
                create = create.with_comment(c.clone());
            }
            create.await?;
            Outcome::Done
        };
        if !ct.checks.is_empty() {
            let Some(table) = open(url).await? else {
                return Err(EngineError::invalid(format!(
                    "table {name} vanished while being created"
                )));
            };
            let checks: std::collections::HashMap<String, String> = ct
                .checks
                .iter()
                .map(|(n, e)| (n.value.clone(), e.to_string()))
                .collect();
            table
                .add_constraint()
                .with_constraints(checks)
                .with_commit_properties(CommitProperties::default())
                .await?;
        }
        Ok(outcome)
    }

    /// Adds (or, for OR REPLACE, replaces) a catalog entry.
    async fn register_entry(&self, info: TableInfo, replace: bool) -> EngineResult<()> {
        let name = info.full_name();
        let result = match replace {
            true => self
                .engine
                .metastore
                .update_table(
                    &name,
                    TableUpdate::Replace(Box::new(info)),
                    &self.ctx.principal,
                )
                .await
                .map(|_| ()),
            false => self.engine.metastore.create_table(info).await.map(|_| ()),
        };
        match result {
            Ok(()) => Ok(()),
            Err(CatalogError::AlreadyExists { .. }) => Err(EngineError::AlreadyExists {
                kind: "Table",
                name: name.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn create_view(&self, cv: CreateView) -> EngineResult<Outcome> {
        let name = self.full_name(&cv.name)?;
        self.authorize_create(&name).await?;
        let existing = self.find_table(&name).await?;
        if let Some(e) = &existing {
            if cv.if_not_exists {
                return Ok(Outcome::Done);
            }
            if e.table_type != TableType::View {
                return Err(EngineError::invalid(format!(
                    "{name} is a table; a view cannot replace it"
                )));
            }
            if !cv.or_replace {
                return Err(EngineError::AlreadyExists {
                    kind: "View",
                    name: name.to_string(),
                });
            }
        }
        // Planned once now, so a view that does not resolve is refused when it is created.
        self.plan(Statement::Query(cv.query.clone())).await?;
        let current = self.current();
        let now = now_ms();
        let info = TableInfo {
            catalog_name: name.catalog.clone(),
            schema_name: name.schema.clone(),
            name: name.name.clone(),
            table_type: TableType::View,
            data_source_format: None,
            storage_location: None,
            view_definition: Some(ViewDefinition {
                sql: cv.query.to_string(),
                catalog: current.catalog,
                schema: current.schema,
            }),
            comment: cv.comment,
            properties: property_map(cv.properties)?,
            owner: self.ctx.principal.clone(),
            table_id: existing
                .as_ref()
                .map_or_else(|| uuid::Uuid::new_v4().to_string(), |e| e.table_id.clone()),
            created_at: now,
            created_by: self.ctx.principal.clone(),
            updated_at: now,
            updated_by: self.ctx.principal.clone(),
        };
        self.register_entry(info, existing.is_some()).await?;
        Ok(Outcome::Done)
    }

    /// Checks that the caller may create `name`: `CREATE TABLE` on its schema, and ownership of
    /// what it replaces.
    async fn authorize_create(&self, name: &FullName) -> EngineResult<()> {
        self.authorize(
            Securable::Schema(name.schema_name()),
            Privilege::CreateTable,
        )
        .await?;
        if self.find_table(name).await?.is_some() {
            self.authorize_owner(Securable::Table(name.clone())).await?;
        }
        Ok(())
    }

    /// `DROP TABLE` or `DROP VIEW`: the entry goes; a managed table's files go too.
    pub(crate) async fn drop_tables(
        &self,
        names: &[ObjectName],
        if_exists: bool,
        kind: ObjectType,
    ) -> EngineResult<Outcome> {
        for n in names {
            let name = self.full_name(n)?;
            let Some(info) = self.find_table(&name).await? else {
                if if_exists {
                    continue;
                }
                return Err(EngineError::not_found(
                    if kind == ObjectType::View {
                        "View"
                    } else {
                        "Table"
                    },
                    &name,
                ));
            };
            self.authorize_owner(Securable::Table(name.clone())).await?;
            let is_view = info.table_type == TableType::View;
            if is_view != (kind == ObjectType::View) {
                return Err(EngineError::invalid(match is_view {
                    true => format!("{name} is a view; use DROP VIEW"),
                    false => format!("{name} is a table; use DROP TABLE"),
                }));
            }
            let dropped = match self.engine.metastore.drop_table(&name).await {
                Ok(t) => t,
                Err(CatalogError::NotFound { .. }) if if_exists => continue,
                Err(e) => return Err(e.into()),
            };
            self.delete_managed_data(&dropped).await;
        }
        Ok(Outcome::Done)
    }
}

/// Drops every CHECK constraint of `table` (one commit, if it has any).
async fn drop_all_constraints(table: deltalake::DeltaTable) -> EngineResult<deltalake::DeltaTable> {
    let names: Vec<String> = table
        .snapshot()?
        .metadata()
        .configuration()
        .keys()
        .filter_map(|k| k.strip_prefix("delta.constraints.").map(str::to_string))
        .collect();
    let mut table = table;
    for n in names {
        table = table.drop_constraints().with_constraint(n).await?;
    }
    Ok(table)
}

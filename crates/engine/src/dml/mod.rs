//! Data changes: INSERT (and REPLACE WHERE) in [`insert`], UPDATE and DELETE in [`update`], MERGE
//! in [`merge`], COPY INTO in [`copy`]; here, what they share: the Delta write, the statement's
//! transaction identity, and how a failed commit is reported.
//!
//! Every commit carries `txn {appId: <app>/<statement>, version: <attempt>}`. Before writing, a
//! statement looks its app id up in the table's log and skips the write if an earlier attempt of
//! the same work committed it; a commit that loses a race to another attempt of the same statement
//! counts as done. Appends that race other writers are retried by delta-rs (it re-checks the
//! winners' actions and commits at the next version); operations that truly conflict — two MERGEs
//! rewriting the same files — fail with a concurrent-modification error and leave the table as
//! the winner left it.

mod copy;
mod insert;
mod merge;
mod update;

use std::sync::Arc;

use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::prelude::DataFrame;
use deltalake::kernel::transaction::{CommitProperties, TransactionError};
use deltalake::kernel::Transaction;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use futures::StreamExt;
use lakeplane_core::catalog::{FullName, TableInfo};
use serde_json::Value;

use crate::catalog::location;
use crate::catalog::open::open;
use crate::error::{EngineError, EngineResult};
use crate::script::Script;

/// How many versions a commit tries before giving up. Each try follows another writer's commit and
/// checks it for a real conflict first (a MERGE that rewrote the files this one read fails at once),
/// so only writers that do not conflict — appends — ever use many. delta-rs's default, 15, let one of
/// four writers appending in a loop on S3 starve.
pub const MAX_COMMIT_ATTEMPTS: usize = 100;

/// A failed Delta operation on `table`, said in the user's terms.
pub(crate) fn delta_error(table: &FullName, e: DeltaTableError) -> EngineError {
    match e {
        DeltaTableError::Transaction {
            source: TransactionError::MaxCommitAttempts(n),
        } => EngineError::ConcurrentModification {
            table: table.to_string(),
            message: format!(
                "other writers committed first {n} times in a row; nothing was written. \
                 Run the statement again."
            ),
        },
        DeltaTableError::Transaction {
            source:
                source @ (TransactionError::CommitConflict(_)
                | TransactionError::VersionAlreadyExists(_)),
        } => EngineError::ConcurrentModification {
            table: table.to_string(),
            message: format!(
                "{source}. Another writer changed the files this statement read; the table is as \
                 that writer left it. Run the statement again."
            ),
        },
        DeltaTableError::InvalidData { message } => EngineError::Constraint(format!(
            "the write to {table} violates its constraints: {message}"
        )),
        DeltaTableError::SchemaMismatch { msg } => {
            EngineError::Constraint(format!("the rows do not fit the schema of {table}: {msg}"))
        }
        // delta-rs reports constraint and NOT NULL violations found while writing wrapped in a
        // generic error; they are the user's data, not a fault.
        e if e.to_string().contains("failed validation check")
            || e.to_string().contains("Invariant violations") =>
        {
            let msg = e.to_string();
            let detail = msg
                .split_once("Invalid data found: ")
                .map_or(msg.as_str(), |(_, d)| d);
            EngineError::Constraint(format!(
                "the write to {table} violates its constraints (NOT NULL or CHECK): {detail}"
            ))
        }
        e => EngineError::Delta(e),
    }
}

/// Deletes every file of a table's location (a dropped managed table).
pub(crate) async fn delete_location(table: &TableInfo) -> EngineResult<()> {
    let url = location(table)?;
    if let Ok(dir) = url.to_file_path() {
        return match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(EngineError::Io {
                path: dir.display().to_string(),
                source,
            }),
        };
    }
    let store = deltalake::DeltaTableBuilder::from_url(url.clone())?
        .build()?
        .log_store()
        .object_store(None);
    let paths = store.list(None).map(|m| m.map(|m| m.location)).boxed();
    let failed = |source| EngineError::ObjectStore {
        path: url.to_string(),
        source,
    };
    let mut deleted = store.delete_stream(paths);
    while let Some(r) = deleted.next().await {
        r.map_err(failed)?;
    }
    Ok(())
}

impl Script<'_> {
    /// The attempt (txn version) that already committed statement `index`'s write to `table`, if
    /// an earlier run of the same work did.
    pub(crate) async fn committed_before(
        &self,
        index: usize,
        table: &DeltaTable,
    ) -> EngineResult<Option<i64>> {
        let Some(txn) = &self.ctx.txn else {
            return Ok(None);
        };
        let app_id = format!("{}/{index}", txn.app_id);
        let version = table
            .snapshot()?
            .transaction_version(table.log_store().as_ref(), &app_id)
            .await?;
        if let Some(v) = version {
            tracing::info!(
                app_id,
                committed_by_attempt = v,
                attempt = txn.version,
                "the statement's write was committed by an earlier attempt; not writing it again"
            );
        }
        Ok(version)
    }

    /// The commit properties of statement `index`: the transaction identity, if any, who ran it,
    /// and how often to try the next version after losing a commit race.
    pub(crate) fn commit(&self, index: usize) -> CommitProperties {
        let props = CommitProperties::default()
            .with_max_retries(MAX_COMMIT_ATTEMPTS)
            .with_metadata([(
                "userName".to_string(),
                Value::String(self.ctx.principal.clone()),
            )]);
        match &self.ctx.txn {
            Some(txn) => props.with_application_transaction(Transaction::new(
                format!("{}/{index}", txn.app_id),
                txn.version,
            )),
            None => props,
        }
    }

    /// After a failed write: whether another attempt committed statement `index` to the table at
    /// `info`'s location in the meantime.
    pub(crate) async fn committed_meanwhile(&self, index: usize, info: &TableInfo) -> bool {
        if self.ctx.txn.is_none() {
            return false;
        }
        let Ok(url) = location(info) else {
            return false;
        };
        match open(&url).await {
            Ok(Some(table)) => matches!(self.committed_before(index, &table).await, Ok(Some(_))),
            _ => false,
        }
    }

    /// Streams `df` into `table` as one commit (append or overwrite of an existing table);
    /// returns the rows added.
    pub(crate) async fn write(
        &self,
        index: usize,
        info: &TableInfo,
        table: DeltaTable,
        df: DataFrame,
        mode: SaveMode,
        replace_where: Option<deltalake::datafusion::logical_expr::Expr>,
    ) -> EngineResult<u64> {
        let name = info.full_name();
        let mut builder = table
            .write(Vec::<RecordBatch>::new())
            .with_input_plan(df.into_unoptimized_plan())
            .with_session_state(Arc::new(self.session.state()))
            .with_save_mode(mode)
            .with_commit_properties(self.commit(index));
        if let Some(p) = replace_where {
            builder = builder.with_replace_where(p);
        }
        let table = match builder.await {
            Ok(t) => t,
            // Lost a commit race: if the winner was another attempt of this very statement, the
            // work is done.
            Err(e) => match self.committed_meanwhile(index, info).await {
                true => return Ok(0),
                false => return Err(delta_error(&name, e)),
            },
        };
        let rows = last_metric(&table, "num_added_rows").await;
        tracing::info!(table = %name, rows, principal = %self.ctx.principal, "table written");
        Ok(rows)
    }

    /// Creates a table from `df` (CTAS), or replaces its contents and schema (`OR REPLACE`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn write_new(
        &self,
        index: usize,
        name: &FullName,
        table: DeltaTable,
        df: DataFrame,
        mode: SaveMode,
        partitions: Vec<String>,
        config: std::collections::BTreeMap<String, String>,
        comment: Option<String>,
    ) -> EngineResult<u64> {
        let mut builder = table
            .write(Vec::<RecordBatch>::new())
            .with_input_plan(df.into_unoptimized_plan())
            .with_session_state(Arc::new(self.session.state()))
            .with_save_mode(mode)
            .with_table_name(name.name.clone())
            .with_commit_properties(self.commit(index));
        if !partitions.is_empty() {
            builder = builder.with_partition_columns(partitions);
        }
        if !config.is_empty() {
            builder = builder.with_configuration(config.into_iter().map(|(k, v)| (k, Some(v))));
        }
        if let Some(c) = comment {
            builder = builder.with_description(c);
        }
        if mode == SaveMode::Overwrite {
            builder = builder.with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite);
        }
        let table = builder.await.map_err(|e| delta_error(name, e))?;
        Ok(last_metric(&table, "num_added_rows").await)
    }
}

/// A metric of the table's last commit (`operationMetrics`), or 0.
pub(crate) async fn last_metric(table: &DeltaTable, metric: &str) -> u64 {
    match table.history(Some(1)).next().await {
        Some(Ok(commit)) => commit
            .info
            .get("operationMetrics")
            .and_then(|m| m.get(metric))
            .and_then(Value::as_u64)
            .unwrap_or(0),
        _ => 0,
    }
}

/// `expr` with every column reference unqualified (`t.c` → `c`).
pub(crate) fn unqualified(
    expr: deltalake::datafusion::logical_expr::Expr,
) -> deltalake::datafusion::error::Result<deltalake::datafusion::logical_expr::Expr> {
    use deltalake::datafusion::common::tree_node::{Transformed, TreeNode};
    use deltalake::datafusion::common::Column;
    use deltalake::datafusion::logical_expr::Expr;
    expr.transform(|e| match e {
        Expr::Column(c) if c.relation.is_some() => Ok(Transformed::yes(Expr::Column(
            Column::new_unqualified(c.name),
        ))),
        e => Ok(Transformed::no(e)),
    })
    .map(|t| t.data)
}

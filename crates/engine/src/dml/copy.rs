//! `COPY INTO t FROM 'path' FILEFORMAT = CSV | JSON | PARQUET [FILES = (…) | PATTERN = '…']
//! [FORMAT_OPTIONS (…)] [COPY_OPTIONS ('mergeSchema' = 'true')]`: loads the files under a folder
//! or prefix that the table has not loaded yet, in one commit.
//!
//! Idempotent: each loaded file is recorded in the table's own log as a Delta application
//! transaction whose id is derived from the file's path, size and modification time, so the next
//! COPY INTO of the same folder skips it (a file rewritten in place is loaded again, as it is new
//! data). Columns map by name (any case); a CSV without a header maps by position. Columns the
//! table lacks fail the load unless `mergeSchema` is set, which adds them.

use std::sync::Arc;

use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::datasource::file_format::csv::CsvFormat;
use deltalake::datafusion::datasource::file_format::json::JsonFormat;
use deltalake::datafusion::datasource::file_format::parquet::ParquetFormat;
use deltalake::datafusion::datasource::file_format::FileFormat;
use deltalake::datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use deltalake::datafusion::logical_expr::{cast, col, Expr};
use deltalake::kernel::Transaction;
use deltalake::protocol::SaveMode;
use futures::TryStreamExt;

use super::delta_error;
use crate::error::{EngineError, EngineResult};
use crate::files;
use crate::output::{Changes, Outcome};
use crate::script::Script;
use crate::sql::ast::CopyInto;

/// The most files one COPY INTO loads (a larger folder is loaded over several runs: each run
/// takes the first files not loaded yet, by path).
pub const MAX_COPY_FILES: usize = 1000;

/// Names the application transactions that record loaded files.
const COPY_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6c61_6b65_706c_616e_6500_0000_0000_0002);

const COPY: &str = "COPY INTO";

impl Script<'_> {
    pub(crate) async fn copy_into(&self, index: usize, copy: CopyInto) -> EngineResult<Outcome> {
        let name = self.full_name(&copy.table)?;
        let (info, delta) = self.writable(&name, false).await?;
        if self.committed_before(index, &delta).await?.is_some() {
            return Ok(Outcome::Changed(Changes::inserted(0)));
        }
        let format: Arc<dyn FileFormat> = match copy.format.as_str() {
            "CSV" => Arc::new(
                CsvFormat::default()
                    .with_has_header(files::flag(&copy.format_options, "header", false, COPY)?)
                    .with_delimiter(files::csv_delimiter(&copy.format_options, COPY)?),
            ),
            "JSON" => Arc::new(JsonFormat::default()),
            "PARQUET" => Arc::new(ParquetFormat::default()),
            other => {
                return Err(EngineError::Unsupported(format!(
                    "COPY INTO: FILEFORMAT = {other} is not supported; use CSV, JSON or PARQUET"
                )))
            }
        };
        let merge_schema = files::flag(&copy.copy_options, "mergeSchema", false, COPY)?;
        let headerless_csv =
            copy.format == "CSV" && !files::flag(&copy.format_options, "header", false, COPY)?;

        // The files under the source, with the ones to load picked.
        let location = files::locate(&self.session, &self.engine.sources, &copy.from)?;
        let root = ListingTableUrl::parse(&location)?;
        let store = self
            .session
            .runtime_env()
            .object_store(root.object_store())?;
        let state = self.session.state();
        // Every file under the prefix, subfolders included (a PATTERN may reach into them).
        let mut listed: Vec<_> = store
            .list(Some(root.prefix()))
            .try_collect()
            .await
            .map_err(|source| EngineError::ObjectStore {
                path: copy.from.clone(),
                source,
            })?;
        listed.sort_by(|a, b| a.location.cmp(&b.location));
        let prefix = root.prefix().as_ref().trim_end_matches('/').to_string();
        let mut picked = Vec::new();
        let mut bytes = 0u64;
        let limit = self.engine.sources.policy.limits.max_read_bytes;
        for meta in listed {
            let full = meta.location.as_ref();
            let relative = full
                .strip_prefix(&prefix)
                .unwrap_or(full)
                .trim_start_matches('/');
            let name_only = relative.rsplit('/').next().unwrap_or(relative);
            if relative.is_empty() || name_only.starts_with('.') || name_only.starts_with('_') {
                continue;
            }
            if !copy.files.is_empty() && !copy.files.iter().any(|f| f == relative || f == name_only)
            {
                continue;
            }
            if let Some(p) = &copy.pattern {
                if !crate::pattern::glob(p, relative) {
                    continue;
                }
            }
            let key = format!(
                "{}|{}|{}|{}",
                root.object_store().as_str(),
                full,
                meta.size,
                meta.last_modified.timestamp_millis()
            );
            let app_id = format!(
                "lakeplane/copy/{}",
                uuid::Uuid::new_v5(&COPY_NAMESPACE, key.as_bytes())
            );
            if delta
                .snapshot()?
                .transaction_version(delta.log_store().as_ref(), &app_id)
                .await?
                .is_some()
            {
                continue;
            }
            bytes = bytes.saturating_add(meta.size);
            if bytes > limit {
                return Err(EngineError::TooLarge {
                    what: format!("COPY INTO {name} from '{}'", copy.from),
                    limit,
                });
            }
            let url = format!("{}{}", root.object_store().as_str(), full);
            picked.push((ListingTableUrl::parse(&url)?, app_id));
            if picked.len() == MAX_COPY_FILES {
                break;
            }
        }
        if picked.is_empty() {
            return Ok(Outcome::Changed(Changes::inserted(0)));
        }

        let (urls, app_ids): (Vec<_>, Vec<_>) = picked.into_iter().unzip();
        let options = ListingOptions::new(format).with_file_extension("");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .infer_schema(&state)
            .await?;
        let source = self
            .session
            .read_table(Arc::new(ListingTable::try_new(config)?))?;
        let target = delta.snapshot()?.snapshot().arrow_schema();
        let source_fields: Vec<String> = source
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let by_name = !headerless_csv;
        let mut exprs: Vec<Expr> = Vec::new();
        for (i, f) in target.fields().iter().enumerate() {
            let from = match by_name {
                true => source_fields
                    .iter()
                    .find(|s| s.eq_ignore_ascii_case(f.name())),
                false => source_fields.get(i),
            };
            let e = match from {
                Some(s) => col(format!("\"{}\"", s.replace('"', "\"\""))),
                None => Expr::Literal(deltalake::datafusion::scalar::ScalarValue::Null, None),
            };
            exprs.push(cast(e, f.data_type().clone()).alias(f.name()));
        }
        let extra: Vec<&String> = match by_name {
            true => source_fields
                .iter()
                .filter(|s| {
                    !target
                        .fields()
                        .iter()
                        .any(|f| f.name().eq_ignore_ascii_case(s))
                })
                .collect(),
            false => source_fields.iter().skip(target.fields().len()).collect(),
        };
        if !extra.is_empty() && !merge_schema {
            return Err(EngineError::Constraint(format!(
                "COPY INTO {name}: the files have column(s) the table lacks: {}; \
                 set COPY_OPTIONS ('mergeSchema' = 'true') to add them",
                extra
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if merge_schema {
            for s in &extra {
                exprs.push(col(format!("\"{}\"", s.replace('"', "\"\""))).alias(s.as_str()));
            }
        }
        let df = source.select(exprs)?;
        let loaded: Vec<Transaction> = app_ids
            .into_iter()
            .map(|id| Transaction::new(id, self.ctx.txn.as_ref().map_or(0, |t| t.version)))
            .collect();
        let mut builder = delta
            .clone()
            .write(Vec::<RecordBatch>::new())
            .with_input_plan(df.into_unoptimized_plan())
            .with_session_state(Arc::new(self.session.state()))
            .with_save_mode(SaveMode::Append)
            .with_commit_properties(
                loaded
                    .into_iter()
                    .fold(self.commit(index), |c, t| c.with_application_transaction(t)),
            );
        if merge_schema {
            builder = builder.with_schema_mode(deltalake::operations::write::SchemaMode::Merge);
        }
        match builder.await {
            Ok(table) => Ok(Outcome::Changed(Changes::inserted(
                super::last_metric(&table, "num_added_rows").await,
            ))),
            Err(_) if self.committed_meanwhile(index, &info).await => {
                Ok(Outcome::Changed(Changes::inserted(0)))
            }
            Err(e) => Err(delta_error(&name, e)),
        }
    }
}

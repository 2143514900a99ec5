//! Files SQL reads: `read_files('path', format => 'csv', header => true)` as a table, the way
//! Databricks users write it (each call is replaced by a table registered in the session for the
//! statement), and `.sql` files. Every location passes the engine's [`AccessPolicy`] and its limits.

use std::ops::ControlFlow;
use std::sync::Arc;

use deltalake::datafusion::datasource::file_format::options::{
    CsvReadOptions, JsonReadOptions, ParquetReadOptions,
};
use deltalake::datafusion::datasource::listing::ListingTableUrl;
use deltalake::datafusion::execution::context::SessionContext;
use deltalake::datafusion::object_store::path::Path as StorePath;
use deltalake::datafusion::object_store::ObjectStoreExt;
use deltalake::datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, Ident, ObjectName, Statement, TableFactor, Value, VisitMut,
    VisitorMut,
};
use futures::TryStreamExt;
use url::Url;

use crate::access::{AccessPolicy, Location};
use crate::error::{EngineError, EngineResult};
use crate::s3::S3Stores;

/// Where SQL's inputs come from: the access policy and the S3 stores.
#[derive(Debug, Clone)]
pub(crate) struct Sources {
    pub policy: Arc<AccessPolicy>,
    pub s3: S3Stores,
}

/// Where the tables behind `read_files` calls are registered, apart from the warehouse's catalog.
pub(crate) const FILES_CATALOG: &str = "lakeplane_session";
pub(crate) const FILES_SCHEMA: &str = "files";

/// Numbers the tables behind `read_files` calls.
static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One `read_files(...)` call found in a statement.
#[derive(Debug, Default)]
struct Call {
    table: String,
    path: Option<String>,
    options: Vec<(String, String)>,
}

#[derive(Default)]
struct Finder {
    calls: Vec<Call>,
    error: Option<EngineError>,
}

fn literal(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
            Value::Boolean(b) => Some(b.to_string()),
            Value::Number(n, _) => Some(n.clone()),
            _ => None,
        },
        Expr::Identifier(i) => Some(i.value.clone()),
        _ => None,
    }
}

impl VisitorMut for Finder {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name,
            args: args_slot,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let Some(args) = args_slot.as_ref() else {
            return ControlFlow::Continue(());
        };
        if !name.to_string().eq_ignore_ascii_case("read_files") {
            return ControlFlow::Continue(());
        }
        let mut call = Call {
            // Unique in the process: one statement may plan several views that each read files.
            table: format!(
                "__read_files_{}",
                CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
            ..Default::default()
        };
        for arg in &args.args {
            let (key, value) = match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => (None, literal(e)),
                FunctionArg::Named {
                    name,
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => (Some(name.value.clone()), literal(e)),
                FunctionArg::ExprNamed {
                    name,
                    arg: FunctionArgExpr::Expr(e),
                    ..
                } => (literal(name), literal(e)),
                _ => (None, None),
            };
            let Some(value) = value else {
                self.error = Some(EngineError::Invalid(format!(
                    "read_files: argument '{arg}' must be a literal"
                )));
                return ControlFlow::Break(());
            };
            match key {
                None if call.path.is_none() => call.path = Some(value),
                None => {
                    self.error = Some(EngineError::Invalid(
                        "read_files takes one path; give options as name => value".into(),
                    ));
                    return ControlFlow::Break(());
                }
                Some(k) => call.options.push((k.to_ascii_lowercase(), value)),
            }
        }
        *name = ObjectName::from(vec![
            Ident::new(FILES_CATALOG),
            Ident::new(FILES_SCHEMA),
            Ident::new(call.table.clone()),
        ]);
        *args_slot = None;
        self.calls.push(call);
        ControlFlow::Continue(())
    }
}

/// Replaces `read_files(...)` calls in `stmt` with tables registered in `ctx`.
pub(crate) async fn rewrite(
    ctx: &SessionContext,
    sources: &Sources,
    stmt: &mut Statement,
) -> EngineResult<()> {
    let mut finder = Finder::default();
    let _ = stmt.visit(&mut finder);
    if let Some(e) = finder.error {
        return Err(e);
    }
    for call in finder.calls {
        register(ctx, sources, call).await?;
    }
    Ok(())
}

/// Options of a file read (`read_files`' named arguments, COPY INTO's FORMAT_OPTIONS), by name.
pub(crate) type FileOptions = [(String, String)];

/// The first of `names` given (any case).
pub(crate) fn option<'a>(opts: &'a FileOptions, names: &[&str]) -> Option<&'a str> {
    opts.iter()
        .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        .map(|(_, v)| v.as_str())
}

/// A true/false option; `what` names the statement in the error.
pub(crate) fn flag(
    opts: &FileOptions,
    name: &str,
    default: bool,
    what: &str,
) -> EngineResult<bool> {
    match option(opts, &[name]) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(EngineError::Invalid(format!(
            "{what}: option '{name}' must be true or false, got '{v}'"
        ))),
    }
}

/// A CSV delimiter (`sep` or `delimiter`, one character; `,` when not given).
pub(crate) fn csv_delimiter(opts: &FileOptions, what: &str) -> EngineResult<u8> {
    match option(opts, &["sep", "delimiter"]) {
        None => Ok(b','),
        Some(d) if d.len() == 1 => Ok(d.as_bytes()[0]),
        Some(d) => Err(EngineError::Invalid(format!(
            "{what}: the delimiter must be one character, got '{d}'"
        ))),
    }
}

/// Checks `path` against the access policy and makes its store readable in `ctx`; returns the
/// location to read (a local path or an `s3://` URL).
pub(crate) fn locate(ctx: &SessionContext, sources: &Sources, path: &str) -> EngineResult<String> {
    Ok(match sources.policy.check(path)? {
        Location::Local(p) => p.to_string_lossy().into_owned(),
        Location::S3 { bucket, url } => {
            let bucket_url = Url::parse(&format!("s3://{bucket}"))
                .map_err(|e| EngineError::invalid(format!("{path}: {e}")))?;
            ctx.register_object_store(&bucket_url, sources.s3.bucket(&bucket)?);
            url.to_string()
        }
    })
}

async fn register(ctx: &SessionContext, sources: &Sources, call: Call) -> EngineResult<()> {
    let Some(path) = call.path.clone() else {
        return Err(EngineError::invalid("read_files needs a path"));
    };
    let location = locate(ctx, sources, &path)?;
    let ext = extension(&location);
    let format = match option(&call.options, &["format"]) {
        Some(f) => f.to_ascii_lowercase(),
        None => match ext.as_str() {
            ".csv" | ".json" | ".parquet" => ext.trim_start_matches('.').to_string(),
            _ => {
                return Err(EngineError::Invalid(format!(
                    "read_files {path}: give format => 'csv', 'json' or 'parquet'"
                )))
            }
        },
    };
    // Before registering: schema inference already reads the files.
    let limit = sources.policy.limits.max_read_bytes;
    check_size(ctx, &path, &location, &ext, limit).await?;
    let qualified = format!("{FILES_CATALOG}.{FILES_SCHEMA}.{}", call.table);
    let table = qualified.as_str();
    match format.as_str() {
        "csv" => {
            let options = CsvReadOptions::new()
                .has_header(flag(&call.options, "header", false, "read_files")?)
                .delimiter(csv_delimiter(&call.options, "read_files")?)
                .file_extension(&ext);
            ctx.register_csv(table, &location, options).await?;
        }
        "json" => {
            let options = JsonReadOptions::default().file_extension(&ext);
            ctx.register_json(table, &location, options).await?;
        }
        "parquet" => {
            let options = ParquetReadOptions {
                file_extension: &ext,
                ..Default::default()
            };
            ctx.register_parquet(table, &location, options).await?;
        }
        other => {
            return Err(EngineError::Invalid(format!(
                "read_files: format '{other}' is not supported; use csv, json or parquet"
            )))
        }
    }
    Ok(())
}

/// Refuses a `read_files` whose files add up to more than `limit` bytes. The listing goes through
/// the session's object stores, so it also meets the access checks on every file.
async fn check_size(
    ctx: &SessionContext,
    shown: &str,
    location: &str,
    ext: &str,
    limit: u64,
) -> EngineResult<()> {
    let url = ListingTableUrl::parse(location)?;
    let store = ctx.runtime_env().object_store(url.object_store())?;
    let state = ctx.state();
    let mut files = url.list_all_files(&state, store.as_ref(), ext).await?;
    let mut total = 0u64;
    while let Some(meta) = files.try_next().await? {
        total = total.saturating_add(meta.size);
        if total > limit {
            return Err(EngineError::TooLarge {
                what: format!("read_files('{shown}')"),
                limit,
            });
        }
    }
    Ok(())
}

/// The file name's extension (with the dot), or "" for a folder.
fn extension(location: &str) -> String {
    let last = location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    if location.ends_with('/') || std::path::Path::new(location).is_dir() {
        return String::new();
    }
    match last.rsplit_once('.') {
        Some((_, e)) => format!(".{e}"),
        None => String::new(),
    }
}

/// Reads a `.sql` file: a local path, a `file:` URL or an `s3://` URI, within the access policy and
/// its size limit.
pub(crate) async fn read_sql_file(sources: &Sources, path: &str) -> EngineResult<String> {
    let bytes = read_file(sources, path, sources.policy.limits.max_sql_file_bytes).await?;
    String::from_utf8(bytes).map_err(|_| EngineError::invalid(format!("{path} is not UTF-8 text")))
}

/// Reads a whole file (a local path, a `file:` URL or an `s3://` URI) within the access policy,
/// refusing one larger than `limit` bytes.
pub(crate) async fn read_file(sources: &Sources, path: &str, limit: u64) -> EngineResult<Vec<u8>> {
    let too_large = || EngineError::TooLarge {
        what: path.to_string(),
        limit,
    };
    let bytes = match sources.policy.check(path)? {
        Location::S3 { bucket, url } => {
            let store = sources.s3.bucket(&bucket)?;
            let key = StorePath::from(url.path().trim_start_matches('/'));
            let failed = |source| EngineError::ObjectStore {
                path: path.to_string(),
                source,
            };
            if store.head(&key).await.map_err(failed)?.size > limit {
                return Err(too_large());
            }
            let got = store.get(&key).await.map_err(failed)?;
            got.bytes().await.map_err(failed)?.to_vec()
        }
        Location::Local(local) => {
            let io = |source| EngineError::Io {
                path: path.to_string(),
                source,
            };
            if !local.is_file() {
                return Err(EngineError::invalid(format!("{path} is not a file")));
            }
            let file = tokio::fs::File::open(&local).await.map_err(io)?;
            let mut bytes = Vec::new();
            use tokio::io::AsyncReadExt;
            file.take(limit + 1)
                .read_to_end(&mut bytes)
                .await
                .map_err(io)?;
            if bytes.len() as u64 > limit {
                return Err(too_large());
            }
            bytes
        }
    };
    Ok(bytes)
}

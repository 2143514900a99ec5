//! `read_files('path', format => 'csv', header => true)`: files as a table, the way Databricks users
//! write it. Each call is replaced by a table registered in the session for the statement.

use std::ops::ControlFlow;
use std::sync::Arc;

use deltalake::datafusion::datasource::file_format::options::{
    CsvReadOptions, JsonReadOptions, ParquetReadOptions,
};
use deltalake::datafusion::execution::context::SessionContext;
use deltalake::datafusion::object_store::aws::AmazonS3Builder;
use deltalake::datafusion::object_store::path::Path as StorePath;
use deltalake::datafusion::object_store::ObjectStoreExt;
use deltalake::datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, Ident, ObjectName, Statement, TableFactor, Value, VisitMut,
    VisitorMut,
};
use url::Url;

use crate::error::{EngineError, EngineResult};

/// Where the tables behind `read_files` calls are registered, apart from the warehouse's catalog.
pub(crate) const FILES_CATALOG: &str = "lakeplane_session";
pub(crate) const FILES_SCHEMA: &str = "files";

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
            table: format!("__read_files_{}", self.calls.len()),
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
pub(crate) async fn rewrite(ctx: &SessionContext, stmt: &mut Statement) -> EngineResult<()> {
    let mut finder = Finder::default();
    let _ = stmt.visit(&mut finder);
    if let Some(e) = finder.error {
        return Err(e);
    }
    for call in finder.calls {
        register(ctx, call).await?;
    }
    Ok(())
}

fn option<'a>(call: &'a Call, names: &[&str]) -> Option<&'a str> {
    call.options
        .iter()
        .find(|(k, _)| names.contains(&k.as_str()))
        .map(|(_, v)| v.as_str())
}

fn flag(call: &Call, name: &str, default: bool) -> EngineResult<bool> {
    match option(call, &[name]) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(EngineError::Invalid(format!(
            "read_files: {name} must be true or false, got '{v}'"
        ))),
    }
}

async fn register(ctx: &SessionContext, call: Call) -> EngineResult<()> {
    let Some(path) = call.path.clone() else {
        return Err(EngineError::Invalid("read_files needs a path".into()));
    };
    let location = normalize(&path)?;
    if let Some(store_url) = s3_bucket_url(&location)? {
        let store = AmazonS3Builder::from_env()
            .with_url(store_url.as_str())
            .build()
            .map_err(|e| EngineError::Invalid(format!("read_files {path}: {e}")))?;
        ctx.register_object_store(&store_url, Arc::new(store));
    }
    let ext = extension(&location);
    let format = match option(&call, &["format"]) {
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
    let qualified = format!("{FILES_CATALOG}.{FILES_SCHEMA}.{}", call.table);
    let table = qualified.as_str();
    match format.as_str() {
        "csv" => {
            let delimiter = match option(&call, &["sep", "delimiter"]) {
                None => b',',
                Some(d) if d.len() == 1 => d.as_bytes()[0],
                Some(d) => {
                    return Err(EngineError::Invalid(format!(
                        "read_files: the delimiter must be one character, got '{d}'"
                    )))
                }
            };
            let options = CsvReadOptions::new()
                .has_header(flag(&call, "header", false)?)
                .delimiter(delimiter)
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

/// A local path becomes absolute; URLs stay as they are.
fn normalize(path: &str) -> EngineResult<String> {
    if path.contains("://") {
        return Ok(path.to_string());
    }
    let p = std::path::Path::new(path);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| EngineError::Io(e.to_string()))?
            .join(p)
    };
    if !abs.exists() {
        return Err(EngineError::Invalid(format!(
            "read_files: {} does not exist",
            abs.display()
        )));
    }
    Ok(abs.to_string_lossy().into_owned())
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

fn s3_bucket_url(location: &str) -> EngineResult<Option<Url>> {
    if !location.starts_with("s3://") && !location.starts_with("s3a://") {
        return Ok(None);
    }
    let url = Url::parse(location).map_err(|e| EngineError::Invalid(format!("{location}: {e}")))?;
    let bucket = url.host_str().unwrap_or_default();
    Url::parse(&format!("s3://{bucket}"))
        .map(Some)
        .map_err(|e| EngineError::Invalid(format!("{location}: {e}")))
}

/// The bytes of a local file or an S3 object.
pub(crate) async fn read_bytes(path: &str) -> EngineResult<Vec<u8>> {
    if let Some(bucket_url) = s3_bucket_url(path)? {
        let url = Url::parse(path).map_err(|e| EngineError::Invalid(format!("{path}: {e}")))?;
        let store = AmazonS3Builder::from_env()
            .with_url(bucket_url.as_str())
            .build()
            .map_err(|e| EngineError::Invalid(format!("{path}: {e}")))?;
        let key = StorePath::from(url.path().trim_start_matches('/'));
        let got = store
            .get(&key)
            .await
            .map_err(|e| EngineError::Io(format!("{path}: {e}")))?;
        return got
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| EngineError::Io(format!("{path}: {e}")));
    }
    let local = path.strip_prefix("file://").unwrap_or(path);
    tokio::fs::read(local)
        .await
        .map_err(|e| EngineError::Io(format!("{local}: {e}")))
}

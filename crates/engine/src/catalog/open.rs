//! Opening Delta tables at their storage location: the latest version, or one in the past.

use deltalake::{DeltaTable, DeltaTableBuilder};
use futures::StreamExt;
use url::Url;

use crate::error::{EngineError, EngineResult};

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

/// A point in a table's history.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AsOf {
    Version(i64),
    /// Epoch milliseconds (UTC).
    Timestamp(i64),
}

/// Opens a table as it was at `as_of`. Errors name the table and say which versions exist.
pub(crate) async fn open_as_of(url: &Url, name: &str, as_of: &AsOf) -> EngineResult<DeltaTable> {
    let builder = DeltaTableBuilder::from_url(url.clone())?;
    let builder = match as_of {
        AsOf::Version(v) if *v < 0 => {
            return Err(EngineError::invalid(format!(
                "VERSION AS OF {v}: a version is 0 or more"
            )))
        }
        AsOf::Version(v) => {
            let latest = open(url).await?.and_then(|t| t.version()).unwrap_or(0);
            if *v as u64 > latest {
                return Err(EngineError::invalid(format!(
                    "table {name} has no version {v}: its versions run from 0 to {latest}"
                )));
            }
            builder.with_version(*v as u64)
        }
        AsOf::Timestamp(ms) => {
            let Some(at) = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(*ms) else {
                return Err(EngineError::invalid(
                    "TIMESTAMP AS OF: the time is out of range",
                ));
            };
            builder.with_timestamp(at)
        }
    };
    let table = builder.load().await.map_err(|e| match e {
        deltalake::DeltaTableError::InvalidVersion(v) => EngineError::invalid(format!(
            "table {name} has no version {v} (or its log was cleaned up)"
        )),
        e => EngineError::invalid(format!(
            "cannot time travel on table {name} to {as_of:?}: {e}"
        )),
    })?;
    if let AsOf::Timestamp(ms) = as_of {
        // Before the first commit, delta-rs answers with version 0; Databricks refuses.
        let first = table.history(Some(1)).next().await;
        if let Some(Ok(commit)) = first {
            if table.version() == Some(0) && commit.timestamp.is_some_and(|t| t > *ms) {
                return Err(EngineError::invalid(format!(
                    "table {name} did not exist yet at {}: its first version was committed at {}",
                    fmt_ms(*ms),
                    fmt_ms(commit.timestamp.unwrap_or_default())
                )));
            }
        }
    }
    Ok(table)
}

fn fmt_ms(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.to_rfc3339())
}

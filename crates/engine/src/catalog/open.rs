//! Opening Delta tables at their storage location: the latest version, or one in the past.

use deltalake::{DeltaTable, DeltaTableBuilder};
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
        AsOf::Version(v) => builder.with_version(*v as u64),
        AsOf::Timestamp(ms) => {
            let Some(at) = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(*ms) else {
                return Err(EngineError::invalid(
                    "TIMESTAMP AS OF: the time is out of range",
                ));
            };
            builder.with_timestamp(at)
        }
    };
    builder.load().await.map_err(|e| match e {
        deltalake::DeltaTableError::InvalidVersion(v) => EngineError::invalid(format!(
            "table {name} has no version {v} (or its log was cleaned up)"
        )),
        e => EngineError::invalid(format!(
            "cannot time travel on table {name} to {as_of:?}: {e}"
        )),
    })
}

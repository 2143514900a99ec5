//! What a script produces: the last statement's outcome, as Arrow record batches.

use std::sync::Arc;

use deltalake::arrow::array::{Int64Array, RecordBatch};
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::SendableRecordBatchStream;
use futures::{StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;

use crate::error::{EngineError, EngineResult};

/// What a statement produced.
pub enum Outcome {
    /// Rows, computed as they are read.
    Rows(SendableRecordBatchStream),
    /// A data change, and how many rows it touched.
    Changed(Changes),
    /// Nothing to return (DDL).
    Done,
}

/// The row counts of a data change, as Databricks reports them: `num_affected_rows`, then those of
/// `num_updated_rows`, `num_deleted_rows` and `num_inserted_rows` that the statement reports
/// (INSERT: inserted; MERGE: all three; UPDATE and DELETE: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    pub affected: u64,
    pub updated: Option<u64>,
    pub deleted: Option<u64>,
    pub inserted: Option<u64>,
}

impl Changes {
    /// An INSERT (or CTAS) of `rows` rows.
    pub fn inserted(rows: u64) -> Changes {
        Changes {
            affected: rows,
            inserted: Some(rows),
            ..Changes::default()
        }
    }

    /// An UPDATE or DELETE of `rows` rows.
    pub fn affected(rows: u64) -> Changes {
        Changes {
            affected: rows,
            ..Changes::default()
        }
    }

    fn columns(&self) -> Vec<(&'static str, u64)> {
        let mut cols = vec![("num_affected_rows", self.affected)];
        for (name, v) in [
            ("num_updated_rows", self.updated),
            ("num_deleted_rows", self.deleted),
            ("num_inserted_rows", self.inserted),
        ] {
            if let Some(v) = v {
                cols.push((name, v));
            }
        }
        cols
    }
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Rows(s) => write!(f, "Rows({:?})", s.schema()),
            Outcome::Changed(c) => write!(f, "Changed({c:?})"),
            Outcome::Done => write!(f, "Done"),
        }
    }
}

/// What a script did: how many statements ran, and the last one's outcome.
#[derive(Debug)]
pub struct ScriptOutput {
    pub statements: usize,
    pub last: Outcome,
    /// The current catalog and schema when the script ended (a session carries them into its next
    /// script, so that `USE` lasts).
    pub current: lakeplane_core::catalog::SchemaName,
}

impl ScriptOutput {
    /// The last outcome as record batches: rows as they are; a data change as one row of its
    /// [`Changes`] (as Databricks answers DML); DDL as no rows.
    pub fn into_stream(self) -> SendableRecordBatchStream {
        match self.last {
            Outcome::Rows(s) => s,
            Outcome::Changed(c) => one_row(&c.columns()),
            Outcome::Done => {
                let schema = Arc::new(Schema::empty());
                Box::pin(RecordBatchStreamAdapter::new(
                    schema,
                    futures::stream::empty(),
                ))
            }
        }
    }

    /// Every batch, read to the end.
    pub async fn collect(self) -> EngineResult<Vec<RecordBatch>> {
        Ok(self.into_stream().try_collect().await?)
    }
}

/// One row of Int64 columns.
fn one_row(columns: &[(&'static str, u64)]) -> SendableRecordBatchStream {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, _)| Field::new(*n, DataType::Int64, false))
            .collect::<Vec<_>>(),
    ));
    let arrays = columns
        .iter()
        .map(|(_, v)| Arc::new(Int64Array::from(vec![*v as i64])) as _)
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(DataFusionError::from);
    Box::pin(RecordBatchStreamAdapter::new(
        schema,
        futures::stream::once(async move { batch }),
    ))
}

/// A stream of one batch (SHOW and DESCRIBE answers).
pub(crate) fn batch_stream(batch: RecordBatch) -> SendableRecordBatchStream {
    let schema = batch.schema();
    Box::pin(RecordBatchStreamAdapter::new(
        schema,
        futures::stream::once(async move { Ok(batch) }),
    ))
}

/// The stream, ending with a `Cancelled` error as soon as `cancel` fires.
pub(crate) fn cancellable(
    stream: SendableRecordBatchStream,
    cancel: &CancellationToken,
) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let until = cancel.clone().cancelled_owned();
    let after = cancel.clone();
    let tail = futures::stream::once(async move { after.is_cancelled() }).filter_map(
        |cancelled| async move {
            cancelled.then(|| Err(DataFusionError::External(Box::new(EngineError::Cancelled))))
        },
    );
    Box::pin(RecordBatchStreamAdapter::new(
        schema,
        stream.take_until(until).chain(tail),
    ))
}

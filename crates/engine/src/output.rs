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
    /// A write, and how many rows it added.
    Written { rows: u64 },
    /// Nothing to return (DDL).
    Done,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Rows(s) => write!(f, "Rows({:?})", s.schema()),
            Outcome::Written { rows } => write!(f, "Written {{ rows: {rows} }}"),
            Outcome::Done => write!(f, "Done"),
        }
    }
}

/// What a script did: how many statements ran, and the last one's outcome.
#[derive(Debug)]
pub struct ScriptOutput {
    pub statements: usize,
    pub last: Outcome,
}

impl ScriptOutput {
    /// The last outcome as record batches: rows as they are; a write as one row of
    /// `num_affected_rows` and `num_inserted_rows` (as Databricks answers DML); DDL as no rows.
    pub fn into_stream(self) -> SendableRecordBatchStream {
        match self.last {
            Outcome::Rows(s) => s,
            Outcome::Written { rows } => {
                let n = rows as i64;
                let schema = Arc::new(Schema::new(vec![
                    Field::new("num_affected_rows", DataType::Int64, false),
                    Field::new("num_inserted_rows", DataType::Int64, false),
                ]));
                let batch = RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(Int64Array::from(vec![n])),
                        Arc::new(Int64Array::from(vec![n])),
                    ],
                )
                .map_err(DataFusionError::from);
                Box::pin(RecordBatchStreamAdapter::new(
                    schema,
                    futures::stream::once(async move { batch }),
                ))
            }
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

//! The runtime queries execute on, apart from the caller's. DataFusion's operators are CPU-bound and
//! do not yield often; on the caller's runtime they starve its other tasks (a worker's heartbeats,
//! an API's requests, timers). So every script runs on this runtime, and the caller receives the last
//! statement's batches over a small channel: its own runtime stays responsive, and dropping the
//! stream or the execution stops the work.

use std::future::Future;
use std::sync::Arc;

use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

use crate::error::{EngineError, EngineResult};

/// Batches in flight between the query runtime and the reader.
const CHANNEL_BATCHES: usize = 2;
/// Deep plans recurse; debug builds need room.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

/// A multi-threaded runtime, shut down in the background when the last engine clone is dropped (a
/// runtime may not be dropped from within async code).
#[derive(Debug)]
pub(crate) struct QueryRuntime {
    runtime: Option<Runtime>,
}

impl QueryRuntime {
    pub(crate) fn new(threads: usize) -> EngineResult<Arc<QueryRuntime>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("lakeplane-query")
            .thread_stack_size(THREAD_STACK_BYTES)
            .enable_all()
            .build()
            .map_err(|source| EngineError::Io {
                path: "the query runtime".into(),
                source,
            })?;
        Ok(Arc::new(QueryRuntime {
            runtime: Some(runtime),
        }))
    }

    fn handle(&self) -> EngineResult<&Handle> {
        self.runtime
            .as_ref()
            .map(Runtime::handle)
            .ok_or_else(|| EngineError::invalid("the query runtime has shut down"))
    }

    /// Runs `work` on the query runtime; dropping the returned future aborts it.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = EngineResult<T>> + Send + 'static,
    ) -> EngineResult<T> {
        let mut task = AbortOnDrop(self.handle()?.spawn(work));
        match (&mut task.0).await {
            Ok(result) => result,
            Err(e) if e.is_cancelled() => Err(EngineError::Cancelled),
            Err(e) => Err(EngineError::invalid(format!("a query task failed: {e}"))),
        }
    }
}

impl Drop for QueryRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Drives `stream` on the current (query) runtime and hands its batches to the returned stream,
/// which may be read from any runtime. Dropping the returned stream stops the work.
pub(crate) fn forward(stream: SendableRecordBatchStream) -> SendableRecordBatchStream {
    let schema = stream.schema();
    let (tx, rx) =
        tokio::sync::mpsc::channel::<Result<RecordBatch, DataFusionError>>(CHANNEL_BATCHES);
    let driver = tokio::spawn(async move {
        let mut stream = stream;
        while let Some(batch) = stream.next().await {
            let failed = batch.is_err();
            if tx.send(batch).await.is_err() || failed {
                break;
            }
        }
    });
    let guard = Arc::new(AbortOnDrop(driver));
    let batches = futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv().await.map(|batch| (batch, (rx, guard)))
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, batches))
}

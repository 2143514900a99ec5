//! The result store port: where a statement's result chunks are written by the worker that ran it
//! and read back by the API (`INLINE`) or fetched by clients through short-lived links
//! (`EXTERNAL_LINKS`). Adapters: a local folder whose links `lakeplane dev` serves, and S3 with
//! presigned URLs (`lakeplane-results`).

use std::time::Duration;

use async_trait::async_trait;

/// A backend's error, kept as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What the result store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("chunk {chunk} of statement {statement} is not in the result store")]
    NotFound { statement: String, chunk: u64 },
    #[error(
        "the result store failed to {action} chunk {chunk} of statement {statement}: {source}"
    )]
    Unavailable {
        action: &'static str,
        statement: String,
        chunk: u64,
        #[source]
        source: BoxError,
    },
}

/// A link a client fetches a chunk from without credentials, and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkLink {
    pub url: String,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

/// The result store port.
#[async_trait]
pub trait ResultStore: Send + Sync + std::fmt::Debug + 'static {
    /// Writes chunk `chunk` of `statement` (replacing an earlier attempt's).
    async fn put(&self, statement: &str, chunk: u64, bytes: Vec<u8>) -> Result<(), ResultsError>;
    /// Reads a chunk back.
    async fn get(&self, statement: &str, chunk: u64) -> Result<Vec<u8>, ResultsError>;
    /// A link to the chunk, valid for `ttl`.
    async fn link(
        &self,
        statement: &str,
        chunk: u64,
        ttl: Duration,
    ) -> Result<ChunkLink, ResultsError>;
    /// Deletes every chunk of `statement` (a closed statement).
    async fn delete(&self, statement: &str) -> Result<(), ResultsError>;
}

//! The result store's adapters and the result writer. Chunks are objects under a prefix, one folder
//! per statement: in a local folder, whose links `lakeplane dev` serves itself (signed with a key
//! only the API process holds, and expiring), or on S3, whose links are presigned URLs.
//! [`write_result`] turns a statement's rows into chunks in the format the client asked for.

mod chunks;
mod links;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deltalake::datafusion::object_store::aws::AmazonS3;
use deltalake::datafusion::object_store::local::LocalFileSystem;
use deltalake::datafusion::object_store::path::Path;
use deltalake::datafusion::object_store::signer::Signer;
use deltalake::datafusion::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use futures::TryStreamExt;
use lakeplane_core::sql::{ChunkLink, ResultStore, ResultsError};
use url::Url;

pub use chunks::{write_result, ResultRequest, DEFAULT_CHUNK_BYTES};
pub use links::LinkSigner;

use crate::error::{EngineError, EngineResult};
use crate::Engine;

/// Where links point.
#[derive(Debug, Clone)]
enum Links {
    /// Presigned S3 URLs.
    Presigned(Arc<AmazonS3>),
    /// `<base>/api/2.0/lakeplane/results/<statement>/<chunk>?expires=…&signature=…`, served by the
    /// API process that holds the signer; `None` in processes that only write.
    Served(Option<(String, LinkSigner)>),
}

/// Result chunks as objects: `<prefix>/<statement id>/<chunk index>`.
#[derive(Debug, Clone)]
pub struct ObjectResults {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    links: Links,
}

/// The path a served link names, below the API's base URL.
pub const SERVED_PATH: &str = "/api/2.0/lakeplane/results";

impl ObjectResults {
    /// Chunks in a local folder (created if missing). `serve` is the API's base URL and the key
    /// links are signed with, in the process that hands out and serves links.
    pub fn local(
        dir: &std::path::Path,
        serve: Option<(String, LinkSigner)>,
    ) -> EngineResult<ObjectResults> {
        let io = |source| EngineError::Io {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let fs =
            LocalFileSystem::new_with_prefix(dir).map_err(|source| EngineError::ObjectStore {
                path: dir.display().to_string(),
                source,
            })?;
        Ok(ObjectResults {
            store: Arc::new(fs),
            prefix: Path::default(),
            links: Links::Served(
                serve.map(|(base, s)| (base.trim_end_matches('/').to_string(), s)),
            ),
        })
    }

    /// Chunks under `s3://bucket/prefix/`, linked by presigned URLs; S3 access as the engine's.
    pub fn s3(engine: &Engine, location: &Url) -> EngineResult<ObjectResults> {
        let bucket = location
            .host_str()
            .filter(|_| location.scheme() == "s3")
            .ok_or_else(|| EngineError::invalid(format!("{location} is not an s3:// location")))?;
        let s3 = engine.sources.s3.amazon(bucket)?;
        Ok(ObjectResults {
            store: s3.clone(),
            prefix: Path::from(location.path().trim_matches('/')),
            links: Links::Presigned(s3),
        })
    }

    fn path(&self, statement: &str, chunk: u64) -> Path {
        self.prefix.clone().join(statement).join(chunk.to_string())
    }

    fn failed<'a>(
        action: &'static str,
        statement: &'a str,
        chunk: u64,
    ) -> impl FnOnce(deltalake::datafusion::object_store::Error) -> ResultsError + 'a {
        move |e| match e {
            deltalake::datafusion::object_store::Error::NotFound { .. } => ResultsError::NotFound {
                statement: statement.to_string(),
                chunk,
            },
            e => ResultsError::Unavailable {
                action,
                statement: statement.to_string(),
                chunk,
                source: Box::new(e),
            },
        }
    }
}

#[async_trait]
impl ResultStore for ObjectResults {
    async fn put(&self, statement: &str, chunk: u64, bytes: Vec<u8>) -> Result<(), ResultsError> {
        self.store
            .put(&self.path(statement, chunk), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(Self::failed("write", statement, chunk))
    }

    async fn get(&self, statement: &str, chunk: u64) -> Result<Vec<u8>, ResultsError> {
        let got = self
            .store
            .get(&self.path(statement, chunk))
            .await
            .map_err(Self::failed("read", statement, chunk))?;
        let bytes = got
            .bytes()
            .await
            .map_err(Self::failed("read", statement, chunk))?;
        Ok(bytes.to_vec())
    }

    async fn link(
        &self,
        statement: &str,
        chunk: u64,
        ttl: Duration,
    ) -> Result<ChunkLink, ResultsError> {
        let expires_at = crate::ddl::now_ms() + ttl.as_millis() as i64;
        match &self.links {
            Links::Presigned(s3) => {
                let url = s3
                    .signed_url(http::Method::GET, &self.path(statement, chunk), ttl)
                    .await
                    .map_err(Self::failed("sign a link to", statement, chunk))?;
                Ok(ChunkLink {
                    url: url.to_string(),
                    expires_at,
                })
            }
            Links::Served(Some((base, signer))) => Ok(ChunkLink {
                url: format!(
                    "{base}{SERVED_PATH}/{statement}/{chunk}?expires={expires_at}&signature={}",
                    signer.sign(statement, chunk, expires_at)
                ),
                expires_at,
            }),
            Links::Served(None) => Err(ResultsError::Unavailable {
                action: "link",
                statement: statement.to_string(),
                chunk,
                source: "this process does not serve result links".into(),
            }),
        }
    }

    async fn delete(&self, statement: &str) -> Result<(), ResultsError> {
        let prefix = self.prefix.clone().join(statement);
        let paths: Vec<Path> = self
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(Self::failed("list", statement, 0))?;
        for p in paths {
            match self.store.delete(&p).await {
                Ok(()) | Err(deltalake::datafusion::object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(Self::failed("delete", statement, 0)(e)),
            }
        }
        Ok(())
    }
}

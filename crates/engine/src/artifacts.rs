//! The artifact store adapter: MLflow artifacts as objects under the storage root's
//! `_lakeplane/mlflow-artifacts/` folder, in a local folder or on S3 (the engine's S3 access).

use std::sync::Arc;

use async_trait::async_trait;
use deltalake::datafusion::object_store::local::LocalFileSystem;
use deltalake::datafusion::object_store::path::Path;
use deltalake::datafusion::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use futures::TryStreamExt;
use lakeplane_core::mlflow::artifacts::{ArtifactError, ArtifactStore, FileInfo};
use url::Url;

use crate::error::{EngineError, EngineResult};
use crate::Engine;

/// Where artifacts are kept, under the storage root.
pub const ARTIFACTS: &str = "_lakeplane/mlflow-artifacts";

/// MLflow artifacts as objects.
#[derive(Debug, Clone)]
pub struct ObjectArtifacts {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    /// The URL of the root folder, ending in `/`.
    base: Url,
}

impl ObjectArtifacts {
    /// The artifact folder under the engine's storage root.
    pub fn under_root(engine: &Engine) -> EngineResult<ObjectArtifacts> {
        let base = engine
            .root
            .url()
            .join(&format!("{ARTIFACTS}/"))
            .map_err(|e| EngineError::invalid(format!("artifact location: {e}")))?;
        if let Ok(dir) = base.to_file_path() {
            let io = |source| EngineError::Io {
                path: dir.display().to_string(),
                source,
            };
            std::fs::create_dir_all(&dir).map_err(io)?;
            let fs = LocalFileSystem::new_with_prefix(&dir).map_err(|source| {
                EngineError::ObjectStore {
                    path: dir.display().to_string(),
                    source,
                }
            })?;
            return Ok(ObjectArtifacts {
                store: Arc::new(fs),
                prefix: Path::default(),
                base,
            });
        }
        let bucket = base
            .host_str()
            .ok_or_else(|| EngineError::invalid(format!("{base} names no bucket")))?;
        Ok(ObjectArtifacts {
            store: engine.sources.s3.bucket(bucket)?,
            prefix: Path::from(base.path().trim_matches('/')),
            base,
        })
    }

    fn path(&self, path: &str) -> Path {
        path.split('/')
            .filter(|s| !s.is_empty())
            .fold(self.prefix.clone(), |p, s| p.join(s))
    }

    /// `path` relative to the root.
    fn relative(&self, p: &Path) -> String {
        let full = p.as_ref();
        let prefix = self.prefix.as_ref();
        full.strip_prefix(prefix)
            .unwrap_or(full)
            .trim_start_matches('/')
            .to_string()
    }
}

fn failed<'a>(
    action: &'static str,
    path: &'a str,
) -> impl FnOnce(deltalake::datafusion::object_store::Error) -> ArtifactError + 'a {
    move |e| match e {
        deltalake::datafusion::object_store::Error::NotFound { .. } => ArtifactError::NotFound {
            path: path.to_string(),
        },
        e => ArtifactError::Unavailable {
            action,
            path: path.to_string(),
            source: Box::new(e),
        },
    }
}

#[async_trait]
impl ArtifactStore for ObjectArtifacts {
    async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), ArtifactError> {
        self.store
            .put(&self.path(path), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(failed("write", path))
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, ArtifactError> {
        let got = self
            .store
            .get(&self.path(path))
            .await
            .map_err(failed("read", path))?;
        Ok(got.bytes().await.map_err(failed("read", path))?.to_vec())
    }

    async fn list(&self, dir: &str) -> Result<Vec<FileInfo>, ArtifactError> {
        let prefix = self.path(dir);
        let listed = self
            .store
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(failed("list", dir))?;
        let mut out: Vec<FileInfo> = listed
            .common_prefixes
            .iter()
            .map(|p| FileInfo {
                path: self.relative(p),
                is_dir: true,
                file_size: None,
            })
            .chain(listed.objects.iter().map(|o| FileInfo {
                path: self.relative(&o.location),
                is_dir: false,
                file_size: Some(o.size),
            }))
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn walk(&self, dir: &str) -> Result<Vec<FileInfo>, ArtifactError> {
        let prefix = self.path(dir);
        let base = self.relative(&prefix);
        let mut out: Vec<FileInfo> = self
            .store
            .list(Some(&prefix))
            .map_ok(|o| FileInfo {
                path: self
                    .relative(&o.location)
                    .strip_prefix(&base)
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                is_dir: false,
                file_size: Some(o.size),
            })
            .try_collect()
            .await
            .map_err(failed("list", dir))?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn delete(&self, path: &str) -> Result<(), ArtifactError> {
        match self.store.delete(&self.path(path)).await {
            Ok(()) | Err(deltalake::datafusion::object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed("delete", path)(e)),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }
}

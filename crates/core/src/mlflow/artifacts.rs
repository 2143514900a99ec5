//! The artifact store port: the files of runs and logged models, below one root (a folder under
//! the storage root: a local folder or an S3 prefix), reached by the client through the MLflow
//! artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/<path>`). The adapter is
//! `lakeplane_engine::artifacts::ObjectArtifacts` (object_store: local file system or S3).

use async_trait::async_trait;
use serde::Serialize;

use crate::{DomainError, DomainResult};

/// A backend's error, kept as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("artifact {path} does not exist")]
    NotFound { path: String },
    #[error("the artifact store failed to {action} {path}: {source}")]
    Unavailable {
        action: &'static str,
        path: String,
        #[source]
        source: BoxError,
    },
}

/// One entry of a listing (MLflow's `FileInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileInfo {
    /// Relative to the folder listed's root (the path the client asked for, then the name).
    pub path: String,
    pub is_dir: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

/// The artifact store port. Paths are relative to its root and checked with [`check_path`].
#[async_trait]
pub trait ArtifactStore: Send + Sync + std::fmt::Debug + 'static {
    async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), ArtifactError>;
    async fn get(&self, path: &str) -> Result<Vec<u8>, ArtifactError>;
    /// The files and folders directly in folder `dir` ("" for the root).
    async fn list(&self, dir: &str) -> Result<Vec<FileInfo>, ArtifactError>;
    /// Every file below folder `dir`, recursively, with its path relative to `dir`.
    async fn walk(&self, dir: &str) -> Result<Vec<FileInfo>, ArtifactError>;
    async fn delete(&self, path: &str) -> Result<(), ArtifactError>;
    /// The URL of a path (`s3://bucket/prefix/…` or `file:///…`), for services that read the
    /// files themselves (SageMaker's model data, a scoring server).
    fn url(&self, path: &str) -> String;
}

/// The longest artifact path accepted.
pub const MAX_PATH_CHARS: usize = 1024;

/// An artifact path as the store takes it: relative, `/`-separated, no `.`/`..`/empty segments.
pub fn check_path(path: &str) -> DomainResult<String> {
    let trimmed = path.trim_matches('/');
    let bad = trimmed.len() > MAX_PATH_CHARS
        || trimmed.contains('\\')
        || trimmed.contains('\0')
        || trimmed
            .split('/')
            .any(|s| s == "." || s == ".." || (s.is_empty() && !trimmed.is_empty()));
    if bad {
        return Err(DomainError::invalid(format!(
            "Invalid artifact path: '{path}'. Paths are relative, at most {MAX_PATH_CHARS} \
             characters, and have no '.' or '..' segments."
        )));
    }
    Ok(trimmed.to_string())
}

/// The path below the artifact root of an `mlflow-artifacts:/…` URI.
pub fn proxied_path(uri: &str) -> Option<&str> {
    uri.strip_prefix("mlflow-artifacts:")
        .map(|p| p.trim_start_matches('/'))
        .map(|p| match p.find('/') {
            // `mlflow-artifacts://host:port/path`: the authority is not part of the path.
            Some(_) if uri.starts_with("mlflow-artifacts://") => {
                p.split_once('/').map_or("", |(_, r)| r)
            }
            _ => p,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_below_the_root() {
        assert_eq!(
            check_path("/1/models/m-1/artifacts/MLmodel").unwrap(),
            "1/models/m-1/artifacts/MLmodel"
        );
        assert_eq!(check_path("").unwrap(), "");
        for bad in ["a/../b", "..", "a//b", "a\\b", "./a"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        assert_eq!(proxied_path("mlflow-artifacts:/1/models"), Some("1/models"));
        assert_eq!(proxied_path("mlflow-artifacts://h:5000/1/x"), Some("1/x"));
        assert_eq!(proxied_path("s3://b/k"), None);
    }
}

//! Module bytes under the storage root, named by their SHA-256: `<root>/_lakeplane/udfs/<hash>.wasm`.
//! Written once when a function is created (a second function with the same code shares the
//! file), read by every process that calls a function it has not loaded yet, and checked against
//! the hash when read, so a function runs exactly the code it was created with.

use deltalake::datafusion::object_store::path::Path as StorePath;
use deltalake::datafusion::object_store::{ObjectStoreExt, PutPayload};
use url::Url;

use crate::error::{EngineError, EngineResult};
use crate::Engine;

/// Where modules are kept, under the storage root.
const MODULES: &str = "_lakeplane/udfs";

/// The URL of the module with this hash.
pub(crate) fn location(engine: &Engine, hash: &str) -> EngineResult<Url> {
    engine
        .root
        .url()
        .join(&format!("{MODULES}/{hash}.wasm"))
        .map_err(|e| EngineError::invalid(format!("module location: {e}")))
}

fn io(url: &Url) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: url.to_string(),
        source,
    }
}

fn s3_key(url: &Url) -> EngineResult<(String, StorePath)> {
    let bucket = url
        .host_str()
        .ok_or_else(|| EngineError::invalid(format!("{url} names no bucket")))?;
    Ok((
        bucket.to_owned(),
        StorePath::from(url.path().trim_start_matches('/')),
    ))
}

/// Stores `bytes` (whose hash is `hash`) and returns their location.
pub(crate) async fn store(engine: &Engine, hash: &str, bytes: &[u8]) -> EngineResult<Url> {
    let url = location(engine, hash)?;
    if let Ok(path) = url.to_file_path() {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io(&url))?;
        }
        // Content-addressed: a file already there holds these very bytes.
        if !path.is_file() {
            let tmp = path.with_extension(format!("tmp{}", uuid::Uuid::new_v4().simple()));
            tokio::fs::write(&tmp, bytes).await.map_err(io(&url))?;
            tokio::fs::rename(&tmp, &path).await.map_err(io(&url))?;
        }
        return Ok(url);
    }
    let (bucket, key) = s3_key(&url)?;
    let store = engine.sources.s3.bucket(&bucket)?;
    store
        .put(&key, PutPayload::from(bytes.to_vec()))
        .await
        .map_err(|source| EngineError::ObjectStore {
            path: url.to_string(),
            source,
        })?;
    Ok(url)
}

/// Reads the module at `location` and checks that it is the one with `hash`.
pub(crate) async fn load(engine: &Engine, location: &str, hash: &str) -> EngineResult<Vec<u8>> {
    let url = Url::parse(location)
        .map_err(|e| EngineError::invalid(format!("module location '{location}': {e}")))?;
    let bytes = if let Ok(path) = url.to_file_path() {
        tokio::fs::read(&path).await.map_err(io(&url))?
    } else {
        let (bucket, key) = s3_key(&url)?;
        let store = engine.sources.s3.bucket(&bucket)?;
        let failed = |source| EngineError::ObjectStore {
            path: url.to_string(),
            source,
        };
        let got = store.get(&key).await.map_err(failed)?;
        got.bytes().await.map_err(failed)?.to_vec()
    };
    let got = lakeplane_udf_host::module_hash(&bytes);
    if got != hash {
        return Err(EngineError::invalid(format!(
            "the module at {location} has changed (SHA-256 {got}, the function was created with \
             {hash}); create the function again"
        )));
    }
    Ok(bytes)
}

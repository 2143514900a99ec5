//! Lakeplane's shared test harness, for every crate's integration tests: the guard that says how to
//! start moto when it is missing, the AWS configuration that points the real SDK clients at it, unique
//! names, and fresh state stores. One copy, used everywhere.
//!
//! ```no_run
//! # async fn demo() {
//! let store = lakeplane_testing::dynamo_store().await; // a fresh table on moto
//! let local = lakeplane_testing::embedded_store().await; // a fresh SQLite file
//! # }
//! ```

// Test support: failing loudly, with a message, is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod udf;

pub use udf::{hostile_fixture, udf_example, wasm_rustc};

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lakeplane_store::dynamodb::DynamoStore;
use lakeplane_store::embedded::EmbeddedStore;
use lakeplane_store::StateStore;

/// The moto endpoint that `scripts/test` started (`AWS_ENDPOINT_URL`), or a panic that says how to
/// start one.
pub fn moto_endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "this test needs moto: run it through scripts/test, or start `moto_server -H 127.0.0.1 -p 5000` \
         and export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ACCESS_KEY_ID=testing \
         AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 (got AWS_ENDPOINT_URL='{endpoint}')"
    );
    endpoint
}

/// The AWS configuration a binary's composition root would load, pointed at moto.
pub async fn aws_config() -> aws_config::SdkConfig {
    moto_endpoint();
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// A name no other test (in this process or another) uses: `<prefix>-<pid>-<nanos>-<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh S3 bucket on moto (which takes unsigned requests); returns its name.
pub async fn s3_bucket(prefix: &str) -> String {
    let name = unique(prefix);
    let resp = reqwest::Client::new()
        .put(format!("{}/{name}", moto_endpoint()))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
    name
}

/// Puts an object into a bucket on moto.
pub async fn s3_put(bucket: &str, key: &str, bytes: Vec<u8>) {
    let resp = reqwest::Client::new()
        .put(format!("{}/{bucket}/{key}", moto_endpoint()))
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

/// A fresh embedded store in a temporary directory (removed with the store).
pub async fn embedded_store() -> Arc<dyn StateStore> {
    Arc::new(EmbeddedStore::in_temp_dir().await.unwrap())
}

/// A fresh DynamoDB table on moto, with the adapter over it.
pub async fn dynamo_table() -> DynamoStore {
    let store = DynamoStore::new(&aws_config().await, unique("lakeplane"));
    if let Err(e) = store.create_table().await {
        let source = std::error::Error::source(&e).map(|s| format!("{s:?}"));
        panic!(
            "cannot create table {} on moto: {e} ({source:?})",
            store.table()
        );
    }
    store
}

/// [`dynamo_table`] as the port.
pub async fn dynamo_store() -> Arc<dyn StateStore> {
    Arc::new(dynamo_table().await)
}

/// A fresh table whose queues and collections spread over `shards` partitions.
pub async fn dynamo_store_with_shards(shards: u32) -> Arc<dyn StateStore> {
    Arc::new(dynamo_table().await.with_shards(shards))
}

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Polls `check` every 10 ms until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

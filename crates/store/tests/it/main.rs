//! The state store conformance suite, run against every adapter.
//!
//! The DynamoDB run needs moto: the test command (`scripts/test`) starts it and exports
//! `AWS_ENDPOINT_URL`. Without it, those tests fail and say how to start it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod conformance;

use std::future::Future;
use std::sync::Arc;

use lakeplane_store::StateStore;

/// Runs one conformance case against both adapters, each with a fresh store.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::conformance::$case(crate::embedded_store().await).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::conformance::$case(crate::dynamo_store().await).await;
                }
            )*
        }
    };
}

conformance!(
    insert_get_and_versioned_replace,
    insert_is_all_or_nothing,
    stale_or_missing_replace_is_refused,
    delete_respects_versions,
    partitions_read_whole_in_order,
    listings_paginate,
    due_queue_orders_and_drops_items,
    aliases_find_items,
    counters_are_atomic,
    eight_racing_writers_one_winner,
);

pub async fn embedded_store() -> Arc<dyn StateStore> {
    let dir = tempfile::tempdir().unwrap();
    let store = lakeplane_store::embedded::EmbeddedStore::open(dir.path().join("state.db"))
        .await
        .unwrap();
    // Keep the directory for the life of the test process.
    std::mem::forget(dir);
    Arc::new(store)
}

pub async fn dynamo_store() -> Arc<dyn StateStore> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "DynamoDB conformance tests need moto: run them through scripts/test, or start \
         `moto_server -H 127.0.0.1 -p 5000` and export AWS_ENDPOINT_URL=http://127.0.0.1:5000 \
         AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 (got '{endpoint}')"
    );
    let table = format!("conformance-{}", unique());
    let store = lakeplane_store::dynamodb::DynamoStore::from_env(table).await;
    store.create_table().await.unwrap();
    Arc::new(store)
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `n` futures at once (after they all reach the start line) and returns their results.
pub async fn race<F, Fut, T>(n: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let b = barrier.clone();
            let fut = f(i);
            tokio::spawn(async move {
                b.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// The deployed table (template.yaml) has the attributes and indexes the DynamoDB adapter uses.
#[test]
fn template_table_matches_the_adapter_schema() {
    use lakeplane_store::schema::*;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let template = std::fs::read_to_string(path).unwrap();
    for attr in [
        PK,
        SK,
        COLLECTION_PK,
        COLLECTION_SK,
        PARENT_PK,
        PARENT_SK,
        QUEUE_PK,
        DUE_AT,
        ALIAS,
    ] {
        assert!(
            template.contains(&format!("AttributeName: {attr},")),
            "template.yaml lacks attribute {attr}"
        );
    }
    for index in [COLLECTION_INDEX, PARENT_INDEX, QUEUE_INDEX, ALIAS_INDEX] {
        assert!(
            template.contains(&format!("IndexName: {index}\n")),
            "template.yaml lacks index {index}"
        );
    }
}

//! Test support, behind the `testing` feature: the conformance suite every adapter must pass
//! ([`store_conformance!`](crate::store_conformance)), a store wrapper that injects faults
//! ([`FaultyStore`]), and a start-line helper for races ([`race`]).
//!
//! ```ignore
//! // In an adapter's tests/it/main.rs: one test per contract case, each with a fresh store.
//! mod my_adapter {
//!     lakeplane_store::store_conformance!(crate::fresh_store());
//! }
//! ```

// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod conformance;

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::{Index, Item, Key, Page, QueueEntry, StateStore, StoreError, StoreResult};

/// One test per conformance case, each against a fresh store from `$factory` (an expression that
/// evaluates to a future of `Arc<dyn StateStore>`, evaluated once per test).
#[macro_export]
macro_rules! store_conformance {
    ($factory:expr) => {
        $crate::store_conformance!(@cases $factory;
            insert_get_and_versioned_replace,
            insert_is_all_or_nothing,
            stale_or_missing_replace_is_refused,
            delete_respects_versions,
            partitions_read_whole_in_order,
            listings_paginate,
            due_queue_orders_and_drops_items,
            queues_are_separate_and_span_shards,
            touch_moves_only_the_queue_entry,
            status_listing_is_sparse,
            aliases_find_items,
            counters_are_atomic,
            eight_racing_writers_one_winner,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::testing::conformance::$case($factory.await).await;
            }
        )*
    };
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

/// A port operation, for [`FaultyStore::inject`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Insert,
    Get,
    Replace,
    Delete,
    QueryPartition,
    List,
    Due,
    GetByAlias,
    Increment,
    Touch,
}

/// What an injected fault does to the call it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call fails before reaching the store: nothing is written.
    Unavailable,
    /// The call fails with a version conflict: nothing is written.
    Conflict,
    /// The write happens, then the reply is lost: the caller sees a failure (a timeout, in life).
    LostReply,
}

/// A store that passes every call to `inner`, except the calls hit by faults planned with
/// [`FaultyStore::inject`], and counts calls per operation.
pub struct FaultyStore {
    inner: Arc<dyn StateStore>,
    plan: Mutex<VecDeque<(Op, Fault)>>,
    calls: Mutex<std::collections::HashMap<Op, u64>>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn StateStore>) -> FaultyStore {
        FaultyStore {
            inner,
            plan: Mutex::new(VecDeque::new()),
            calls: Mutex::new(Default::default()),
        }
    }

    /// The next call of `op` (after those already planned for it) fails with `fault`.
    pub fn inject(&self, op: Op, fault: Fault) {
        self.plan.lock().unwrap().push_back((op, fault));
    }

    /// Drops every fault planned and not yet hit.
    pub fn clear(&self) {
        self.plan.lock().unwrap().clear();
    }

    /// Faults planned and not yet hit.
    pub fn pending(&self) -> usize {
        self.plan.lock().unwrap().len()
    }

    /// How many times `op` was called.
    pub fn calls(&self, op: Op) -> u64 {
        self.calls.lock().unwrap().get(&op).copied().unwrap_or(0)
    }

    fn take(&self, op: Op) -> Option<Fault> {
        *self.calls.lock().unwrap().entry(op).or_default() += 1;
        let mut plan = self.plan.lock().unwrap();
        let i = plan.iter().position(|(o, _)| *o == op)?;
        plan.remove(i).map(|(_, f)| f)
    }

    async fn call<T>(&self, op: Op, f: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        match self.take(op) {
            None => f.await,
            Some(Fault::Unavailable) => Err(StoreError::unavailable(format!("injected: {op:?}"))),
            Some(Fault::Conflict) => {
                Err(StoreError::conflict(format!("{op:?}"), "injected conflict"))
            }
            Some(Fault::LostReply) => {
                f.await?;
                Err(StoreError::unavailable(format!(
                    "injected: the reply to {op:?} was lost"
                )))
            }
        }
    }
}

#[async_trait]
impl StateStore for FaultyStore {
    async fn insert(&self, items: Vec<Item>) -> StoreResult<()> {
        self.call(Op::Insert, self.inner.insert(items)).await
    }

    async fn get(&self, key: &Key) -> StoreResult<Item> {
        self.call(Op::Get, self.inner.get(key)).await
    }

    async fn replace(&self, item: Item, expected_version: u64) -> StoreResult<u64> {
        self.call(Op::Replace, self.inner.replace(item, expected_version))
            .await
    }

    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> StoreResult<()> {
        self.call(Op::Delete, self.inner.delete(key, expected_version))
            .await
    }

    async fn query_partition(&self, pk: &str) -> StoreResult<Vec<Item>> {
        self.call(Op::QueryPartition, self.inner.query_partition(pk))
            .await
    }

    async fn list(
        &self,
        index: Index,
        partition: &str,
        limit: usize,
        after: Option<&str>,
    ) -> StoreResult<Page> {
        self.call(Op::List, self.inner.list(index, partition, limit, after))
            .await
    }

    async fn touch(
        &self,
        key: &Key,
        expected_version: u64,
        queue: Option<QueueEntry>,
    ) -> StoreResult<u64> {
        self.call(Op::Touch, self.inner.touch(key, expected_version, queue))
            .await
    }

    async fn due(&self, queue: &str, now: i64, limit: usize) -> StoreResult<Vec<Item>> {
        self.call(Op::Due, self.inner.due(queue, now, limit)).await
    }

    async fn get_by_alias(&self, alias: &str) -> StoreResult<Item> {
        self.call(Op::GetByAlias, self.inner.get_by_alias(alias))
            .await
    }

    async fn increment(&self, counter: &str, by: u64) -> StoreResult<u64> {
        self.call(Op::Increment, self.inner.increment(counter, by))
            .await
    }
}

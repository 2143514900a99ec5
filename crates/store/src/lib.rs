//! The state store port: versioned JSON documents with conditional writes, and its adapters.
//!
//! Every piece of control-plane state (jobs, runs, task runs, queries, tokens, id counters) is an
//! [`Item`]: a document under a two-part [`Key`] with a version number. Every change is conditional on
//! the version the writer read, so two writers racing on the same transition cannot both win: one gets
//! [`StoreError::Conflict`] and reads again. Items can also be placed in up to two sorted listings
//! ([`Index`]), in the due-time queue that workers claim from, and under an alias for lookups by a
//! second id.
//!
//! Adapters: [`embedded::EmbeddedStore`] (SQLite, for `lakeplane dev`; several processes may share one
//! file) and [`dynamodb::DynamoStore`] (one DynamoDB table, for AWS). One conformance suite
//! (`tests/it`) runs against both.
//!
//! ```no_run
//! # async fn demo() -> lakeplane_store::StoreResult<()> {
//! use lakeplane_store::{embedded::EmbeddedStore, Item, Key, StateStore};
//! let store = EmbeddedStore::open("/tmp/state.db").await?;
//! let key = Key::new("JOB#1", "JOB");
//! store.insert(vec![Item::new(key.clone(), r#"{"name":"j"}"#)]).await?;
//! let item = store.get(&key).await?;
//! store.replace(Item { body: r#"{"name":"k"}"#.into(), ..item.clone() }, item.version).await?;
//! # Ok(()) }
//! ```

#![cfg_attr(
    not(any(feature = "embedded", feature = "dynamodb")),
    allow(dead_code, unused_imports)
)]

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

mod cursor;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "testing")]
pub mod testing;

pub(crate) use cursor::{check_transaction, clamp_limit, page_of, Cursor};

/// A backend's own error, kept as the source of a [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a store operation can fail with. Adapters map their backend's errors to these, keeping the
/// backend's error as the source; no SDK type crosses the port.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No item under this key (or alias).
    #[error("{item} does not exist")]
    NotFound { item: String },
    /// An item under this key (or alias) exists already.
    #[error("{item} already exists")]
    AlreadyExists { item: String },
    /// The item changed since it was read (its version differs), or a transaction collided.
    #[error("{item} changed concurrently: {reason}")]
    Conflict { item: String, reason: String },
    /// The backend kept throttling after the retries ran out.
    #[error("the state store is throttling requests: {source}")]
    Throttled {
        #[source]
        source: BoxError,
    },
    /// The backend could not be reached or failed.
    #[error("the state store is unavailable: {source}")]
    Unavailable {
        #[source]
        source: BoxError,
    },
    /// A request the store cannot serve (too many items in a transaction, a bad page token).
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl StoreError {
    pub fn not_found(item: impl std::fmt::Display) -> StoreError {
        StoreError::NotFound {
            item: item.to_string(),
        }
    }

    pub fn already_exists(item: impl std::fmt::Display) -> StoreError {
        StoreError::AlreadyExists {
            item: item.to_string(),
        }
    }

    pub fn conflict(item: impl std::fmt::Display, reason: impl Into<String>) -> StoreError {
        StoreError::Conflict {
            item: item.to_string(),
            reason: reason.into(),
        }
    }

    pub fn unavailable(source: impl Into<BoxError>) -> StoreError {
        StoreError::Unavailable {
            source: source.into(),
        }
    }

    /// Whether trying again later may succeed (throttling, an unreachable backend).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Throttled { .. } | StoreError::Unavailable { .. }
        )
    }
}

/// The store's result alias.
pub type StoreResult<T> = Result<T, StoreError>;

/// An item's key: a partition and a sort key. Items that share a partition are read together by
/// [`StateStore::query_partition`] (a run and its task runs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Key {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.pk, self.sk)
    }
}

/// The three sorted listings an item may appear in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// All items of a kind (all jobs, all runs, all queries). The DynamoDB adapter spreads each
    /// collection over shard partitions, since every new item of the kind lands in it.
    Collection,
    /// Items that belong to a parent (the runs of one job, the jobs of one name).
    Parent,
    /// Items in a state worth finding without reading the rest (the active runs). Sparse: an item
    /// leaves it by clearing the entry.
    Status,
}

/// An item's place in a named work queue: claimable from `due_at` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    /// The queue: `default` today; a cluster's or a warehouse's own queue later.
    pub name: String,
    /// Epoch milliseconds at which the item becomes due.
    pub due_at: i64,
}

impl QueueEntry {
    pub fn new(name: impl Into<String>, due_at: i64) -> QueueEntry {
        QueueEntry {
            name: name.into(),
            due_at,
        }
    }
}

/// An item's place in a listing: which list, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub partition: String,
    pub sort: String,
}

impl IndexEntry {
    pub fn new(partition: impl Into<String>, sort: impl Into<String>) -> IndexEntry {
        IndexEntry {
            partition: partition.into(),
            sort: sort.into(),
        }
    }
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: Key,
    /// Set by the store: 1 on insert, +1 on every replace. Ignored on input.
    pub version: u64,
    /// The document, as JSON text.
    pub body: String,
    pub collection: Option<IndexEntry>,
    pub parent: Option<IndexEntry>,
    pub status: Option<IndexEntry>,
    /// The work queue the item waits in, and from when; `None` keeps it out of every queue.
    pub queue: Option<QueueEntry>,
    /// A second, unique name to look the item up by ([`StateStore::get_by_alias`]).
    pub alias: Option<String>,
}

impl Item {
    /// The item's place in a listing, if it is in it.
    pub fn entry(&self, index: Index) -> Option<&IndexEntry> {
        match index {
            Index::Collection => self.collection.as_ref(),
            Index::Parent => self.parent.as_ref(),
            Index::Status => self.status.as_ref(),
        }
    }

    pub fn new(key: Key, body: impl Into<String>) -> Item {
        Item {
            key,
            version: 0,
            body: body.into(),
            collection: None,
            parent: None,
            status: None,
            queue: None,
            alias: None,
        }
    }
}

/// One page of a listing. Every entry carries the token that resumes the listing right after it, so
/// a caller that stops part-way through a page (a filter, a legacy offset) hands out an exact token
/// without knowing how the store makes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Pass back as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// An item in a listing, and the page token that resumes the listing after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub item: Item,
    pub resume: String,
}

/// The most items [`StateStore::insert`] writes in one transaction (DynamoDB's limit).
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// The largest page [`StateStore::list`] returns.
pub const MAX_PAGE: usize = 1000;

/// The state store port.
///
/// Contract, for every adapter:
/// - Reads of a single item and of a partition are strongly consistent: a reader sees every write that
///   completed before it started. Listings and alias lookups may lag by a moment (DynamoDB GSIs).
/// - Writes are atomic per call; `insert` of several items is all-or-nothing.
#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// Writes new items, all or none, each at version 1.
    /// Errors: `AlreadyExists` if any key exists (nothing is written); `Invalid` above
    /// [`MAX_TRANSACTION_ITEMS`].
    async fn insert(&self, items: Vec<Item>) -> StoreResult<()>;

    /// Reads one item. Errors: `NotFound`.
    async fn get(&self, key: &Key) -> StoreResult<Item>;

    /// Replaces an item if its stored version is `expected_version`; returns the new version.
    /// Errors: `Conflict` if the version differs, `NotFound` if there is no such item.
    async fn replace(&self, item: Item, expected_version: u64) -> StoreResult<u64>;

    /// Deletes an item, if `expected_version` is given only at that version.
    /// Errors: `NotFound`; `Conflict` if the version differs.
    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> StoreResult<()>;

    /// All items of a partition, in sort-key order (strongly consistent).
    async fn query_partition(&self, pk: &str) -> StoreResult<Vec<Item>>;

    /// A page of a listing, in ascending sort order, starting after the cursor `after`.
    /// `limit` is clamped to 1..=[`MAX_PAGE`]. Errors: `Invalid` for a malformed cursor.
    async fn list(
        &self,
        index: Index,
        partition: &str,
        limit: usize,
        after: Option<&str>,
    ) -> StoreResult<Page>;

    /// Changes only an item's queue entry (a lease renewal), if its stored version is
    /// `expected_version`; returns the new version. The body and listings stay as they are, so a
    /// heartbeat neither sends nor rewrites the document. Errors as [`StateStore::replace`].
    async fn touch(
        &self,
        key: &Key,
        expected_version: u64,
        queue: Option<QueueEntry>,
    ) -> StoreResult<u64>;

    /// Up to `limit` items of queue `queue` whose `due_at` is at or before `now`, read consistently
    /// (what is returned is current, though an item that just became due may be missed for a
    /// moment). Earliest first within a shard; across shards (DynamoDB), roughly.
    async fn due(&self, queue: &str, now: i64, limit: usize) -> StoreResult<Vec<Item>>;

    /// The item with this alias. Errors: `NotFound`.
    async fn get_by_alias(&self, alias: &str) -> StoreResult<Item>;

    /// Adds `by` to a named counter (created at 0) atomically and returns the new value.
    async fn increment(&self, counter: &str, by: u64) -> StoreResult<u64>;
}

/// Attribute names and index names of the one-table design, shared by the DynamoDB adapter and the
/// CloudFormation template (see `infra/dynamodb-table.md`).
pub mod schema {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const VERSION: &str = "ver";
    pub const BODY: &str = "body";
    pub const COLLECTION_PK: &str = "c_pk";
    pub const COLLECTION_SK: &str = "c_sk";
    pub const PARENT_PK: &str = "p_pk";
    pub const PARENT_SK: &str = "p_sk";
    pub const STATUS_PK: &str = "s_pk";
    pub const STATUS_SK: &str = "s_sk";
    /// `<queue name>#<shard>`: a queue spreads over shard partitions.
    pub const QUEUE_PK: &str = "q_pk";
    pub const DUE_AT: &str = "due_at";
    pub const ALIAS: &str = "alias";
    pub const COUNTER: &str = "n";

    pub const COLLECTION_INDEX: &str = "collection";
    pub const PARENT_INDEX: &str = "parent";
    pub const STATUS_INDEX: &str = "status";
    pub const QUEUE_INDEX: &str = "queue";
    pub const ALIAS_INDEX: &str = "alias";
}

//! Documents over the state store: every record type names its key, its place in listings and its
//! kind once ([`Record`]); every write goes through [`retry`], the one read–modify–write loop.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lakeplane_store::{Index, Item, Key, StateStore, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ControlError, ControlResult};

/// A document kept in the state store.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    /// What users call it in messages: "Job", "Run", "Query".
    const KIND: &'static str;
    /// How users name one (a job id, a query id).
    type Id: Display + Send + Sync;

    /// The key of the record with this id.
    fn key_of(id: &Self::Id) -> Key;
    /// This record's id.
    fn id(&self) -> Self::Id;
    /// Places the item in listings, the work queue or under an alias; nothing by default.
    fn layout(&self, _item: &mut Item) {}
    /// Takes back from the item what is kept outside the body (a renewed lease); nothing by default.
    fn restore(&mut self, _item: &Item) {}

    /// The record as a store item.
    fn to_item(&self) -> ControlResult<Item> {
        let body = serde_json::to_string(self).map_err(|source| ControlError::Corrupt {
            kind: Self::KIND,
            item: self.id().to_string(),
            source,
        })?;
        let mut item = Item::new(Self::key_of(&self.id()), body);
        self.layout(&mut item);
        Ok(item)
    }

    /// Reads a record from a store item.
    fn from_item(item: &Item) -> ControlResult<Self> {
        let mut doc: Self =
            serde_json::from_str(&item.body).map_err(|source| ControlError::Corrupt {
                kind: Self::KIND,
                item: item.key.to_string(),
                source,
            })?;
        doc.restore(item);
        Ok(doc)
    }
}

/// A record and the version it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<R> {
    pub doc: R,
    pub version: u64,
}

impl<R: Record> Versioned<R> {
    /// A record read from a store item, with the item's version.
    pub fn from_item(item: &Item) -> ControlResult<Versioned<R>> {
        Ok(Versioned {
            doc: R::from_item(item)?,
            version: item.version,
        })
    }
}

/// How many attempts a read–modify–write makes before answering `Conflict`.
const MAX_ATTEMPTS: u32 = 32;
/// How many of those may follow a transient store failure (a timeout, throttling) before it is
/// returned. Safe because every attempt reads again and decides again: a write that had succeeded
/// before its reply was lost is seen as done.
const MAX_TRANSIENT: u32 = 4;
/// The first backoff after a conflict; it doubles up to [`MAX_BACKOFF`], with full jitter.
const FIRST_BACKOFF: Duration = Duration::from_millis(2);
const MAX_BACKOFF: Duration = Duration::from_millis(200);

/// The one read–modify–write loop. `attempt(n)` reads what it needs, decides, and writes with
/// conditions on the versions it read; a version conflict (another writer got there first) makes it
/// run again after a jittered, growing backoff, up to [`MAX_ATTEMPTS`] times, and then the answer is
/// [`ControlError::Conflict`] naming `kind` and `name`. A transient store failure is retried the
/// same way up to [`MAX_TRANSIENT`] times, so every `attempt` after the first must read again.
/// Any other error ends it at once.
pub async fn retry<T, F, Fut>(
    kind: &'static str,
    name: impl Display,
    mut attempt: F,
) -> ControlResult<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = ControlResult<T>>,
{
    let mut ceiling = FIRST_BACKOFF;
    let mut transient = 0;
    for n in 0..MAX_ATTEMPTS {
        match attempt(n).await {
            Err(e) if e.is_transient_store() && transient < MAX_TRANSIENT => {
                transient += 1;
                tracing::warn!(kind, name = %name, error = %e, "state store failed; trying again");
                ceiling = ceiling.max(Duration::from_millis(50));
                let wait = ceiling.mul_f64(rand::random::<f64>());
                tokio::time::sleep(wait).await;
                ceiling = (ceiling * 2).min(MAX_BACKOFF);
            }
            Err(e) if e.is_conflict() => {
                let wait = ceiling.mul_f64(rand::random::<f64>());
                tokio::time::sleep(wait).await;
                ceiling = (ceiling * 2).min(MAX_BACKOFF);
            }
            other => return other,
        }
    }
    Err(ControlError::Conflict {
        kind,
        name: name.to_string(),
    })
}

/// A listing request: a page size, where to resume, and the legacy offset (items to skip first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub page_token: Option<String>,
    pub offset: usize,
}

/// A page of results and the token for the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

/// Typed access to records in one state store.
#[derive(Clone)]
pub struct Documents {
    store: Arc<dyn StateStore>,
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents").finish_non_exhaustive()
    }
}

/// Maps a store miss to a `NotFound` that names the record.
fn named<R: Record>(id: &R::Id) -> impl FnOnce(StoreError) -> ControlError + '_ {
    move |e| match e {
        StoreError::NotFound { .. } => ControlError::NotFound {
            kind: R::KIND,
            name: id.to_string(),
        },
        StoreError::AlreadyExists { .. } => ControlError::AlreadyExists {
            kind: R::KIND,
            name: id.to_string(),
        },
        e => e.into(),
    }
}

impl Documents {
    pub fn new(store: Arc<dyn StateStore>) -> Documents {
        Documents { store }
    }

    /// A record and its version. Errors: `NotFound` naming it.
    pub async fn get<R: Record>(&self, id: &R::Id) -> ControlResult<Versioned<R>> {
        let item = self
            .store
            .get(&R::key_of(id))
            .await
            .map_err(named::<R>(id))?;
        Versioned::from_item(&item)
    }

    /// A record. Errors: `NotFound` naming it.
    pub async fn read<R: Record>(&self, id: &R::Id) -> ControlResult<R> {
        Ok(self.get(id).await?.doc)
    }

    /// A record, or `None` when there is none.
    pub async fn find<R: Record>(&self, id: &R::Id) -> ControlResult<Option<R>> {
        match self.get(id).await {
            Ok(v) => Ok(Some(v.doc)),
            Err(ControlError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores a new record. Errors: `AlreadyExists` naming it.
    pub async fn create<R: Record>(&self, doc: &R) -> ControlResult<()> {
        let id = doc.id();
        self.store
            .insert(vec![doc.to_item()?])
            .await
            .map_err(named::<R>(&id))
    }

    /// Stores new items (of any kinds) all or none.
    pub async fn create_all(&self, items: Vec<Item>) -> ControlResult<()> {
        Ok(self.store.insert(items).await?)
    }

    /// Writes `doc` if its stored version is still `version`; returns the new version. A changed
    /// version is a store `Conflict`, which [`retry`] retries.
    pub async fn replace<R: Record>(&self, doc: &R, version: u64) -> ControlResult<u64> {
        let id = doc.id();
        match self.store.replace(doc.to_item()?, version).await {
            Ok(v) => Ok(v),
            Err(e @ StoreError::Conflict { .. }) => Err(e.into()),
            Err(e) => Err(named::<R>(&id)(e)),
        }
    }

    /// Read–modify–write of one record through [`retry`]: `change` edits the record and says
    /// whether it did (nothing is written when it did not). Returns the record as stored and whether
    /// this call changed it.
    pub async fn update<R: Record>(
        &self,
        id: &R::Id,
        change: impl Fn(&mut R) -> ControlResult<bool>,
    ) -> ControlResult<(R, bool)> {
        retry(R::KIND, id, |_| async {
            let Versioned { mut doc, version } = self.get::<R>(id).await?;
            if !change(&mut doc)? {
                return Ok((doc, false));
            }
            self.replace(&doc, version).await?;
            Ok((doc, true))
        })
        .await
    }

    /// Deletes a record. Errors: `NotFound` naming it.
    pub async fn delete<R: Record>(&self, id: &R::Id) -> ControlResult<()> {
        self.store
            .delete(&R::key_of(id), None)
            .await
            .map_err(named::<R>(id))
    }

    /// Deletes a record if its stored version is still `version`. A changed version is a store
    /// `Conflict`, which [`retry`] retries. Errors: `NotFound` naming it.
    pub async fn delete_at<R: Record>(&self, id: &R::Id, version: u64) -> ControlResult<()> {
        match self.store.delete(&R::key_of(id), Some(version)).await {
            Ok(()) => Ok(()),
            Err(e @ StoreError::Conflict { .. }) => Err(e.into()),
            Err(e) => Err(named::<R>(id)(e)),
        }
    }

    /// Deletes an item if it is there.
    pub async fn remove(&self, key: &Key) -> ControlResult<()> {
        match self.store.delete(key, None).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every item of a partition (a run and its task runs), strongly consistent.
    pub async fn partition(&self, pk: &str) -> ControlResult<Vec<Item>> {
        Ok(self.store.query_partition(pk).await?)
    }

    /// The record with this alias, if any.
    pub async fn by_alias<R: Record>(&self, alias: &str) -> ControlResult<Option<Versioned<R>>> {
        match self.store.get_by_alias(alias).await {
            Ok(item) => Versioned::from_item(&item).map(Some),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Records due in work queue `queue` at `now`, earliest first.
    pub async fn due<R: Record>(
        &self,
        queue: &str,
        now: i64,
        limit: usize,
    ) -> ControlResult<Vec<Versioned<R>>> {
        let items = self.store.due(queue, now, limit).await?;
        items.iter().map(Versioned::from_item).collect()
    }

    /// How many entries of work queue `queue` are due by `until` (at most `limit`), whatever they are.
    pub async fn count_due(&self, queue: &str, until: i64, limit: usize) -> ControlResult<usize> {
        Ok(self.store.due(queue, until, limit).await?.len())
    }

    /// Writes only `doc`'s place in the work queue (a lease renewal), if its stored version is still
    /// `version`; returns the new version. The body is neither sent nor rewritten.
    pub async fn touch<R: Record>(&self, doc: &R, version: u64) -> ControlResult<u64> {
        let id = doc.id();
        let mut item = Item::new(R::key_of(&id), String::new());
        doc.layout(&mut item);
        match self.store.touch(&item.key, version, item.queue).await {
            Ok(v) => Ok(v),
            Err(e @ StoreError::Conflict { .. }) => Err(e.into()),
            Err(e) => Err(named::<R>(&id)(e)),
        }
    }

    /// Reserves `n` consecutive ids from a named counter; returns the last.
    pub async fn next_ids(&self, counter: &str, n: u64) -> ControlResult<u64> {
        Ok(self.store.increment(counter, n).await?)
    }

    /// One page of a listing: up to `limit` records that pass `keep`, after skipping `offset` of them,
    /// with a token that resumes right after the last record returned.
    pub async fn list<R: Record>(
        &self,
        index: Index,
        partition: &str,
        request: &PageRequest,
        keep: impl Fn(&R) -> bool,
    ) -> ControlResult<Paged<R>> {
        let limit = request.limit.max(1);
        let mut items = Vec::new();
        let mut skip = request.offset;
        let mut after = request.page_token.clone();
        loop {
            let page = self
                .store
                .list(index, partition, limit, after.as_deref())
                .await?;
            let count = page.entries.len();
            for (i, entry) in page.entries.into_iter().enumerate() {
                let doc = R::from_item(&entry.item)?;
                if !keep(&doc) {
                    continue;
                }
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                items.push(doc);
                if items.len() == limit {
                    let exhausted = i + 1 == count && page.next.is_none();
                    return Ok(Paged {
                        items,
                        next_page_token: (!exhausted).then_some(entry.resume),
                    });
                }
            }
            match page.next {
                Some(n) => after = Some(n),
                None => {
                    return Ok(Paged {
                        items,
                        next_page_token: None,
                    })
                }
            }
        }
    }
}

//! The embedded adapter: one SQLite file (WAL mode), shared safely by several processes — the
//! `lakeplane dev` server and its worker processes.
//!
//! Writes run in `BEGIN IMMEDIATE` transactions so that a version check and the write that depends on
//! it happen under one lock; readers are never blocked (WAL). Calls run on Tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

mod rows;
mod schema;

use rows::{check_version, read_item, sql_err, stored_version, write_item, COLUMNS};
use schema::migrate;

use crate::{
    check_transaction, clamp_limit, page_of, Cursor, Index, Item, Key, Page, QueueEntry,
    StateStore, StoreError, StoreResult,
};

/// State in a SQLite file.
#[derive(Clone)]
pub struct EmbeddedStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// The temporary directory of [`EmbeddedStore::in_temp_dir`], removed with the last clone.
    #[cfg(feature = "testing")]
    _temp: Option<Arc<tempfile::TempDir>>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish()
    }
}

impl EmbeddedStore {
    /// Opens (and creates if needed) the database file.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<EmbeddedStore> {
        let path = path.as_ref().to_path_buf();
        let p = path.clone();
        let conn = tokio::task::spawn_blocking(move || -> StoreResult<Connection> {
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::unavailable(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let mut conn = Connection::open(&p).map_err(sql_err)?;
            conn.busy_timeout(Duration::from_secs(10))
                .map_err(sql_err)?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(sql_err)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(sql_err)?;
            migrate(&mut conn).map_err(sql_err)?;
            Ok(conn)
        })
        .await
        .map_err(StoreError::unavailable)??;
        Ok(EmbeddedStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
            #[cfg(feature = "testing")]
            _temp: None,
        })
    }

    /// A store in a fresh temporary directory, removed when the last clone of the store is dropped.
    #[cfg(feature = "testing")]
    pub async fn in_temp_dir() -> StoreResult<EmbeddedStore> {
        let dir = tempfile::tempdir().map_err(StoreError::unavailable)?;
        let mut store = EmbeddedStore::open(dir.path().join("state.db")).await?;
        store._temp = Some(Arc::new(dir));
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::unavailable("the state database's lock is poisoned"))?;
            f(&mut guard)
        })
        .await
        .map_err(StoreError::unavailable)?
    }
}

#[async_trait]
impl StateStore for EmbeddedStore {
    async fn insert(&self, items: Vec<Item>) -> StoreResult<()> {
        check_transaction(&items)?;
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            for item in &items {
                if stored_version(&tx, &item.key).map_err(sql_err)?.is_some() {
                    return Err(StoreError::already_exists(&item.key));
                }
                if let Err(e) = write_item(&tx, item, 1, true) {
                    return Err(match &e {
                        rusqlite::Error::SqliteFailure(f, _)
                            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            StoreError::already_exists(format!(
                                "alias {}",
                                item.alias.as_deref().unwrap_or_default()
                            ))
                        }
                        _ => sql_err(e),
                    });
                }
            }
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn get(&self, key: &Key) -> StoreResult<Item> {
        let key = key.clone();
        self.with(move |conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2"),
                params![key.pk, key.sk],
                read_item,
            )
            .optional()
            .map_err(sql_err)?
            .ok_or_else(|| StoreError::not_found(&key))
        })
        .await
    }

    async fn replace(&self, item: Item, expected_version: u64) -> StoreResult<u64> {
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            check_version(&tx, &item.key, expected_version)?;
            let next = expected_version + 1;
            write_item(&tx, &item, next, false).map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(next)
        })
        .await
    }

    async fn delete(&self, key: &Key, expected_version: Option<u64>) -> StoreResult<()> {
        let key = key.clone();
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            match (
                stored_version(&tx, &key).map_err(sql_err)?,
                expected_version,
            ) {
                (None, _) => return Err(StoreError::not_found(&key)),
                (Some(v), Some(e)) if v != e => {
                    return Err(StoreError::conflict(
                        &key,
                        format!("it is at version {v}, not {e}"),
                    ))
                }
                _ => {}
            }
            tx.execute(
                "DELETE FROM items WHERE pk = ?1 AND sk = ?2",
                params![key.pk, key.sk],
            )
            .map_err(sql_err)?;
            tx.commit().map_err(sql_err)
        })
        .await
    }

    async fn query_partition(&self, pk: &str) -> StoreResult<Vec<Item>> {
        let pk = pk.to_string();
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM items WHERE pk = ?1 ORDER BY sk"
                ))
                .map_err(sql_err)?;
            let rows = stmt.query_map(params![pk], read_item).map_err(sql_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
        })
        .await
    }

    async fn list(
        &self,
        index: Index,
        partition: &str,
        limit: usize,
        after: Option<&str>,
    ) -> StoreResult<Page> {
        let limit = clamp_limit(limit);
        let cursor = after.map(Cursor::decode).transpose()?;
        let (ipk, isk) = match index {
            Index::Collection => ("c_pk", "c_sk"),
            Index::Parent => ("p_pk", "p_sk"),
            Index::Status => ("s_pk", "s_sk"),
        };
        let partition = partition.to_string();
        self.with(move |conn| {
            let (s, p, k) = cursor
                .map(|c| (c.sort, c.pk, c.sk))
                .unwrap_or_else(|| (String::new(), String::new(), String::new()));
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM items WHERE {ipk} = ?1 AND ({isk}, pk, sk) > (?2, ?3, ?4) \
                     ORDER BY {isk}, pk, sk LIMIT ?5"
                ))
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![partition, s, p, k, (limit + 1) as i64], read_item)
                .map_err(sql_err)?;
            let items = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)?;
            Ok(page_of(index, items, limit))
        })
        .await
    }

    async fn touch(
        &self,
        key: &Key,
        expected_version: u64,
        queue: Option<QueueEntry>,
    ) -> StoreResult<u64> {
        let key = key.clone();
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            check_version(&tx, &key, expected_version)?;
            let next = expected_version + 1;
            tx.execute(
                "UPDATE items SET ver = ?3, queue = ?4, due_at = ?5 WHERE pk = ?1 AND sk = ?2",
                params![
                    key.pk,
                    key.sk,
                    next as i64,
                    queue.as_ref().map(|q| &q.name),
                    queue.as_ref().map(|q| q.due_at)
                ],
            )
            .map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(next)
        })
        .await
    }

    async fn due(&self, queue: &str, now: i64, limit: usize) -> StoreResult<Vec<Item>> {
        let limit = clamp_limit(limit);
        let queue = queue.to_string();
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM items WHERE queue = ?1 AND due_at <= ?2 \
                     ORDER BY due_at LIMIT ?3"
                ))
                .map_err(sql_err)?;
            let rows = stmt
                .query_map(params![queue, now, limit as i64], read_item)
                .map_err(sql_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
        })
        .await
    }

    async fn get_by_alias(&self, alias: &str) -> StoreResult<Item> {
        let alias = alias.to_string();
        self.with(move |conn| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM items WHERE alias = ?1"),
                params![alias],
                read_item,
            )
            .optional()
            .map_err(sql_err)?
            .ok_or_else(|| StoreError::not_found(format!("alias {alias}")))
        })
        .await
    }

    async fn increment(&self, counter: &str, by: u64) -> StoreResult<u64> {
        let counter = counter.to_string();
        self.with(move |conn| {
            conn.query_row(
                "INSERT INTO counters (name, n) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET n = n + excluded.n RETURNING n",
                params![counter, by as i64],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(sql_err)
        })
        .await
    }
}

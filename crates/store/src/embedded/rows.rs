//! Items as SQLite rows, and SQLite's errors as the port's.

use rusqlite::{params, Connection, OptionalExtension};

use crate::{IndexEntry, Item, Key, QueueEntry, StoreError, StoreResult};

pub(super) const COLUMNS: &str =
    "pk, sk, ver, body, c_pk, c_sk, p_pk, p_sk, s_pk, s_sk, queue, due_at, alias";

/// Refuses a write unless the item is stored at `expected`.
pub(super) fn check_version(conn: &Connection, key: &Key, expected: u64) -> StoreResult<()> {
    match stored_version(conn, key).map_err(sql_err)? {
        None => Err(StoreError::not_found(key)),
        Some(v) if v != expected => Err(StoreError::conflict(
            key,
            format!("it is at version {v}, not {expected}"),
        )),
        Some(_) => Ok(()),
    }
}

pub(super) fn sql_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Throttled { source: e.into() }
        }
        _ => StoreError::unavailable(e),
    }
}

pub(super) fn read_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
    let entry = |p: Option<String>, s: Option<String>| match (p, s) {
        (Some(p), Some(s)) => Some(IndexEntry::new(p, s)),
        _ => None,
    };
    Ok(Item {
        key: Key::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
        version: row.get::<_, i64>(2)?.max(0) as u64,
        body: row.get(3)?,
        collection: entry(row.get(4)?, row.get(5)?),
        parent: entry(row.get(6)?, row.get(7)?),
        status: entry(row.get(8)?, row.get(9)?),
        queue: match (row.get::<_, Option<String>>(10)?, row.get(11)?) {
            (Some(name), Some(due_at)) => Some(QueueEntry { name, due_at }),
            _ => None,
        },
        alias: row.get(12)?,
    })
}

pub(super) fn write_item(
    conn: &Connection,
    item: &Item,
    version: u64,
    insert: bool,
) -> rusqlite::Result<usize> {
    let sql = if insert {
        "INSERT INTO items (pk, sk, ver, body, c_pk, c_sk, p_pk, p_sk, s_pk, s_sk, queue, due_at, \
         alias) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    } else {
        "UPDATE items SET ver = ?3, body = ?4, c_pk = ?5, c_sk = ?6, p_pk = ?7, p_sk = ?8, \
         s_pk = ?9, s_sk = ?10, queue = ?11, due_at = ?12, alias = ?13 WHERE pk = ?1 AND sk = ?2"
    };
    conn.execute(
        sql,
        params![
            item.key.pk,
            item.key.sk,
            version as i64,
            item.body,
            item.collection.as_ref().map(|e| &e.partition),
            item.collection.as_ref().map(|e| &e.sort),
            item.parent.as_ref().map(|e| &e.partition),
            item.parent.as_ref().map(|e| &e.sort),
            item.status.as_ref().map(|e| &e.partition),
            item.status.as_ref().map(|e| &e.sort),
            item.queue.as_ref().map(|q| &q.name),
            item.queue.as_ref().map(|q| q.due_at),
            item.alias,
        ],
    )
}

pub(super) fn stored_version(conn: &Connection, key: &Key) -> rusqlite::Result<Option<u64>> {
    conn.query_row(
        "SELECT ver FROM items WHERE pk = ?1 AND sk = ?2",
        params![key.pk, key.sk],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|v| v.map(|v| v.max(0) as u64))
}

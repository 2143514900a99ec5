//! The SQLite schema, and bringing a file made by an older release up to it.

use rusqlite::{Connection, TransactionBehavior};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    ver INTEGER NOT NULL,
    body TEXT NOT NULL,
    c_pk TEXT, c_sk TEXT,
    p_pk TEXT, p_sk TEXT,
    due_at INTEGER,
    alias TEXT UNIQUE,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_collection ON items (c_pk, c_sk, pk, sk) WHERE c_pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_parent ON items (p_pk, p_sk, pk, sk) WHERE p_pk IS NOT NULL;
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
";

/// Columns added after the first release, with what fills them in an existing file.
const MIGRATIONS: &[(&str, &str)] = &[
    ("s_pk", "ALTER TABLE items ADD COLUMN s_pk TEXT"),
    ("s_sk", "ALTER TABLE items ADD COLUMN s_sk TEXT"),
    (
        "queue",
        "ALTER TABLE items ADD COLUMN queue TEXT; \
         UPDATE items SET queue = 'default' WHERE due_at IS NOT NULL;",
    ),
];

const INDEXES: &str = "
DROP INDEX IF EXISTS items_due;
CREATE INDEX IF NOT EXISTS items_status ON items (s_pk, s_sk, pk, sk) WHERE s_pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_queue ON items (queue, due_at) WHERE queue IS NOT NULL;
";

/// Creates the schema, or brings an older file up to it, under the write lock (several processes
/// may open one file at once).
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let conn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    conn.execute_batch(SCHEMA)?;
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('items')")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (column, sql) in MIGRATIONS {
        if !columns.iter().any(|c| c == column) {
            conn.execute_batch(sql)?;
        }
    }
    conn.execute_batch(INDEXES)?;
    conn.commit()
}

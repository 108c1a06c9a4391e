//! The database schema and its migrations, keyed on `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`. A migration
//! is never edited once released: a change is a new migration appended here.
//! A database whose version is newer than this list is refused rather than
//! guessed at, and one that another program created is refused too, so
//! pointing `--state-dir` at the wrong place cannot destroy anything. Once
//! up to date, the tables, columns and indexes are checked against what the
//! migrations make: a damaged schema is refused, not worked around.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::{Damage, StoreError};

/// Marks the file as driftsync's (`PRAGMA application_id`, "DRFT").
pub(super) const APPLICATION_ID: i32 = 0x4452_4654;

/// The schema version this build writes.
pub(super) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Every table keeps times as milliseconds since 1970 (UTC).
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: everything.
    r#"
    CREATE TABLE actions (
        id              INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL,
        stack           TEXT NOT NULL,
        logical_id      TEXT NOT NULL,
        property_path   TEXT NOT NULL,
        action          TEXT NOT NULL,
        revision        TEXT NOT NULL,
        detail          TEXT NOT NULL,           -- JSON
        started_at      INTEGER NOT NULL,
        finished_at     INTEGER,                 -- NULL while in progress
        outcome         TEXT CHECK (outcome IN ('succeeded', 'failed', 'refused')),
        reason          TEXT,
        CHECK ((finished_at IS NULL) = (outcome IS NULL))
    );
    CREATE UNIQUE INDEX actions_idempotency_key ON actions (idempotency_key);
    CREATE INDEX actions_resource ON actions (stack, logical_id, action, outcome, finished_at);
    CREATE INDEX actions_stack ON actions (stack, started_at);

    -- One row per drift episode: from first seen to resolved.
    CREATE TABLE drift (
        id            INTEGER PRIMARY KEY,
        stack         TEXT NOT NULL,
        logical_id    TEXT NOT NULL,
        property_path TEXT NOT NULL,
        value_hash    TEXT NOT NULL,
        first_seen    INTEGER NOT NULL,
        last_seen     INTEGER NOT NULL,
        reverted_at   INTEGER,   -- the previous episode ended by our revert, then
        resolved_at   INTEGER,   -- NULL while drifting
        resolved_by   INTEGER REFERENCES actions (id)
    );
    CREATE UNIQUE INDEX drift_open ON drift (stack, logical_id, property_path)
        WHERE resolved_at IS NULL;
    CREATE INDEX drift_key ON drift (stack, logical_id, property_path, resolved_at);

    CREATE TABLE flip_flops (
        id            INTEGER PRIMARY KEY,
        episode       INTEGER UNIQUE REFERENCES drift (id),  -- counted once per episode
        stack         TEXT NOT NULL,
        logical_id    TEXT NOT NULL,
        property_path TEXT NOT NULL,
        actor         TEXT,
        at            INTEGER NOT NULL
    );
    CREATE INDEX flip_flops_key ON flip_flops (stack, logical_id, property_path, at);

    CREATE TABLE circuits (
        stack        TEXT PRIMARY KEY,
        failures     INTEGER NOT NULL,
        last_failure INTEGER NOT NULL
    );

    -- Append-only: the newest row for a scope is the window in force.
    CREATE TABLE break_glass (
        id         INTEGER PRIMARY KEY,
        stack      TEXT NOT NULL,
        logical_id TEXT NOT NULL,                -- '' for the whole stack
        expires_at INTEGER NOT NULL,
        reason     TEXT NOT NULL,
        source     TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX break_glass_scope ON break_glass (stack, logical_id, id);

    -- A queryable mirror of audit.jsonl, which is authoritative.
    CREATE TABLE audit (
        id            INTEGER PRIMARY KEY,
        time          INTEGER NOT NULL,
        stack         TEXT NOT NULL,
        logical_id    TEXT,
        property_path TEXT,
        action        TEXT NOT NULL,
        outcome       TEXT,
        event         TEXT NOT NULL              -- the JSON line, without newline
    );
    CREATE INDEX audit_stack ON audit (stack, time);
    "#,
    // 2: a key has attempts. A failure is history, not done: the next run
    // makes a new attempt; at most one attempt per key is in progress.
    r#"
    ALTER TABLE actions ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
    DROP INDEX actions_idempotency_key;
    CREATE UNIQUE INDEX actions_attempt ON actions (idempotency_key, attempt);
    CREATE UNIQUE INDEX actions_in_progress ON actions (idempotency_key)
        WHERE finished_at IS NULL;
    "#,
    // 3: an attempt a killed run left may end 'interrupted'. SQLite cannot
    // change a CHECK, so the table is rebuilt (foreign keys are off during
    // migrations: drift.resolved_by refers to actions by name, unchanged).
    r#"
    CREATE TABLE actions_v3 (
        id              INTEGER PRIMARY KEY,
        idempotency_key TEXT NOT NULL,
        stack           TEXT NOT NULL,
        logical_id      TEXT NOT NULL,
        property_path   TEXT NOT NULL,
        action          TEXT NOT NULL,
        revision        TEXT NOT NULL,
        detail          TEXT NOT NULL,           -- JSON
        started_at      INTEGER NOT NULL,
        finished_at     INTEGER,                 -- NULL while in progress
        outcome         TEXT CHECK (outcome IN ('succeeded', 'failed', 'refused', 'interrupted')),
        reason          TEXT,
        attempt         INTEGER NOT NULL DEFAULT 1,
        CHECK ((finished_at IS NULL) = (outcome IS NULL))
    );
    INSERT INTO actions_v3 SELECT id, idempotency_key, stack, logical_id, property_path,
        action, revision, detail, started_at, finished_at, outcome, reason, attempt
        FROM actions;
    DROP TABLE actions;
    ALTER TABLE actions_v3 RENAME TO actions;
    CREATE INDEX actions_resource ON actions (stack, logical_id, action, outcome, finished_at);
    CREATE INDEX actions_stack ON actions (stack, started_at);
    CREATE UNIQUE INDEX actions_attempt ON actions (idempotency_key, attempt);
    CREATE UNIQUE INDEX actions_in_progress ON actions (idempotency_key)
        WHERE finished_at IS NULL;
    "#,
];

/// Brings the database at `path` up to [`VERSION`], in one transaction that
/// holds the write lock, so two processes opening a new state directory at
/// once migrate it once. Foreign keys must be off (they are switched on
/// after), as SQLite asks for a migration that rebuilds a table.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |op| move |e| StoreError::sqlite(op, path, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail("read the schema version"))?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(fail("read the schema version"))?;
    let app_id: i32 = tx
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(fail("read the application id"))?;
    // Ours, or blank (a new file); a version without our id is foreign.
    let ours = app_id == APPLICATION_ID || (app_id == 0 && version == 0);
    if !ours || version < 0 {
        return Err(StoreError::NotOurs {
            path: path.to_path_buf(),
        });
    }
    if version > VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    if version == VERSION {
        return Ok(());
    }
    if version == 0 {
        // A fresh file has no tables; anything else is someone else's.
        let tables: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
            .map_err(fail("inspect the schema"))?;
        if tables > 0 {
            return Err(StoreError::NotOurs {
                path: path.to_path_buf(),
            });
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(fail("set the application id"))?;
    }
    let done = usize::try_from(version).unwrap_or(0);
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.execute_batch(sql).map_err(fail("migrate the schema"))?;
        tx.pragma_update(None, "user_version", from as i64 + 1)
            .map_err(fail("migrate the schema"))?;
    }
    // What migration 3's rebuild must not have broken.
    let dangling: i64 = tx
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .map_err(fail("check foreign keys"))?;
    if dangling > 0 {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            source: Damage::ForeignKeys { rows: dangling },
        });
    }
    tx.commit().map_err(fail("migrate the schema"))
}

/// Refuses a database whose tables, columns or indexes are not those the
/// migrations make (a dropped table, say), comparing it with the migrations
/// applied to an empty in-memory database. Tables and indexes of its own
/// that someone added are left alone.
pub(super) fn verify(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |e| StoreError::sqlite("inspect the schema", path, e);
    let reference = Connection::open_in_memory().map_err(fail)?;
    for sql in MIGRATIONS {
        reference.execute_batch(sql).map_err(fail)?;
    }
    let expected = Shape::of(&reference).map_err(fail)?;
    let found = Shape::of(conn).map_err(fail)?;
    let damage = expected.tables.iter().find_map(|(table, columns)| {
        let table = table.clone();
        match found.tables.get(&table) {
            None => Some(Damage::MissingTable { table }),
            Some(f) if f != columns => Some(Damage::Columns {
                table,
                found: f.join(", "),
                expected: columns.join(", "),
            }),
            Some(_) => None,
        }
    });
    let damage = damage.or_else(|| {
        let index = expected.indexes.difference(&found.indexes).next()?.clone();
        Some(Damage::MissingIndex { index })
    });
    match damage {
        None => Ok(()),
        Some(source) => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A database's tables (with their columns as `name TYPE`, in order) and
/// indexes, SQLite's own excepted.
struct Shape {
    tables: BTreeMap<String, Vec<String>>,
    indexes: BTreeSet<String>,
}

impl Shape {
    fn of(conn: &Connection) -> rusqlite::Result<Shape> {
        let mut stmt = conn.prepare(
            "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )?;
        let names = stmt
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut columns =
            conn.prepare("SELECT name || ' ' || type FROM pragma_table_info(?1) ORDER BY cid")?;
        let mut shape = Shape {
            tables: BTreeMap::new(),
            indexes: BTreeSet::new(),
        };
        for (kind, name) in names {
            match kind.as_str() {
                "table" => {
                    let cols = columns
                        .query_map([&name], |row| row.get(0))?
                        .collect::<rusqlite::Result<Vec<String>>>()?;
                    shape.tables.insert(name, cols);
                }
                "index" => {
                    shape.indexes.insert(name);
                }
                _ => {}
            }
        }
        Ok(shape)
    }
}

//! The state store: what driftsync remembers between runs, in a state
//! directory holding `driftsync.db` (SQLite) and `audit.jsonl` (the audit
//! log, one JSON object a line). The format is described in `docs/state.md`.
//!
//! It owns when each drift was first and last seen and how it ended, the
//! remediation actions begun and finished (made idempotent by a unique key,
//! so a rerun after a crash never acts twice), flip-flop counts, per-stack
//! circuit breakers, break-glass windows and the audit log. [`Store`] is the
//! whole interface; `sync` and the daemon hold one per state directory, and
//! several processes may share a directory (SQLite serialises the writers),
//! but only one may apply: it holds the directory's [`StateLock`].
//!
//! It must not talk to AWS or git, nor decide anything: windows, limits and
//! thresholds are policy's, passed in, and the store only records and
//! counts. Time is passed in as `now`, never read here, so callers and tests
//! control it. Times are kept to the millisecond.
//!
//! # Errors
//! Every operation is one SQLite transaction. Besides the errors a method
//! names, any may fail with [`StoreError::Database`] (retryable when another
//! process held the write lock past the busy timeout: see
//! [`StoreError::is_retryable`]), [`StoreError::Corrupt`] if the file turns
//! out to be damaged, and [`StoreError::InvalidTime`] for a time before 1970.

mod actions;
mod applied;
mod audit;
mod break_glass;
mod drift;
mod error;
mod lock;
mod loops;
mod outcome;
mod schema;

#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior};

pub use actions::{ActionId, ActionIntent, ActionRecord, Begin, Outcome, REVERT};
pub use audit::AuditEvent;
pub use break_glass::{BreakGlassScope, BreakGlassWindow};
pub use drift::{DriftKey, DriftRecord, Observation};
pub use error::{Damage, StoreError};
pub use lock::{LOCK_FILE, StateLock};
pub use loops::{CircuitState, FlipFlops};
pub use outcome::OutcomeKind;

/// The SQLite database's file name inside the state directory.
pub const DB_FILE: &str = "driftsync.db";
/// The audit log's file name inside the state directory.
pub const AUDIT_FILE: &str = "audit.jsonl";
/// How long a write waits for another process's write to finish.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The state directory to use when `--state-dir` is not given:
/// `$DRIFTSYNC_STATE_DIR`, else `$XDG_STATE_HOME/driftsync`, else
/// `$HOME/.local/state/driftsync`.
///
/// # Errors
/// [`StoreError::NoStateDir`] when none of those variables is set.
pub fn default_state_dir() -> Result<PathBuf, StoreError> {
    state_dir_from(|name| std::env::var_os(name))
}

/// [`default_state_dir`] over any environment, so it can be tested without
/// changing the process's. Empty variables count as unset, and a relative
/// `XDG_STATE_HOME` is ignored, as the XDG specification asks.
pub fn state_dir_from(env: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, StoreError> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("DRIFTSYNC_STATE_DIR") {
        return Ok(dir);
    }
    if let Some(xdg) = var("XDG_STATE_HOME").filter(|p| p.is_absolute()) {
        return Ok(xdg.join("driftsync"));
    }
    var("HOME")
        .map(|home| home.join(".local/state/driftsync"))
        .ok_or(StoreError::NoStateDir)
}

/// An open state directory. Not `Sync`: share it behind a mutex, or open one
/// per thread (each is its own SQLite connection, and they coordinate).
pub struct Store {
    conn: Connection,
    dir: PathBuf,
    db_path: PathBuf,
    audit: audit::AuditLog,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

impl Store {
    /// Opens the state directory `dir`, creating it (private to the user) and
    /// the database if needed, and brings the schema up to date.
    ///
    /// The database runs in WAL mode with `synchronous=FULL`, so a committed
    /// write survives a crash or power loss, and waits up to
    /// [`DEFAULT_BUSY_TIMEOUT`] for another process's write.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] or [`StoreError::NotOurs`] for a file that is
    /// not a driftsync database (an emptied file, or one missing a table,
    /// column or index of the schema, counts as corrupt), and
    /// [`StoreError::NewerSchema`] for one a newer driftsync wrote; in each
    /// case nothing is changed.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        create_private_dir(dir)?;
        let db_path = dir.join(DB_FILE);
        refuse_emptied(dir, &db_path)?;
        let mut conn = Connection::open(&db_path).map_err(|source| StoreError::Open {
            path: db_path.clone(),
            source,
        })?;
        configure(&conn, &db_path)?;
        // Off while migrating (a table rebuild needs it; the bundled SQLite
        // may default it on), on for everything after.
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(|e| StoreError::sqlite("disable foreign keys", &db_path, e))?;
        schema::migrate(&mut conn, &db_path)?;
        schema::verify(&conn, &db_path)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| StoreError::sqlite("enable foreign keys", &db_path, e))?;
        let audit = audit::AuditLog::open(dir.join(AUDIT_FILE))?;
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
            db_path,
            audit,
        })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database file, `<dir>/driftsync.db`.
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    /// The audit log, `<dir>/audit.jsonl`.
    pub fn audit_path(&self) -> &Path {
        self.audit.path()
    }

    /// Changes how long a write waits for another process's write before
    /// failing with a retryable error.
    ///
    /// # Errors
    /// [`StoreError::Database`] if SQLite refuses the setting.
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(timeout)
            .map_err(|e| self.sqlite("set the busy timeout", e))
    }

    fn sqlite(&self, operation: &'static str, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(operation, &self.db_path, e)
    }

    /// Runs `f` in a transaction that takes the write lock up front, so
    /// concurrent writers queue on the busy timeout instead of failing when
    /// a read inside the transaction turns into a write.
    fn write<T>(
        &mut self,
        operation: &'static str,
        f: impl FnOnce(&rusqlite::Transaction<'_>, &Path) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let path = &self.db_path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::sqlite(operation, path, e))?;
        let value = f(&tx, path)?;
        tx.commit()
            .map_err(|e| StoreError::sqlite(operation, path, e))?;
        Ok(value)
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StoreError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })
}

/// Refuses a database file of zero bytes in a directory that was used
/// before. SQLite would take it for a new database and driftsync would start
/// afresh, forgetting flip-flops, break-glass windows and actions begun.
/// The audit log is created only after the database is migrated, so its
/// presence (checked first) means the database once held a schema; SQLite
/// writes its header when switching to WAL, so a database being created by
/// another process at this moment is never mistaken for an emptied one.
fn refuse_emptied(dir: &Path, db_path: &Path) -> Result<(), StoreError> {
    let used = dir.join(AUDIT_FILE).exists();
    let empty = std::fs::metadata(db_path).is_ok_and(|m| m.len() == 0);
    if used && empty {
        return Err(StoreError::Corrupt {
            path: db_path.to_path_buf(),
            source: Damage::Empty,
        });
    }
    Ok(())
}

fn configure(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |op| move |e| StoreError::sqlite(op, path, e);
    // First, so that everything after it waits for other processes.
    conn.busy_timeout(DEFAULT_BUSY_TIMEOUT)
        .map_err(fail("set the busy timeout"))?;
    let mode = switch_to_wal(conn).map_err(fail("switch to write-ahead logging"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Some network file systems cannot share WAL memory; SQLite falls
        // back to a rollback journal, which is slower but still safe.
        tracing::warn!(path = %path.display(), mode, "state database is not in WAL mode");
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(fail("set synchronous=FULL"))?;
    Ok(())
}

/// `PRAGMA journal_mode=WAL`, retried while another process holds the lock:
/// SQLite answers this pragma "database is locked" at once, without waiting
/// for the busy timeout, when two processes open a new directory together.
/// Counted attempts, not a deadline, so the store never reads the clock.
fn switch_to_wal(conn: &Connection) -> rusqlite::Result<String> {
    const PAUSE: Duration = Duration::from_millis(20);
    let attempts = DEFAULT_BUSY_TIMEOUT.as_millis() / PAUSE.as_millis();
    let mut attempt = 0;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && attempt < attempts =>
            {
                attempt += 1;
                std::thread::sleep(PAUSE);
            }
            other => return other,
        }
    }
}

/// The latest time the store records: the end of year 9999, the last one
/// RFC 3339 can write.
const MAX_MS: i64 = 253_402_300_799_999;

/// A time as milliseconds since 1970, the unit every table uses.
fn to_ms(t: SystemTime, what: &'static str) -> Result<i64, StoreError> {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .filter(|ms| *ms <= MAX_MS)
        .ok_or(StoreError::InvalidTime { what })
}

/// The inverse of [`to_ms`]; a value outside the range (only possible if the
/// file was edited) is clamped rather than trusted or panicked on.
fn from_ms(ms: i64) -> SystemTime {
    let ms = ms.clamp(0, MAX_MS) as u64;
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// The start of the window of length `window` that ends at `now`, in
/// milliseconds; a window reaching before 1970 starts at 1970.
fn window_start(now: SystemTime, window: Duration) -> Result<i64, StoreError> {
    let now = to_ms(now, "now")?;
    let window = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    Ok(now.saturating_sub(window).max(0))
}

/// Converts a count SQLite returns; counts never exceed `u32` in practice,
/// and saturate if they somehow do.
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

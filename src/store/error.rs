//! The store's one error type, and which of its failures are worth retrying.

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

use super::ActionId;

/// Why the state store could not do what was asked.
///
/// Every variant names the file involved. [`StoreError::is_retryable`] tells
/// a transient failure (another process holds the write lock for longer than
/// the busy timeout) from a terminal one (a corrupt or foreign database, a
/// schema from a newer driftsync, a caller's mistake).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Neither `--state-dir` nor any of the variables it falls back to is set.
    #[error(
        "cannot choose a state directory: pass --state-dir or set DRIFTSYNC_STATE_DIR, XDG_STATE_HOME or HOME"
    )]
    NoStateDir,
    #[error("cannot create the state directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot open the state database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The file is damaged, emptied, missing tables, or is not SQLite at
    /// all; nothing was changed.
    #[error(
        "{path} is corrupt or not an SQLite database: restore it from a backup or move it aside"
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: Damage,
    },
    /// An SQLite database some other program made; it is left untouched.
    #[error("{path} is an SQLite database that driftsync did not create: refusing to use it")]
    NotOurs { path: PathBuf },
    /// A newer driftsync migrated this database; it is left untouched.
    #[error(
        "{path} has schema version {found}, newer than this driftsync understands (up to {supported}): upgrade driftsync"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("failed to {operation} in {path}")]
    Database {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A row that this version wrote cannot be read back (edited by hand?).
    #[error("{path} holds an unreadable {what}: {message}")]
    CorruptRow {
        path: PathBuf,
        what: &'static str,
        message: String,
    },
    #[error("no remediation action {id} in {path}")]
    UnknownAction { path: PathBuf, id: ActionId },
    #[error(
        "remediation action {id} already finished as {existing}; it cannot finish again as {requested}"
    )]
    AlreadyFinished {
        id: ActionId,
        existing: String,
        requested: String,
    },
    #[error("failed to append to the audit log {path}")]
    Audit {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Another process (a `sync --apply`) held the state directory's lock
    /// for all of `waited`.
    #[error(
        "the state directory is in use: {path} is held by {holder}; waited {}s for it (one sync --apply per state directory at a time)",
        waited.as_secs()
    )]
    Locked {
        path: PathBuf,
        /// Who holds it, as written in the lock file (pid, host, since when).
        holder: String,
        waited: std::time::Duration,
    },
    #[error("cannot lock the state directory with {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A time before 1970, or too far ahead to count in milliseconds.
    #[error("the {what} time is outside the range the state store records (1970 onwards)")]
    InvalidTime { what: &'static str },
}

/// What is wrong with a [`StoreError::Corrupt`] database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// SQLite found the file damaged or not a database.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// Zero bytes, in a state directory that was used before (its audit log
    /// exists): what was recorded, flip-flops and break-glass windows
    /// included, is gone, and starting afresh would forget it silently.
    #[error("the file is empty, but the state directory's audit log shows it was used before")]
    Empty,
    /// A table this version's schema has is not there.
    #[error("table {table} is missing")]
    MissingTable { table: String },
    /// A table's columns are not the ones this version's schema gives it.
    #[error("table {table} has columns ({found}), not ({expected})")]
    Columns {
        table: String,
        found: String,
        expected: String,
    },
    /// Rows refer to rows that do not exist (found when migrating).
    #[error("{rows} rows refer to rows that do not exist")]
    ForeignKeys { rows: i64 },
    /// An index is missing; the unique ones keep an action from running twice.
    #[error("index {index} is missing")]
    MissingIndex { index: String },
}

impl StoreError {
    /// Whether trying the same operation again later may succeed: the
    /// database was busy or locked by another process past the busy timeout,
    /// another process holds the state directory, or an I/O call was
    /// interrupted.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Open { source, .. } | StoreError::Database { source, .. } => {
                matches!(
                    source.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                )
            }
            StoreError::Locked { .. } => true,
            StoreError::Audit { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            _ => false,
        }
    }

    /// Classifies an SQLite failure: a damaged or foreign file is `Corrupt`
    /// wherever it is first noticed, anything else is the operation failing.
    pub(super) fn sqlite(operation: &'static str, path: &Path, source: rusqlite::Error) -> Self {
        match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
                path: path.to_path_buf(),
                source: Damage::Sqlite(source),
            },
            _ => StoreError::Database {
                operation,
                path: path.to_path_buf(),
                source,
            },
        }
    }
}

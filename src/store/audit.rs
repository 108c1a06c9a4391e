//! The audit log: every decision and action as one JSON line appended to
//! `audit.jsonl` and flushed to disk before the call returns, mirrored into
//! the `audit` table for queries. The file is the record; the table is an
//! index over it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::{DEFAULT_BUSY_TIMEOUT, OutcomeKind, Store, StoreError, to_ms};

/// One line of the audit log. Fields are only ever added (never renamed),
/// and every field is always written, `null` when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened; RFC 3339 in UTC with milliseconds.
    #[serde(with = "rfc3339")]
    pub time: SystemTime,
    /// Who decided or acted: `driftsync`, or the person or role behind a
    /// change it observed.
    pub actor: String,
    /// The git revision the decision was made against.
    pub revision: Option<String>,
    pub stack: String,
    pub logical_id: Option<String>,
    pub property_path: Option<String>,
    /// What was decided or done: `revert`, `codify`, `tolerate`, `refuse`...
    pub action: String,
    /// Why, in words a reviewer can check (the policy rule, the guard).
    pub reason: String,
    /// How it ended, `None` for a decision alone.
    pub outcome: Option<OutcomeKind>,
    /// Anything else: the action id, a change set, expected and actual values.
    pub detail: serde_json::Value,
}

/// The open `audit.jsonl`.
pub(super) struct AuditLog {
    path: PathBuf,
    file: File,
}

impl AuditLog {
    pub(super) fn open(path: PathBuf) -> Result<AuditLog, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|source| StoreError::Audit {
                path: path.clone(),
                source,
            })?;
        // A new file's name must reach the disk too, or a power cut could
        // take the file and the lines fsynced into it.
        #[cfg(unix)]
        if let Some(dir) = path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|source| StoreError::Audit {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(AuditLog { path, file })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `event` and syncs it to disk, then indexes it in the `audit`
    /// table inside the caller's transaction `tx` (on the database at `db`).
    pub(super) fn write_event(
        &self,
        tx: &rusqlite::Transaction<'_>,
        db: &Path,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let time = to_ms(event.time, "audit event")?;
        let audit_err = |source| StoreError::Audit {
            path: self.path.clone(),
            source,
        };
        let json = serde_json::to_string(event).map_err(|e| audit_err(io::Error::other(e)))?;
        self.append(format!("{json}\n").as_bytes())
            .map_err(audit_err)?;
        tx.execute(
            "INSERT INTO audit (time, stack, logical_id, property_path, action, outcome, event) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                time,
                event.stack,
                event.logical_id,
                event.property_path,
                event.action,
                event.outcome.map(OutcomeKind::as_str),
                json
            ],
        )
        .map(drop)
        .map_err(|e| StoreError::sqlite("index an audit event", db, e))
    }

    /// Makes every later write fail, as a full or read-only disk would.
    #[cfg(test)]
    pub(super) fn fail_writes(&mut self) {
        self.file = File::open(&self.path).expect("reopen the audit log read-only");
    }

    /// Appends `line` (which ends in a newline) and syncs it to disk. An
    /// exclusive lock keeps other processes' lines whole; if a writer died
    /// mid-line, its fragment is closed off first so this line stays valid.
    /// The lock is waited for as long as a database write would be
    /// ([`DEFAULT_BUSY_TIMEOUT`]), then the append fails: a run must not
    /// hang, nor act unrecorded, because something else holds the file.
    fn append(&self, line: &[u8]) -> io::Result<()> {
        const PAUSE: Duration = Duration::from_millis(20);
        let mut attempts = DEFAULT_BUSY_TIMEOUT.as_millis() / PAUSE.as_millis();
        loop {
            match self.file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if attempts > 0 => {
                    attempts -= 1;
                    std::thread::sleep(PAUSE);
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "another process held the audit log's lock past the busy timeout",
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
        let result = (|| {
            let mut file = &self.file;
            if file.metadata()?.len() > 0 {
                let mut last = [0u8];
                file.seek(SeekFrom::End(-1))?;
                file.read_exact(&mut last)?;
                if last != *b"\n" {
                    file.write_all(b"\n")?;
                }
            }
            file.write_all(line)?;
            file.sync_data()
        })();
        let unlocked = self.file.unlock();
        result.and(unlocked)
    }
}

impl Store {
    /// Appends `event` to the audit log and syncs it to disk, then indexes
    /// it in the `audit` table. If the process dies in between, the line is
    /// kept and the table misses it; the reverse never happens.
    ///
    /// # Errors
    /// [`StoreError::Audit`] if the line cannot be written (nothing is
    /// indexed then), [`StoreError::InvalidTime`] for a time before 1970.
    pub fn audit(&mut self, event: &AuditEvent) -> Result<(), StoreError> {
        const OP: &str = "index an audit event";
        let path = &self.db_path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::sqlite(OP, path, e))?;
        self.audit.write_event(&tx, path, event)?;
        tx.commit().map_err(|e| StoreError::sqlite(OP, path, e))
    }

    /// The stack's most recent audit events, newest first, at most `limit`.
    pub fn audit_events(&self, stack: &str, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let fail = |e| self.sqlite("read audit events", e);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT event FROM audit WHERE stack = ?1 ORDER BY time DESC, id DESC LIMIT ?2",
            )
            .map_err(fail)?;
        let rows = stmt
            .query_map(params![stack, limit], |row| row.get::<_, String>(0))
            .map_err(fail)?;
        rows.map(|json| {
            let json = json.map_err(fail)?;
            serde_json::from_str(&json).map_err(|e| StoreError::CorruptRow {
                path: self.db_path.clone(),
                what: "audit event",
                message: e.to_string(),
            })
        })
        .collect()
    }
}

/// RFC 3339 for the `time` field. Writing never fails for times the store
/// accepts ([`to_ms`] is checked first); reading accepts any offset-free
/// RFC 3339 UTC time.
mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        // humantime panics before 1970 and fails after 9999: refuse both here.
        if super::to_ms(*t, "audit event").is_err() {
            return Err(serde::ser::Error::custom("time outside 1970..=9999"));
        }
        s.collect_str(&humantime::format_rfc3339_millis(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339(&text).map_err(D::Error::custom)
    }
}

//! Break-glass windows: drift on a stack, or on one resource, is tolerated
//! until an expiry. Windows are only ever added; the newest for a scope is
//! the one in force, so ending or extending a window adds a row and the old
//! ones stay for the audit.

use std::time::{Duration, SystemTime};

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, from_ms, to_ms};

/// What a window covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BreakGlassScope {
    pub stack: String,
    /// `None` for the whole stack.
    pub logical_id: Option<String>,
}

impl BreakGlassScope {
    /// The whole stack.
    pub fn stack(stack: impl Into<String>) -> Self {
        BreakGlassScope {
            stack: stack.into(),
            logical_id: None,
        }
    }

    /// One resource of a stack.
    pub fn resource(stack: impl Into<String>, logical_id: impl Into<String>) -> Self {
        BreakGlassScope {
            stack: stack.into(),
            logical_id: Some(logical_id.into()),
        }
    }
}

/// A break-glass window as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakGlassWindow {
    pub scope: BreakGlassScope,
    pub expires_at: SystemTime,
    pub reason: String,
    /// Where it came from: the resource tag, the config, a command.
    pub source: String,
    /// When it was recorded.
    pub created_at: SystemTime,
}

impl BreakGlassWindow {
    /// The time left at `now`; zero once expired.
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.expires_at.duration_since(now).unwrap_or_default()
    }
}

const COLUMNS: &str = "stack, logical_id, expires_at, reason, source, created_at";

impl Store {
    /// Opens, extends, shortens or ends (with an expiry in the past) the
    /// window for `scope`. Recording the same window again (the tag read on
    /// every run) changes nothing and returns the stored one.
    pub fn put_break_glass(
        &mut self,
        scope: &BreakGlassScope,
        expires_at: SystemTime,
        reason: &str,
        source: &str,
        now: SystemTime,
    ) -> Result<BreakGlassWindow, StoreError> {
        let expires = to_ms(expires_at, "break-glass expiry")?;
        let now = to_ms(now, "now")?;
        let logical_id = scope.logical_id.as_deref().unwrap_or("");
        self.write("record a break-glass window", |tx, path| {
            let fail = |e| StoreError::sqlite("record a break-glass window", path, e);
            let sql = format!(
                "SELECT {COLUMNS} FROM break_glass WHERE stack = ?1 AND logical_id = ?2 \
                 ORDER BY id DESC LIMIT 1"
            );
            let latest = tx
                .query_row(&sql, [&scope.stack, logical_id], read)
                .optional()
                .map_err(fail)?;
            if let Some(w) = latest.filter(|w| {
                w.expires_at == from_ms(expires) && w.reason == reason && w.source == source
            }) {
                return Ok(w);
            }
            tx.execute(
                "INSERT INTO break_glass (stack, logical_id, expires_at, reason, source, \
                 created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![scope.stack, logical_id, expires, reason, source, now],
            )
            .map_err(fail)?;
            Ok(BreakGlassWindow {
                scope: scope.clone(),
                expires_at: from_ms(expires),
                reason: reason.to_owned(),
                source: source.to_owned(),
                created_at: from_ms(now),
            })
        })
    }

    /// The window in force at `now` for resource `logical_id` of `stack`,
    /// its own or its stack's; if both, the one that lasts longer. Expired
    /// windows are kept but never returned.
    pub fn break_glass(
        &self,
        stack: &str,
        logical_id: &str,
        now: SystemTime,
    ) -> Result<Option<BreakGlassWindow>, StoreError> {
        let now = to_ms(now, "now")?;
        let sql = format!(
            "SELECT {COLUMNS} FROM break_glass AS b WHERE stack = ?1 AND logical_id IN ('', ?2) \
             AND id = (SELECT max(id) FROM break_glass \
                       WHERE stack = b.stack AND logical_id = b.logical_id) \
             AND expires_at > ?3 \
             ORDER BY expires_at DESC, logical_id DESC LIMIT 1"
        );
        self.conn
            .query_row(&sql, params![stack, logical_id, now], read)
            .optional()
            .map_err(|e| self.sqlite("read break-glass windows", e))
    }
}

fn read(row: &Row<'_>) -> rusqlite::Result<BreakGlassWindow> {
    let logical_id: String = row.get(1)?;
    Ok(BreakGlassWindow {
        scope: BreakGlassScope {
            stack: row.get(0)?,
            logical_id: Some(logical_id).filter(|id| !id.is_empty()),
        },
        expires_at: from_ms(row.get(2)?),
        reason: row.get(3)?,
        source: row.get(4)?,
        created_at: from_ms(row.get(5)?),
    })
}

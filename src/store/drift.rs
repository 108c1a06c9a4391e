//! Drift episodes: a drifted property from when it was first seen until it
//! was resolved, and whether one of our reverts resolved it. A key that
//! drifts again after our revert is the flip-flop signal.

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, SystemTime};

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{ActionId, Store, StoreError, from_ms, to_ms};

/// What drifted: one property of one resource of one stack.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DriftKey {
    pub stack: String,
    pub logical_id: String,
    /// CloudFormation's `PropertyPath` (`/SecurityGroupIngress/0`), or `""`
    /// when the whole resource drifted (deleted, say).
    pub property_path: String,
}

impl DriftKey {
    pub fn new(
        stack: impl Into<String>,
        logical_id: impl Into<String>,
        property_path: impl Into<String>,
    ) -> Self {
        DriftKey {
            stack: stack.into(),
            logical_id: logical_id.into(),
            property_path: property_path.into(),
        }
    }
}

impl fmt::Display for DriftKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}{}",
            self.stack, self.logical_id, self.property_path
        )
    }
}

/// What [`Store::observe`] learnt about the current episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
    /// This observation started the episode: the key was not drifting.
    pub is_new: bool,
    /// The key's previous episode was ended by one of our reverts, and it
    /// has drifted again: something is putting it back.
    pub reappeared_after_revert: bool,
    /// When that revert resolved the previous episode.
    pub reverted_at: Option<SystemTime>,
}

/// A drift episode as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftRecord {
    pub key: DriftKey,
    /// The caller's hash of the actual value, as last observed.
    pub value_hash: String,
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
    /// Set when this episode followed one that our revert ended.
    pub reverted_at: Option<SystemTime>,
    /// `None` while still drifting.
    pub resolved_at: Option<SystemTime>,
    /// The action that resolved it, if it was one of our reverts.
    pub resolved_by: Option<ActionId>,
}

impl DriftRecord {
    /// How long it has drifted (until `now`), or drifted for (if resolved).
    pub fn age(&self, now: SystemTime) -> Duration {
        let end = self.resolved_at.unwrap_or(now);
        end.duration_since(self.first_seen).unwrap_or_default()
    }
}

const COLUMNS: &str = "stack, logical_id, property_path, value_hash, first_seen, last_seen, \
                       reverted_at, resolved_at, resolved_by";
const KEY: &str = "stack = ?1 AND logical_id = ?2 AND property_path = ?3";

impl Store {
    /// Records that `key` is drifting now, with the actual value hashing to
    /// `value_hash`; starts an episode if it was not drifting.
    pub fn observe(
        &mut self,
        key: &DriftKey,
        value_hash: &str,
        now: SystemTime,
    ) -> Result<Observation, StoreError> {
        let now = to_ms(now, "observation")?;
        self.write("record a drift observation", |tx, path| {
            let fail = |e| StoreError::sqlite("record a drift observation", path, e);
            let sql = format!(
                "UPDATE drift SET last_seen = max(last_seen, ?4), value_hash = ?5 \
                 WHERE {KEY} AND resolved_at IS NULL RETURNING first_seen, last_seen, reverted_at"
            );
            let open = tx
                .query_row(
                    &sql,
                    params![
                        key.stack,
                        key.logical_id,
                        key.property_path,
                        now,
                        value_hash
                    ],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get::<_, Option<i64>>(2)?)),
                )
                .optional()
                .map_err(fail)?;
            if let Some((first, last, reverted)) = open {
                return Ok(observation(first, last, false, reverted));
            }
            let reverted = last_reverted(tx, key).map_err(fail)?;
            tx.execute(
                "INSERT INTO drift (stack, logical_id, property_path, value_hash, first_seen, \
                 last_seen, reverted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                params![
                    key.stack,
                    key.logical_id,
                    key.property_path,
                    value_hash,
                    now,
                    reverted
                ],
            )
            .map_err(fail)?;
            Ok(observation(now, now, true, reverted))
        })
    }

    /// Ends `key`'s episode, if it is drifting; `by_revert` names our revert
    /// when that is what ended it. Returns whether an episode was open.
    pub fn resolve(
        &mut self,
        key: &DriftKey,
        now: SystemTime,
        by_revert: Option<ActionId>,
    ) -> Result<bool, StoreError> {
        let now = to_ms(now, "resolution")?;
        self.write("resolve a drift", |tx, path| {
            let sql = format!(
                "UPDATE drift SET resolved_at = ?4, resolved_by = ?5 \
                 WHERE {KEY} AND resolved_at IS NULL"
            );
            tx.execute(
                &sql,
                params![
                    key.stack,
                    key.logical_id,
                    key.property_path,
                    now,
                    by_revert.map(ActionId::get)
                ],
            )
            .map(|n| n > 0)
            .map_err(|e| StoreError::sqlite("resolve a drift", path, e))
        })
    }

    /// Ends the episode of every key of `stack` that is drifting in the
    /// store but not in `present` (keys of other stacks are ignored), and
    /// returns those keys. `by_revert` applies to all of them; to credit
    /// reverts one by one, use [`Store::resolve`] first.
    pub fn resolve_absent(
        &mut self,
        stack: &str,
        present: &[DriftKey],
        now: SystemTime,
        by_revert: Option<ActionId>,
    ) -> Result<Vec<DriftKey>, StoreError> {
        let now = to_ms(now, "resolution")?;
        let present: HashSet<(&str, &str)> = present
            .iter()
            .filter(|k| k.stack == stack)
            .map(|k| (k.logical_id.as_str(), k.property_path.as_str()))
            .collect();
        self.write("resolve drifts", |tx, path| {
            let fail = |e| StoreError::sqlite("resolve drifts", path, e);
            let mut stmt = tx
                .prepare(
                    "SELECT id, logical_id, property_path FROM drift \
                     WHERE stack = ?1 AND resolved_at IS NULL ORDER BY logical_id, property_path",
                )
                .map_err(fail)?;
            let open = stmt
                .query_map([stack], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get(2)?))
                })
                .map_err(fail)?
                .collect::<Result<Vec<(i64, String, String)>, _>>()
                .map_err(fail)?;
            let mut resolved = Vec::new();
            for (id, logical_id, property_path) in open {
                if present.contains(&(logical_id.as_str(), property_path.as_str())) {
                    continue;
                }
                tx.execute(
                    "UPDATE drift SET resolved_at = ?2, resolved_by = ?3 WHERE id = ?1",
                    params![id, now, by_revert.map(ActionId::get)],
                )
                .map_err(fail)?;
                resolved.push(DriftKey::new(stack, logical_id, property_path));
            }
            Ok(resolved)
        })
    }

    /// How long `key` has been drifting, or `None` if it is not.
    pub fn age(&self, key: &DriftKey, now: SystemTime) -> Result<Option<Duration>, StoreError> {
        let sql = format!("SELECT first_seen FROM drift WHERE {KEY} AND resolved_at IS NULL");
        let first: Option<i64> = self
            .conn
            .query_row(&sql, key_params(key), |row| row.get(0))
            .optional()
            .map_err(|e| self.sqlite("read a drift's age", e))?;
        Ok(first.map(|ms| now.duration_since(from_ms(ms)).unwrap_or_default()))
    }

    /// The stack's drifts that are still open, oldest first.
    pub fn open_drifts(&self, stack: &str) -> Result<Vec<DriftRecord>, StoreError> {
        self.select_drifts(
            "stack = ?1 AND resolved_at IS NULL ORDER BY first_seen, logical_id, property_path",
            params![stack],
        )
    }

    /// The stack's drifts resolved at or after `since`, in the order they
    /// were resolved: time to resolve is `resolved_at - first_seen`.
    pub fn resolved_since(
        &self,
        stack: &str,
        since: SystemTime,
    ) -> Result<Vec<DriftRecord>, StoreError> {
        let since = to_ms(since, "since")?;
        self.select_drifts(
            "stack = ?1 AND resolved_at >= ?2 ORDER BY resolved_at, id",
            params![stack, since],
        )
    }

    fn select_drifts(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<DriftRecord>, StoreError> {
        let fail = |e| self.sqlite("list drifts", e);
        let sql = format!("SELECT {COLUMNS} FROM drift WHERE {filter}");
        let mut stmt = self.conn.prepare(&sql).map_err(fail)?;
        let rows = stmt.query_map(params, read).map_err(fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }
}

fn key_params(key: &DriftKey) -> [&str; 3] {
    [&key.stack, &key.logical_id, &key.property_path]
}

/// When our revert ended the key's latest episode, if it did.
fn last_reverted(tx: &Transaction<'_>, key: &DriftKey) -> rusqlite::Result<Option<i64>> {
    let sql = format!(
        "SELECT resolved_at, resolved_by FROM drift WHERE {KEY} AND resolved_at IS NOT NULL \
         ORDER BY resolved_at DESC, id DESC LIMIT 1"
    );
    let last: Option<(i64, Option<i64>)> = tx
        .query_row(&sql, key_params(key), |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(last.and_then(|(at, by)| by.map(|_| at)))
}

fn observation(first: i64, last: i64, is_new: bool, reverted: Option<i64>) -> Observation {
    Observation {
        first_seen: from_ms(first),
        last_seen: from_ms(last),
        is_new,
        reappeared_after_revert: reverted.is_some(),
        reverted_at: reverted.map(from_ms),
    }
}

fn read(row: &Row<'_>) -> rusqlite::Result<DriftRecord> {
    Ok(DriftRecord {
        key: DriftKey::new(
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ),
        value_hash: row.get(3)?,
        first_seen: from_ms(row.get(4)?),
        last_seen: from_ms(row.get(5)?),
        reverted_at: row.get::<_, Option<i64>>(6)?.map(from_ms),
        resolved_at: row.get::<_, Option<i64>>(7)?.map(from_ms),
        resolved_by: row.get::<_, Option<i64>>(8)?.map(ActionId::from_row),
    })
}

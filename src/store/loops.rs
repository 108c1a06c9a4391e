//! Loop protection's memory: flip-flops per drifted property, and a
//! circuit breaker per stack that opens on consecutive failures.
//!
//! The limits themselves (how many flip-flops stop reverting, how many
//! failures open the breaker, for how long) are policy's and passed in.

use std::time::{Duration, SystemTime};

use rusqlite::{OptionalExtension, params};

use super::{DriftKey, Store, StoreError, count, from_ms, to_ms, window_start};

/// Flip-flops of one property within a window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlipFlops {
    pub count: u32,
    /// The most recent competing actor named (from CloudTrail), if any was.
    pub last_actor: Option<String>,
}

/// A stack's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Fewer consecutive failures than the threshold: act normally.
    Closed,
    /// Too many consecutive failures: do not act before `until`.
    Open { until: SystemTime },
    /// The cooldown has passed: one attempt may go ahead; its success
    /// closes the breaker and its failure opens it again.
    HalfOpen,
}

impl CircuitState {
    /// Whether an attempt may be made now.
    pub fn allows_attempt(&self) -> bool {
        !matches!(self, CircuitState::Open { .. })
    }
}

impl Store {
    /// Records that `key` flip-flopped (drifted back after our revert),
    /// naming the competing `actor` if known, and returns how many times it
    /// has within `window` before `now`, this one included.
    ///
    /// Counted once per drift episode: recording again while the same
    /// episode is open only fills in the actor. So it is safe to call on
    /// every observation that has `reappeared_after_revert`, and a run that
    /// died between [`Store::observe`] and this call is made good by the next.
    pub fn record_flip_flop(
        &mut self,
        key: &DriftKey,
        actor: Option<&str>,
        window: Duration,
        now: SystemTime,
    ) -> Result<u32, StoreError> {
        let since = window_start(now, window)?;
        let now = to_ms(now, "flip-flop")?;
        self.write("record a flip-flop", |tx, path| {
            let fail = |e| StoreError::sqlite("record a flip-flop", path, e);
            tx.execute(
                "INSERT INTO flip_flops (episode, stack, logical_id, property_path, actor, at) \
                 VALUES ((SELECT id FROM drift WHERE stack = ?1 AND logical_id = ?2 \
                          AND property_path = ?3 AND resolved_at IS NULL), ?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (episode) DO UPDATE SET actor = coalesce(excluded.actor, actor)",
                params![key.stack, key.logical_id, key.property_path, actor, now],
            )
            .map_err(fail)?;
            tx.query_row(
                "SELECT count(*) FROM flip_flops WHERE stack = ?1 AND logical_id = ?2 \
                 AND property_path = ?3 AND at >= ?4 AND at <= ?5",
                params![key.stack, key.logical_id, key.property_path, since, now],
                |row| row.get(0),
            )
            .map(count)
            .map_err(fail)
        })
    }

    /// How many times `key` flip-flopped within `window` before `now`, and
    /// the most recent actor named in that window.
    pub fn flip_flops(
        &self,
        key: &DriftKey,
        window: Duration,
        now: SystemTime,
    ) -> Result<FlipFlops, StoreError> {
        let since = window_start(now, window)?;
        let until = to_ms(now, "now")?;
        self.conn
            .query_row(
                "SELECT count(*), \
                   (SELECT actor FROM flip_flops WHERE stack = ?1 AND logical_id = ?2 \
                    AND property_path = ?3 AND at >= ?4 AND at <= ?5 AND actor IS NOT NULL \
                    ORDER BY at DESC, id DESC LIMIT 1) \
                 FROM flip_flops WHERE stack = ?1 AND logical_id = ?2 \
                 AND property_path = ?3 AND at >= ?4 AND at <= ?5",
                params![key.stack, key.logical_id, key.property_path, since, until],
                |row| {
                    Ok(FlipFlops {
                        count: count(row.get(0)?),
                        last_actor: row.get(1)?,
                    })
                },
            )
            .map_err(|e| self.sqlite("count flip-flops", e))
    }

    /// Records a failed attempt on `stack` and returns how many have failed
    /// in a row.
    pub fn record_failure(&mut self, stack: &str, now: SystemTime) -> Result<u32, StoreError> {
        let now = to_ms(now, "failure")?;
        self.write("record a failure", |tx, path| {
            tx.query_row(
                "INSERT INTO circuits (stack, failures, last_failure) VALUES (?1, 1, ?2) \
                 ON CONFLICT (stack) DO UPDATE SET failures = failures + 1, \
                 last_failure = max(last_failure, excluded.last_failure) RETURNING failures",
                params![stack, now],
                |row| row.get(0),
            )
            .map(count)
            .map_err(|e| StoreError::sqlite("record a failure", path, e))
        })
    }

    /// Records a successful attempt on `stack`: the failure count restarts.
    pub fn record_success(&mut self, stack: &str) -> Result<(), StoreError> {
        self.write("record a success", |tx, path| {
            tx.execute("DELETE FROM circuits WHERE stack = ?1", [stack])
                .map(drop)
                .map_err(|e| StoreError::sqlite("record a success", path, e))
        })
    }

    /// The breaker of `stack`: open for `cooldown` after the latest failure
    /// once `threshold` attempts in a row have failed. A threshold of 0
    /// disables the breaker.
    pub fn circuit(
        &self,
        stack: &str,
        threshold: u32,
        cooldown: Duration,
        now: SystemTime,
    ) -> Result<CircuitState, StoreError> {
        let row: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT failures, last_failure FROM circuits WHERE stack = ?1",
                [stack],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sqlite("read a circuit breaker", e))?;
        let Some((failures, last_failure)) = row else {
            return Ok(CircuitState::Closed);
        };
        if threshold == 0 || count(failures) < threshold {
            return Ok(CircuitState::Closed);
        }
        let until = from_ms(last_failure)
            .checked_add(cooldown)
            .unwrap_or(from_ms(i64::MAX));
        Ok(if now < until {
            CircuitState::Open { until }
        } else {
            CircuitState::HalfOpen
        })
    }
}

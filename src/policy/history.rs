//! What `decide` needs to know about the past: reverts made, properties
//! that flip-flopped, the stack's circuit breaker, leases recorded in state.
//! The state store implements [`History`]; [`MemoryHistory`] is a small
//! in-memory one for tests and dry runs without state.

use std::time::{Duration, SystemTime};

/// The past, as the state store remembers it. Every query takes `now` so
/// that the policy never reads the clock.
pub trait History {
    /// Reverts (and drift re-applies) of this resource that started within
    /// `window` before `now`.
    fn reverts_within(
        &self,
        stack: &str,
        logical_id: &str,
        window: Duration,
        now: SystemTime,
    ) -> u32;

    /// How often this property drifted back after a revert within `window`,
    /// and who changed it last time (a CloudTrail principal), if known.
    fn flip_flops(
        &self,
        stack: &str,
        logical_id: &str,
        property_path: &str,
        window: Duration,
        now: SystemTime,
    ) -> (u32, Option<String>);

    /// Whether the stack's circuit breaker is open at `now`.
    fn circuit_open(&self, stack: &str, now: SystemTime) -> bool;

    /// A break-glass lease recorded in state covering this resource at or
    /// after `now`: its end and its reason. A lease that has ended is still
    /// returned (so its `after` action can run); the store forgets it once
    /// it has been handled.
    fn break_glass(
        &self,
        stack: &str,
        logical_id: &str,
        now: SystemTime,
    ) -> Option<(SystemTime, String)>;
}

/// No history at all: nothing was ever reverted.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHistory;

impl History for NoHistory {
    fn reverts_within(&self, _: &str, _: &str, _: Duration, _: SystemTime) -> u32 {
        0
    }
    fn flip_flops(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: Duration,
        _: SystemTime,
    ) -> (u32, Option<String>) {
        (0, None)
    }
    fn circuit_open(&self, _: &str, _: SystemTime) -> bool {
        false
    }
    fn break_glass(&self, _: &str, _: &str, _: SystemTime) -> Option<(SystemTime, String)> {
        None
    }
}

/// An in-memory history, filled by hand.
#[derive(Debug, Clone, Default)]
pub struct MemoryHistory {
    /// `(stack, logical_id, when)`.
    pub reverts: Vec<(String, String, SystemTime)>,
    /// `(stack, logical_id, property_path, when, actor)`: a property seen
    /// drifted again after it was reverted.
    pub flips: Vec<(String, String, String, SystemTime, Option<String>)>,
    /// `(stack, open_until)`.
    pub circuits: Vec<(String, SystemTime)>,
    /// `(stack, logical_id, until, reason)`; a `*` logical id covers the stack.
    pub leases: Vec<(String, String, SystemTime, String)>,
}

/// Whether `t` is within `window` before `now` (and not in the future).
fn within(t: SystemTime, window: Duration, now: SystemTime) -> bool {
    t <= now && now.duration_since(t).is_ok_and(|age| age <= window)
}

impl History for MemoryHistory {
    fn reverts_within(
        &self,
        stack: &str,
        logical_id: &str,
        window: Duration,
        now: SystemTime,
    ) -> u32 {
        let n = self
            .reverts
            .iter()
            .filter(|(s, l, t)| s == stack && l == logical_id && within(*t, window, now))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn flip_flops(
        &self,
        stack: &str,
        logical_id: &str,
        property_path: &str,
        window: Duration,
        now: SystemTime,
    ) -> (u32, Option<String>) {
        let hits: Vec<_> = self
            .flips
            .iter()
            .filter(|(s, l, p, t, _)| {
                s == stack && l == logical_id && p == property_path && within(*t, window, now)
            })
            .collect();
        let actor = hits
            .iter()
            .max_by_key(|(_, _, _, t, _)| *t)
            .and_then(|(_, _, _, _, a)| a.clone());
        (u32::try_from(hits.len()).unwrap_or(u32::MAX), actor)
    }

    fn circuit_open(&self, stack: &str, now: SystemTime) -> bool {
        self.circuits
            .iter()
            .any(|(s, until)| s == stack && now < *until)
    }

    fn break_glass(
        &self,
        stack: &str,
        logical_id: &str,
        _now: SystemTime,
    ) -> Option<(SystemTime, String)> {
        self.leases
            .iter()
            .filter(|(s, l, _, _)| s == stack && (l == logical_id || l == "*"))
            .max_by_key(|(_, _, until, _)| *until)
            .map(|(_, _, until, reason)| (*until, reason.clone()))
    }
}

//! The state store as the policy's [`History`]. A store error reads as "no
//! history" for that question, logged: being unable to read the past must
//! not stop a revert that is otherwise safe, and the limits that matter most
//! (the circuit breaker) fail closed below.

use std::time::{Duration, SystemTime};

use crate::policy::{History, Policy};
use crate::store::{DriftKey, Store};

/// Answers the policy's questions from the state store.
pub struct StoreHistory<'a> {
    pub store: &'a Store,
    pub policy: &'a Policy,
}

impl History for StoreHistory<'_> {
    fn reverts_within(
        &self,
        stack: &str,
        logical_id: &str,
        window: Duration,
        now: SystemTime,
    ) -> u32 {
        self.store
            .reverts_within(stack, logical_id, window, now)
            .unwrap_or_else(|e| {
                tracing::warn!(%stack, %logical_id, error = %e, "cannot read revert history");
                0
            })
    }

    fn flip_flops(
        &self,
        stack: &str,
        logical_id: &str,
        property_path: &str,
        window: Duration,
        now: SystemTime,
    ) -> (u32, Option<String>) {
        match self.store.flip_flops(
            &DriftKey::new(stack, logical_id, property_path),
            window,
            now,
        ) {
            Ok(f) => (f.count, f.last_actor),
            Err(e) => {
                tracing::warn!(%stack, %logical_id, error = %e, "cannot read flip-flop history");
                (0, None)
            }
        }
    }

    /// An unreadable circuit counts as open: acting blind on a stack that
    /// keeps failing is worse than waiting.
    fn circuit_open(&self, stack: &str, now: SystemTime) -> bool {
        let l = self.policy.limits(stack);
        match self
            .store
            .circuit(stack, l.failures_to_open, l.cooldown, now)
        {
            Ok(state) => !state.allows_attempt(),
            Err(e) => {
                tracing::warn!(%stack, error = %e, "cannot read the circuit breaker; treating it as open");
                true
            }
        }
    }

    fn break_glass(
        &self,
        stack: &str,
        logical_id: &str,
        now: SystemTime,
    ) -> Option<(SystemTime, String)> {
        match self.store.break_glass(stack, logical_id, now) {
            Ok(w) => w.map(|w| (w.expires_at, w.reason)),
            Err(e) => {
                tracing::warn!(%stack, %logical_id, error = %e, "cannot read break-glass windows");
                None
            }
        }
    }
}

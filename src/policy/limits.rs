//! Loop protection: when an intended revert or re-apply must not run.
//!
//! A remediation that itself causes a change, or an actor that keeps
//! changing what driftsync keeps putting back, would loop for ever. So a
//! revert stops when the stack's circuit is open, when the property flipped
//! back `flip_flops` times within the window (then the competing actor is
//! named and an ignore rule or a codify recommended), or when the resource
//! was reverted `max_reverts` times within the window.

use std::time::SystemTime;

use super::History;
use super::decision::{LimitKind, Limits};
use crate::config::LimitSettings;
use crate::template::PropertyPath;

impl Limits {
    /// The stack's settings over the top-level ones over the defaults.
    pub(super) fn merge(stack: Option<&LimitSettings>, global: &LimitSettings) -> Limits {
        let d = Limits::default();
        let pick =
            |f: &dyn Fn(&LimitSettings) -> Option<u32>| stack.and_then(f).or_else(|| f(global));
        let pick_d = |f: &dyn Fn(&LimitSettings) -> Option<std::time::Duration>| {
            stack.and_then(f).or_else(|| f(global))
        };
        Limits {
            max_reverts: pick(&|l| l.max_reverts).unwrap_or(d.max_reverts),
            window: pick_d(&|l| l.window).unwrap_or(d.window),
            flip_flops: pick(&|l| l.flip_flops).unwrap_or(d.flip_flops),
            failures_to_open: pick(&|l| l.failures_to_open).unwrap_or(d.failures_to_open),
            cooldown: pick_d(&|l| l.cooldown).unwrap_or(d.cooldown),
        }
    }
}

/// The drift a limit is checked for.
pub(super) struct Target<'a> {
    pub stack: &'a str,
    pub logical_id: &'a str,
    pub property_path: Option<&'a PropertyPath>,
    /// The drift's identity in the history (`drift::loop_path`): an
    /// unordered list's element by content.
    pub loop_path: &'a str,
    /// The latest CloudTrail principal on the resource, if any.
    pub changed_by: Option<&'a str>,
}

/// Why a revert of this drift must not run now, if it must not.
pub(super) fn blocked(
    limits: &Limits,
    t: &Target<'_>,
    circuit_open: bool,
    history: &dyn History,
    now: SystemTime,
) -> Option<(LimitKind, String)> {
    let window = humantime::format_duration(limits.window);
    if circuit_open {
        return Some((
            LimitKind::CircuitOpen,
            format!(
                "the circuit breaker of stack {} is open after {} failed remediations in a row; \
                 nothing is reverted or re-applied until it closes (cooldown {})",
                t.stack,
                limits.failures_to_open,
                humantime::format_duration(limits.cooldown)
            ),
        ));
    }
    let path = t
        .property_path
        .map_or_else(|| "/".to_string(), PropertyPath::to_string);
    let (flips, recorded_actor) =
        history.flip_flops(t.stack, t.logical_id, t.loop_path, limits.window, now);
    if limits.flip_flops > 0 && flips >= limits.flip_flops {
        let actor = t
            .changed_by
            .map(String::from)
            .or(recorded_actor)
            .map_or_else(
                || "an unknown actor (no CloudTrail event found)".to_string(),
                |a| format!("\"{a}\""),
            );
        let property = t
            .property_path
            .map(|p| format!(", property: \"{p}\""))
            .unwrap_or_default();
        return Some((
            LimitKind::FlipFlop,
            format!(
                "{}{path} drifted back {flips} times within {window} after being reverted: \
                 {actor} keeps changing it, so driftsync stopped reverting it. Either let that \
                 actor own it with an ignore rule (ignore: [{{stack: \"{}\", logical_id: \"{}\"{property}}}]) \
                 or codify the live value (a policy rule with action: codify)",
                t.logical_id, t.stack, t.logical_id
            ),
        ));
    }
    let reverts = history.reverts_within(t.stack, t.logical_id, limits.window, now);
    if reverts >= limits.max_reverts {
        let last = t
            .changed_by
            .map(|a| format!(" (last changed by \"{a}\")"))
            .unwrap_or_default();
        return Some((
            LimitKind::MaxReverts,
            format!(
                "{} was already reverted {reverts} times within {window} (max_reverts: {}){last}; \
                 driftsync stops so a remediation cannot loop. Add an ignore rule for it or codify \
                 the change if the live value is wanted",
                t.logical_id, limits.max_reverts
            ),
        ));
    }
    None
}

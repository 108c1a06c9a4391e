//! What `decide` returns: one [`Decision`] per drifted property, deleted
//! resource or pending change, each naming what made it. This is the
//! `stacks[].decisions` part of the plan's JSON (docs/json-output.md, `plan`).

use std::time::Duration;

use serde::Serialize;
use serde::ser::Serializer;

use crate::config::{Action, DecisionKind, RevertVia};
use crate::doc::Location;
use crate::template::PropertyPath;

/// Every decision for one stack, with the settings `plan` and `remediate`
/// need to carry them out.
#[derive(Debug, Clone, Serialize)]
pub struct StackDecisions {
    pub stack: String,
    pub decisions: Vec<Decision>,
    pub revert_via: RevertVia,
    /// `create: true`: a stack that is not deployed is created.
    pub create: bool,
    pub limits: Limits,
    /// The stack's circuit breaker is open: no revert or re-apply runs.
    pub circuit_open: bool,
}

/// One decision.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub logical_id: String,
    pub physical_id: Option<String>,
    #[serde(rename = "type")]
    pub type_name: String,
    /// `None` for a whole resource (deleted live, or added or removed by a
    /// pending change).
    pub property_path: Option<PropertyPath>,
    pub kind: DecisionKind,
    pub action: Action,
    /// Why, in words: the rule's `reason`, the guard's message, the lease.
    pub reason: String,
    /// What made the decision.
    pub rule: RuleRef,
    /// Guards the live resource breaks (drift only).
    pub guard_violations: Vec<GuardViolation>,
    /// RFC 3339: the break-glass lease that tolerates this drift ends then.
    pub tolerated_until: Option<String>,
    /// Seconds left on that lease when the decision was made.
    pub tolerated_remaining_secs: Option<u64>,
    /// Whether a revert or re-apply may replace the resource.
    pub allow_replacement: bool,
    /// Why the intended revert or re-apply will not run, naming the
    /// competing actor and what to do instead.
    pub blocked: Option<String>,
    /// Which limit blocked it.
    pub blocked_by: Option<LimitKind>,
    /// A limit that would have blocked this revert and did not, because
    /// the live resource breaks a guard (a guard violation is never left
    /// open); the reason says so.
    pub limit_overridden: Option<LimitKind>,
}

impl Decision {
    /// Whether `plan` should schedule work for it: not `ignore` or
    /// `report`, and not blocked.
    pub fn is_actionable(&self) -> bool {
        self.blocked.is_none() && !matches!(self.action, Action::Ignore | Action::Report)
    }
}

/// What made a decision. Serialised flat with a `kind` tag, e.g.
/// `{"kind": "rule", "scope": "stack", "index": 0, "file": "driftsync.yaml", "line": 12, "column": 7}`.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleRef {
    /// No rule matched: the stack's `default`, the top-level one (with where
    /// it is written), or the built-in (`report` for drift, `reapply` for
    /// pending changes).
    Default {
        scope: Scope,
        file: Option<String>,
        location: Option<Location>,
    },
    /// A `rules:` entry, by its index in its list and its place in the config.
    Rule {
        scope: Scope,
        index: usize,
        file: String,
        location: Location,
    },
    /// A guard the live resource breaks: always a revert.
    Guard { file: String, rule: String },
    /// A break-glass lease: tolerated until it ends, then `break_glass.after`.
    BreakGlass {
        until: String,
        source: LeaseSource,
        expired: bool,
    },
}

/// Where a rule or default came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The stack's own `policy:`.
    Stack,
    /// The top-level `policy:`.
    Global,
    /// Nothing in the config: driftsync's own default.
    Builtin,
}

impl Serialize for RuleRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize, Default)]
        struct Wire<'a> {
            kind: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            scope: Option<Scope>,
            #[serde(skip_serializing_if = "Option::is_none")]
            index: Option<usize>,
            #[serde(skip_serializing_if = "Option::is_none")]
            file: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            line: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            column: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rule: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            until: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            source: Option<&'a LeaseSource>,
            #[serde(skip_serializing_if = "Option::is_none")]
            expired: Option<bool>,
        }
        let wire = match self {
            RuleRef::Default {
                scope,
                file,
                location,
            } => Wire {
                kind: "default",
                scope: Some(*scope),
                file: file.as_deref(),
                line: location.map(|l| l.line),
                column: location.map(|l| l.col),
                ..Wire::default()
            },
            RuleRef::Rule {
                scope,
                index,
                file,
                location,
            } => Wire {
                kind: "rule",
                scope: Some(*scope),
                index: Some(*index),
                file: Some(file),
                line: Some(location.line),
                column: Some(location.col),
                ..Wire::default()
            },
            RuleRef::Guard { file, rule } => Wire {
                kind: "guard",
                file: Some(file),
                rule: Some(rule),
                ..Wire::default()
            },
            RuleRef::BreakGlass {
                until,
                source,
                expired,
            } => Wire {
                kind: "break_glass",
                until: Some(until),
                source: Some(source),
                expired: Some(*expired),
                ..Wire::default()
            },
        };
        wire.serialize(s)
    }
}

impl std::fmt::Display for RuleRef {
    /// `rule 2 of stack web-sg's policy (driftsync.yaml:14:7)`, `default`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scope = |s: &Scope| match s {
            Scope::Stack => "the stack's policy",
            Scope::Global => "the top-level policy",
            Scope::Builtin => "driftsync",
        };
        match self {
            RuleRef::Default {
                scope: s,
                file,
                location,
            } => match (file, location) {
                (Some(file), Some(l)) => write!(f, "default of {} ({file}:{l})", scope(s)),
                _ => write!(f, "default of {}", scope(s)),
            },
            RuleRef::Rule {
                scope: s,
                index,
                file,
                location,
            } => write!(f, "rule {index} of {} ({file}:{location})", scope(s)),
            RuleRef::Guard { file, rule } => write!(f, "guard {rule} ({file})"),
            RuleRef::BreakGlass { until, expired, .. } => {
                let verb = if *expired { "expired" } else { "until" };
                write!(f, "break-glass {verb} {until}")
            }
        }
    }
}

/// Who granted a break-glass lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaseSource {
    /// The resource's live tag (`break_glass.tag`).
    Tag,
    /// A `break_glass.windows` entry in the config.
    Window,
    /// A lease recorded in driftsync's state.
    State,
}

/// One guard rule the live resource breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardViolation {
    /// The guard file, as a repository path.
    pub file: String,
    /// The Guard rule's name.
    pub rule: String,
    /// The rule's custom message (`<< ... >>`), or Guard's own.
    pub message: String,
}

/// Why an intended revert or re-apply will not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// The resource was reverted `max_reverts` times within `window`.
    MaxReverts,
    /// The property drifted back `flip_flops` times after a revert.
    FlipFlop,
    /// The stack's circuit breaker is open.
    CircuitOpen,
    /// The change would replace the resource and `allow_replacement` is off.
    Replacement,
}

impl LimitKind {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::MaxReverts => "max_reverts",
            LimitKind::FlipFlop => "flip_flop",
            LimitKind::CircuitOpen => "circuit_open",
            LimitKind::Replacement => "replacement",
        }
    }
}

/// The loop-protection limits in force for a stack (shown in the plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub max_reverts: u32,
    #[serde(serialize_with = "human_duration")]
    pub window: Duration,
    pub flip_flops: u32,
    pub failures_to_open: u32,
    #[serde(serialize_with = "human_duration")]
    pub cooldown: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_reverts: 3,
            window: Duration::from_secs(3600),
            flip_flops: 2,
            failures_to_open: 3,
            cooldown: Duration::from_secs(30 * 60),
        }
    }
}

/// Durations as the config writes them (`1h`, `30m`).
fn human_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_duration(*d))
}

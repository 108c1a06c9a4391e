//! Break-glass leases: drift someone made on purpose in an emergency, to be
//! tolerated until an expiry and then handled (`break_glass.after`).
//!
//! A lease comes from the resource's live tag (`break_glass.tag`, value an
//! RFC 3339 expiry), from a config window covering the stack, or from state
//! ([`History::break_glass`]). When several apply, a running one wins over
//! an ended one, and the latest end wins among each. Guard violations are
//! never tolerated; that is decided by the caller, which never asks here
//! for a resource that breaks a guard.

use std::time::SystemTime;

use indexmap::IndexMap;

use super::History;
use super::decision::LeaseSource;
use crate::config::{BreakGlassWindow, parse_rfc3339};
use crate::template::Value;

/// A lease that covers a resource.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Lease {
    pub until: SystemTime,
    /// RFC 3339.
    pub until_text: String,
    pub source: LeaseSource,
    /// Why it was granted (a window's reason, the tag's name).
    pub reason: String,
}

impl Lease {
    pub fn active(&self, now: SystemTime) -> bool {
        now < self.until
    }
}

/// What `find` needs from the stack's effective settings.
pub(super) struct Leases<'a> {
    pub tag: &'a str,
    pub windows: &'a [&'a BreakGlassWindow],
}

/// The lease covering a resource, and notes about leases that could not be
/// read (a tag whose value is not a time).
pub(super) fn find(
    leases: &Leases<'_>,
    stack: &str,
    logical_id: &str,
    live: Option<&IndexMap<String, Value>>,
    history: &dyn History,
    now: SystemTime,
) -> (Option<Lease>, Vec<String>) {
    let mut found = Vec::new();
    let mut notes = Vec::new();
    if let Some(value) = live.and_then(|p| tag_value(p, leases.tag)) {
        match parse_rfc3339(&value) {
            Ok(until) => found.push(Lease {
                until,
                until_text: crate::check::rfc3339(until),
                source: LeaseSource::Tag,
                reason: format!("tag {}", leases.tag),
            }),
            Err(_) => notes.push(format!(
                "the {} tag says \"{value}\", which is not an RFC 3339 time, so it grants no lease",
                leases.tag
            )),
        }
    }
    for w in leases.windows.iter().filter(|w| w.covers(stack)) {
        found.push(Lease {
            until: w.until,
            until_text: crate::check::rfc3339(w.until),
            source: LeaseSource::Window,
            reason: w
                .reason
                .clone()
                .unwrap_or_else(|| format!("break-glass window at config {}", w.location)),
        });
    }
    if let Some((until, reason)) = history.break_glass(stack, logical_id, now) {
        found.push(Lease {
            until,
            until_text: crate::check::rfc3339(until),
            source: LeaseSource::State,
            reason,
        });
    }
    let best = found.into_iter().max_by_key(|l| (l.active(now), l.until));
    (best, notes)
}

/// The value of a tag in live properties: `Tags` as CloudFormation's list
/// of `{Key, Value}` or as a map (some types, such as SSM parameters).
pub(super) fn tag_value(live: &IndexMap<String, Value>, key: &str) -> Option<String> {
    match live.get("Tags")? {
        Value::List(items) => items.iter().find_map(|t| {
            let m = t.as_map()?;
            (m.get("Key")?.as_str()? == key).then(|| m.get("Value").and_then(Value::scalar_text))?
        }),
        Value::Map(m) => m.get(key).and_then(Value::scalar_text),
        _ => None,
    }
}

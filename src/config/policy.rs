//! Compiles the `policy:` and `guards:` sections: globs compiled once,
//! durations and RFC 3339 times parsed, every error located at
//! file:line:column. What the settings *mean* for a drift is `policy`'s
//! business; this file only makes sure they are well-formed.

use std::time::{Duration, SystemTime};

use globset::GlobMatcher;

use super::model::{RawConfig, RawStack};
use super::policy_model::{
    Action, AfterBreakGlass, DecisionKind, RawMatch, RawPolicy, RawRule, RawWindow, RevertVia,
};
use super::{ConfigError, compile_glob};
use crate::doc::{Location, Node};
use crate::source;

/// One `policy:` section (top-level or a stack's), validated. `None` means
/// "not set here": the stack's section falls back to the top-level one,
/// which falls back to the built-in defaults (see `policy`).
#[derive(Debug, Clone, Default)]
pub struct PolicySettings {
    pub default: Option<Action>,
    pub allow_replacement: Option<bool>,
    pub create: Option<bool>,
    pub revert_via: Option<RevertVia>,
    pub limits: LimitSettings,
    pub break_glass_tag: Option<String>,
    pub break_glass_after: Option<AfterBreakGlass>,
    pub windows: Vec<BreakGlassWindow>,
    pub rules: Vec<PolicyRule>,
    /// Where `default` is written, when it is.
    pub default_location: Option<Location>,
}

/// `limits:`, each field optional until merged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitSettings {
    pub max_reverts: Option<u32>,
    pub window: Option<Duration>,
    pub flip_flops: Option<u32>,
    pub failures_to_open: Option<u32>,
    pub cooldown: Option<Duration>,
}

/// A stack-wide break-glass lease from the config.
#[derive(Debug, Clone)]
pub struct BreakGlassWindow {
    /// The stack glob as written, if any.
    pub stack_pattern: Option<String>,
    stack: Option<GlobMatcher>,
    pub until: SystemTime,
    /// `until` as written.
    pub until_text: String,
    pub reason: Option<String>,
    pub location: Location,
}

/// A compiled policy rule.
#[derive(Debug, Clone)]
pub struct PolicyRule {
    /// Its position in its `rules:` list (0-based).
    pub index: usize,
    pub location: Location,
    pub matches: RawMatch,
    pub action: Action,
    pub reason: Option<String>,
    pub allow_replacement: Option<bool>,
    stack: Option<GlobMatcher>,
    type_name: Option<GlobMatcher>,
    logical_id: Option<GlobMatcher>,
    property: Option<GlobMatcher>,
    changed_by: Option<GlobMatcher>,
}

/// What a rule is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub stack: &'a str,
    pub type_name: &'a str,
    pub logical_id: &'a str,
    /// `None` for a whole-resource decision.
    pub property: Option<&'a str>,
    pub kind: DecisionKind,
    /// The latest CloudTrail principal, for drift.
    pub changed_by: Option<&'a str>,
}

impl PolicyRule {
    /// Whether every field the rule gives matches.
    pub fn matches(&self, s: &Subject<'_>) -> bool {
        let ok = |m: &Option<GlobMatcher>, v: &str| m.as_ref().is_none_or(|m| m.is_match(v));
        let opt = |m: &Option<GlobMatcher>, v: Option<&str>| match (m, v) {
            (None, _) => true,
            (Some(m), Some(v)) => m.is_match(v),
            (Some(_), None) => false,
        };
        self.matches.kind.is_none_or(|k| k == s.kind)
            && ok(&self.stack, s.stack)
            && ok(&self.type_name, s.type_name)
            && ok(&self.logical_id, s.logical_id)
            && opt(&self.property, s.property)
            && opt(&self.changed_by, s.changed_by)
    }
}

impl BreakGlassWindow {
    /// Whether the window covers this stack.
    pub fn covers(&self, stack: &str) -> bool {
        self.stack.as_ref().is_none_or(|m| m.is_match(stack))
    }
}

/// Where a section sits in the config, for locating its errors.
pub(super) struct Place<'a> {
    pub file: &'a str,
    pub root: &'a Node,
    /// The keys leading to the section, e.g. `["stacks", "0", "policy"]`.
    pub prefix: Vec<String>,
}

impl Place<'_> {
    fn at(&self, keys: &[&str]) -> Option<Location> {
        let mut path: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        path.extend_from_slice(keys);
        // The deepest node that exists, so an error is never unlocated.
        (0..=path.len())
            .rev()
            .find_map(|n| super::pointer(self.root, &path[..n]))
            .map(|node| node.span.location())
    }

    fn error(&self, keys: &[&str], message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.file, self.at(keys), message)
    }
}

/// Validates one `policy:` section.
pub(super) fn compile(raw: &RawPolicy, place: &Place<'_>) -> Result<PolicySettings, ConfigError> {
    let duration = |key: &str, text: &Option<String>| -> Result<Option<Duration>, ConfigError> {
        text.as_deref()
            .map(|t| {
                super::parse_duration(t).map_err(|e| {
                    place.error(
                        &["limits", key],
                        format!("\"{t}\" is not a duration (like 90s, 30m or 1h): {e}"),
                    )
                })
            })
            .transpose()
    };
    let limits = match &raw.limits {
        None => LimitSettings::default(),
        Some(l) => LimitSettings {
            max_reverts: l.max_reverts,
            window: duration("window", &l.window)?,
            flip_flops: l.flip_flops,
            failures_to_open: l.failures_to_open,
            cooldown: duration("cooldown", &l.cooldown)?,
        },
    };
    if limits.window == Some(Duration::ZERO) {
        return Err(place.error(&["limits", "window"], "the window must be longer than 0s"));
    }
    let (tag, after, windows) = match &raw.break_glass {
        None => (None, None, Vec::new()),
        Some(b) => {
            if let Some(tag) = &b.tag
                && (tag.is_empty() || tag.len() > 128)
            {
                return Err(
                    place.error(&["break_glass", "tag"], "a tag key has 1 to 128 characters")
                );
            }
            let windows = b
                .windows
                .iter()
                .enumerate()
                .map(|(i, w)| window(w, i, place))
                .collect::<Result<_, _>>()?;
            (b.tag.clone(), b.after, windows)
        }
    };
    let rules = raw
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| rule(r, i, place))
        .collect::<Result<_, _>>()?;
    Ok(PolicySettings {
        default: raw.default,
        allow_replacement: raw.allow_replacement,
        create: raw.create,
        revert_via: raw.revert.as_ref().and_then(|r| r.via),
        limits,
        break_glass_tag: tag,
        break_glass_after: after,
        windows,
        rules,
        default_location: raw.default.and(place.at(&["default"])),
    })
}

fn window(w: &RawWindow, i: usize, place: &Place<'_>) -> Result<BreakGlassWindow, ConfigError> {
    let idx = i.to_string();
    let keys = |k: &'static str| ["break_glass", "windows", idx.as_str(), k];
    let stack = compile_glob("stack", &w.stack).map_err(|(_, m)| place.error(&keys("stack"), m))?;
    let until = parse_rfc3339(&w.until).map_err(|m| place.error(&keys("until"), m))?;
    Ok(BreakGlassWindow {
        stack_pattern: w.stack.clone(),
        stack,
        until,
        until_text: w.until.clone(),
        reason: w.reason.clone(),
        location: place
            .at(&["break_glass", "windows", &idx])
            .unwrap_or_default(),
    })
}

fn rule(r: &RawRule, i: usize, place: &Place<'_>) -> Result<PolicyRule, ConfigError> {
    let idx = i.to_string();
    let m = &r.matches;
    let glob = |key: &'static str, pattern: &Option<String>| {
        compile_glob(key, pattern)
            .map_err(|(key, msg)| place.error(&["rules", &idx, "match", key], msg))
    };
    if let Some(p) = &m.property
        && !p.starts_with('/')
    {
        return Err(place.error(
            &["rules", &idx, "match", "property"],
            format!("property paths start with '/', as in CloudFormation (\"/{p}\")"),
        ));
    }
    if m.kind == Some(DecisionKind::Pending) && m.changed_by.is_some() {
        return Err(place.error(
            &["rules", &idx, "match", "changed_by"],
            "`changed_by` names who changed live state, so it never matches `kind: pending`",
        ));
    }
    Ok(PolicyRule {
        index: i,
        location: place.at(&["rules", &idx]).unwrap_or_default(),
        matches: m.clone(),
        action: r.action,
        reason: r.reason.clone(),
        allow_replacement: r.allow_replacement,
        stack: glob("stack", &m.stack)?,
        type_name: glob("type", &m.type_name)?,
        logical_id: glob("logical_id", &m.logical_id)?,
        property: glob("property", &m.property)?,
        changed_by: glob("changed_by", &m.changed_by)?,
    })
}

/// The top-level and per-stack sections, and the guard files' repository paths.
pub(super) struct Compiled {
    pub policy: PolicySettings,
    pub stacks: Vec<Option<PolicySettings>>,
    pub guards: Vec<String>,
    pub guard_locations: Vec<Location>,
}

/// Compiles every policy section and resolves the guard paths.
pub(super) fn compile_all(
    raw: &RawConfig,
    root: &Node,
    file: &str,
) -> Result<Compiled, ConfigError> {
    let place = |prefix: &[&str]| Place {
        file,
        root,
        prefix: prefix.iter().map(|s| s.to_string()).collect(),
    };
    let policy = compile(&raw.policy, &place(&["policy"]))?;
    let stacks = raw
        .stacks
        .iter()
        .enumerate()
        .map(|(i, s): (usize, &RawStack)| {
            s.policy
                .as_ref()
                .map(|p| compile(p, &place(&["stacks", &i.to_string(), "policy"])))
                .transpose()
        })
        .collect::<Result<_, _>>()?;
    let base = source::path::parent(file);
    let mut guards = Vec::with_capacity(raw.guards.len());
    let mut guard_locations = Vec::with_capacity(raw.guards.len());
    for (i, g) in raw.guards.iter().enumerate() {
        let here = place(&["guards", &i.to_string()]);
        let path = source::path::join(base, &g.file).map_err(|m| here.error(&["file"], m))?;
        guard_locations.push(here.at(&["file"]).unwrap_or_default());
        guards.push(path);
    }
    Ok(Compiled {
        policy,
        stacks,
        guards,
        guard_locations,
    })
}

/// Parses an RFC 3339 time (`2026-12-01T00:00:00Z`, offsets allowed).
///
/// # Errors
/// A message saying what was expected.
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, String> {
    use aws_smithy_types::date_time::{DateTime, Format};
    DateTime::from_str(text.trim(), Format::DateTimeWithOffset)
        .ok()
        .and_then(|t| SystemTime::try_from(t).ok())
        .ok_or_else(|| format!("\"{text}\" is not an RFC 3339 time (like 2026-12-01T00:00:00Z)"))
}

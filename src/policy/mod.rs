//! The policy: what `sync` does about each drifted property and pending
//! change, and why. A [`Policy`] is built once from the config and the
//! guard files' text; [`Policy::decide`] turns one stack's
//! [`check::StackCheck`](crate::check::StackCheck) into [`StackDecisions`].
//!
//! How a drift is decided, in order:
//! 1. the first matching rule (the stack's rules, then the top-level ones),
//!    else the stack's `default`, the top-level `default`, else `report`;
//!    pending changes default to `reapply`;
//! 2. a guard the live resource breaks forces `revert` for all of that
//!    resource's drift, whatever the rule said: never `codify`, `ignore` or
//!    tolerated;
//! 3. a break-glass lease (live tag, config window, or state) tolerates the
//!    drift (`report`, with `tolerated_until`) until it ends, then
//!    `break_glass.after` (default `codify`); an `ignore` stays `ignore`;
//! 4. a revert or re-apply is `blocked` when the stack's circuit is open,
//!    the property flip-flopped, or the resource hit `max_reverts`; a change
//!    that would replace a resource is blocked unless `allow_replacement`.
//!
//! Owns the meaning of the `policy:` and `guards:` settings. Pure: it must
//! not do I/O, call AWS, read the clock (time is passed in) or print, and it
//! must not plan steps (that is `plan`) or act (that is `remediate`).

mod break_glass;
mod decision;
mod effective;
mod guard;
mod history;
mod limits;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::SystemTime;

use crate::check::{ResourceReport, StackCheck};
use crate::config::{Config, PolicySettings, Subject};
use crate::doc::Location;
use crate::template::PropertyPath;

pub use crate::config::{Action, DecisionKind, RevertVia};
pub use decision::{
    Decision, GuardViolation, LeaseSource, LimitKind, Limits, RuleRef, Scope, StackDecisions,
};
pub use guard::{ALLOW_TAG_PREFIX, check_guard};
pub use history::{History, MemoryHistory, NoHistory};

/// The default break-glass tag.
pub const BREAK_GLASS_TAG: &str = "driftsync:break-glass";

/// Why a policy cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A guard file Guard cannot parse.
    #[error("{file}{}: not a valid Guard rules file: {message}", location.map(|l| format!(":{l}")).unwrap_or_default())]
    GuardParse {
        file: String,
        location: Option<Location>,
        message: String,
    },
    /// The config lists a guard file whose text the caller did not supply.
    #[error("{config}:{location}: guard file {file} was not found")]
    MissingGuard {
        config: String,
        file: String,
        location: Location,
    },
}

/// The compiled policy for every stack.
#[derive(Debug, Clone)]
pub struct Policy {
    config_file: String,
    global: PolicySettings,
    stacks: HashMap<String, PolicySettings>,
    guards: Vec<guard::Guard>,
}

impl Policy {
    /// Builds the policy from the config and the text of its guard files
    /// (`(repository path, text)`, as `load` reads them).
    ///
    /// # Errors
    /// [`PolicyError::MissingGuard`] when a guard the config lists has no
    /// text, [`PolicyError::GuardParse`] when Guard cannot parse one.
    pub fn new(config: &Config, guards: &[(String, String)]) -> Result<Policy, PolicyError> {
        let mut compiled = Vec::with_capacity(config.guards.len());
        for (i, path) in config.guards.iter().enumerate() {
            let text = guards
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, t)| t)
                .ok_or_else(|| PolicyError::MissingGuard {
                    config: config.path.clone(),
                    file: path.clone(),
                    location: config.guard_locations.get(i).copied().unwrap_or_default(),
                })?;
            compiled.push(guard::Guard::new(path, text)?);
        }
        Ok(Policy {
            config_file: config.path.clone(),
            global: config.policy.clone(),
            stacks: config
                .stacks
                .iter()
                .filter_map(|s| Some((s.name.clone(), s.policy.clone()?)))
                .collect(),
            guards: compiled,
        })
    }

    /// The loop-protection limits in force for a stack.
    pub fn limits(&self, stack: &str) -> Limits {
        self.effective(stack).limits
    }

    /// One decision per drifted difference (or per deleted resource, with
    /// no property path) and one per pending change, in the report's order.
    pub fn decide(
        &self,
        stack: &StackCheck,
        history: &dyn History,
        now: SystemTime,
    ) -> StackDecisions {
        let eff = self.effective(&stack.name);
        let circuit_open = history.circuit_open(&stack.name, now);
        let mut decisions = Vec::new();
        for r in stack.drift.iter().filter(|r| r.is_drifted()) {
            self.decide_resource(stack, r, &eff, circuit_open, history, now, &mut decisions);
        }
        for p in &stack.pending {
            let path = p.what();
            let subject = Subject {
                stack: &stack.name,
                type_name: &p.type_name,
                logical_id: &p.logical_id,
                property: path.as_deref(),
                kind: DecisionKind::Pending,
                changed_by: None,
            };
            let mut d = self.base_decision(&subject, &eff);
            d.property_path = p.property_path.clone();
            if d.action.changes_aws() {
                if circuit_open {
                    let target = limits::Target {
                        stack: &stack.name,
                        logical_id: &p.logical_id,
                        property_path: p.property_path.as_ref(),
                        loop_path: path.as_deref().unwrap_or_default(),
                        changed_by: None,
                    };
                    d.block(limits::blocked(&eff.limits, &target, true, history, now));
                } else if p.replacement && !d.allow_replacement {
                    d.block(Some((
                        LimitKind::Replacement,
                        format!(
                            "deploying this change would replace {} ({}); set allow_replacement: \
                             true on a rule or the policy to allow it",
                            p.logical_id,
                            p.caused_by
                                .as_ref()
                                .map_or("a create-only property changed", |c| c.reason.as_str())
                        ),
                    )));
                }
            }
            decisions.push(d);
        }
        StackDecisions {
            stack: stack.name.clone(),
            decisions,
            revert_via: eff.revert_via,
            create: eff.create,
            limits: eff.limits,
            circuit_open,
        }
    }

    #[allow(clippy::too_many_arguments)] // One call site; a struct would only rename them.
    fn decide_resource(
        &self,
        stack: &StackCheck,
        r: &ResourceReport,
        eff: &effective::Effective<'_>,
        circuit_open: bool,
        history: &dyn History,
        now: SystemTime,
        out: &mut Vec<Decision>,
    ) {
        let deleted = r.status == "DELETED";
        let live = r.actual.as_ref().filter(|_| !deleted);
        let violations: Vec<GuardViolation> = match live {
            Some(props) => {
                let view = guard::guard_view(r, props);
                self.guards
                    .iter()
                    .flat_map(|g| g.evaluate(&r.logical_id, &r.type_name, &view))
                    .collect()
            }
            None => Vec::new(),
        };
        let leases = break_glass::Leases {
            tag: eff.tag,
            windows: &eff.windows,
        };
        let (lease, notes) =
            break_glass::find(&leases, &stack.name, &r.logical_id, live, history, now);
        let actor = r.changed_by.first().map(|c| c.principal.as_str());
        // Each drifted path, and its identity for loop protection.
        let paths: Vec<(Option<&PropertyPath>, String, bool)> = if deleted {
            vec![(None, String::new(), false)]
        } else {
            r.differences
                .iter()
                .filter(|d| d.ignored_by.is_none())
                .map(|d| {
                    (
                        Some(&d.property_path),
                        crate::drift::loop_path(&r.type_name, d),
                        d.secret,
                    )
                })
                .collect()
        };
        for (path, loop_path, secret) in paths {
            let text = path.map(PropertyPath::to_string);
            let subject = Subject {
                stack: &stack.name,
                type_name: &r.type_name,
                logical_id: &r.logical_id,
                property: text.as_deref(),
                kind: DecisionKind::Drift,
                changed_by: actor,
            };
            let mut d = self.base_decision(&subject, eff);
            d.physical_id = r.physical_id.clone();
            d.property_path = path.cloned();
            if let Some(v) = violations.first() {
                d.action = Action::Revert;
                d.rule = RuleRef::Guard {
                    file: v.file.clone(),
                    rule: v.rule.clone(),
                };
                d.reason = format!(
                    "the live resource breaks guard {} ({}): {}; a guard violation is always \
                     reverted, never codified, ignored or tolerated",
                    v.rule, v.file, v.message
                );
                d.guard_violations = violations.clone();
            } else if let Some(lease) = lease.as_ref().filter(|_| d.action != Action::Ignore) {
                apply_lease(&mut d, lease, eff.after, now);
            }
            for note in &notes {
                d.reason = format!("{}; {note}", d.reason);
            }
            // A patch would write back a value driftsync cannot know (or
            // must not hold): CloudFormation, which has it, re-applies it.
            if secret && d.action == Action::Revert {
                d.action = Action::Reapply;
                d.reason = format!(
                    "{}; the value is a secret (a NoEcho parameter or a secret dynamic \
                     reference), so the stack is re-applied with REVERT_DRIFT instead of patched",
                    d.reason
                );
            }
            // CloudFormation updates a nested stack only through its parent's
            // template, which this stack's change sets and codify do not reach;
            // a surgical revert acts on the resource itself, so it stays.
            if let Some(n) = &r.nested_stack
                && matches!(d.action, Action::Reapply | Action::Codify)
            {
                d.reason = format!(
                    "{}; {} would act on the parent stack's template, but the resource is in \
                     the nested stack {}: reported instead",
                    d.reason,
                    d.action.as_str(),
                    n.path
                );
                d.action = Action::Report;
            }
            if live.is_none() && !deleted && !self.guards.is_empty() {
                d.reason = format!(
                    "{}; guards were not evaluated: the detection returned no live properties",
                    d.reason
                );
            }
            if d.action.changes_aws() {
                let target = limits::Target {
                    stack: &stack.name,
                    logical_id: &r.logical_id,
                    property_path: path,
                    loop_path: &loop_path,
                    changed_by: actor,
                };
                let blocked = limits::blocked(&eff.limits, &target, circuit_open, history, now);
                match blocked {
                    // Nothing stops a guard violation's revert: loop
                    // protection yields, and says so loudly.
                    Some((kind, why)) if !d.guard_violations.is_empty() => {
                        d.reason = format!(
                            "{}; reverted although loop protection ({}) would stop it, because \
                             a guard violation is never left open: {why}",
                            d.reason,
                            kind.as_str()
                        );
                        d.limit_overridden = Some(kind);
                    }
                    other => d.block(other),
                }
            }
            out.push(d);
        }
    }

    /// The rule (or default) decision, before guards, leases and limits.
    fn base_decision(&self, s: &Subject<'_>, eff: &effective::Effective<'_>) -> Decision {
        let matched = eff.rules.iter().find(|(_, rule)| rule.matches(s));
        let (action, rule, reason, allow) = match matched {
            Some((scope, rule)) => {
                let rref = RuleRef::Rule {
                    scope: *scope,
                    index: rule.index,
                    file: self.config_file.clone(),
                    location: rule.location,
                };
                let reason = rule
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("matched {rref}"));
                (rule.action, rref, reason, rule.allow_replacement)
            }
            None if s.kind == DecisionKind::Pending => (
                Action::Reapply,
                RuleRef::Default {
                    scope: Scope::Builtin,
                    file: None,
                    location: None,
                },
                "a committed change is deployed unless a rule says otherwise".to_string(),
                None,
            ),
            None => {
                let (action, rref) = eff.default.clone();
                let reason = format!("no rule matched; {rref} is {}", action.as_str());
                (action, rref, reason, None)
            }
        };
        Decision {
            logical_id: s.logical_id.to_string(),
            physical_id: None,
            type_name: s.type_name.to_string(),
            property_path: None,
            kind: s.kind,
            action,
            reason,
            rule,
            guard_violations: Vec::new(),
            tolerated_until: None,
            tolerated_remaining_secs: None,
            allow_replacement: allow.unwrap_or(eff.allow_replacement),
            blocked: None,
            blocked_by: None,
            limit_overridden: None,
        }
    }
}

/// A running lease tolerates the drift; an ended one hands it to `after`.
fn apply_lease(d: &mut Decision, lease: &break_glass::Lease, after: Action, now: SystemTime) {
    d.rule = RuleRef::BreakGlass {
        until: lease.until_text.clone(),
        source: lease.source.clone(),
        expired: !lease.active(now),
    };
    if lease.active(now) {
        let left = lease.until.duration_since(now).unwrap_or_default();
        d.action = Action::Report;
        d.tolerated_until = Some(lease.until_text.clone());
        d.tolerated_remaining_secs = Some(left.as_secs());
        d.reason = format!(
            "tolerated under break-glass ({}) for {} more, until {}",
            lease.reason,
            humantime::format_duration(std::time::Duration::from_secs(left.as_secs())),
            lease.until_text
        );
    } else {
        d.action = after;
        d.reason = format!(
            "the break-glass lease ({}) ended at {}; break_glass.after is {}",
            lease.reason,
            lease.until_text,
            after.as_str()
        );
    }
}

impl Decision {
    fn block(&mut self, why: Option<(LimitKind, String)>) {
        if let Some((kind, message)) = why {
            self.blocked_by = Some(kind);
            self.blocked = Some(message);
        }
    }
}

//! A stack's policy settings with the top-level ones and the built-in
//! defaults filled in: the stack's rules before the top-level ones, and for
//! every other setting the stack's value, else the top-level one, else the
//! default.

use super::{Action, BREAK_GLASS_TAG, Limits, Policy, RevertVia, RuleRef, Scope};
use crate::config::{BreakGlassWindow, PolicyRule, PolicySettings};

/// A stack's settings with the top-level ones and the defaults filled in.
pub(super) struct Effective<'a> {
    pub rules: Vec<(Scope, &'a PolicyRule)>,
    pub default: (Action, RuleRef),
    pub allow_replacement: bool,
    pub create: bool,
    pub revert_via: RevertVia,
    pub limits: Limits,
    pub tag: &'a str,
    pub after: Action,
    pub windows: Vec<&'a BreakGlassWindow>,
}

impl Policy {
    pub(super) fn effective(&self, stack: &str) -> Effective<'_> {
        let own = self.stacks.get(stack);
        let g = &self.global;
        let mut rules: Vec<(Scope, &PolicyRule)> = Vec::new();
        if let Some(s) = own {
            rules.extend(s.rules.iter().map(|r| (Scope::Stack, r)));
        }
        rules.extend(g.rules.iter().map(|r| (Scope::Global, r)));
        let place = |scope, s: &PolicySettings| RuleRef::Default {
            scope,
            file: Some(self.config_file.clone()),
            location: s.default_location,
        };
        let default = match (own.and_then(|s| s.default.map(|a| (a, s))), g.default) {
            (Some((a, s)), _) => (a, place(Scope::Stack, s)),
            (None, Some(a)) => (a, place(Scope::Global, g)),
            (None, None) => (
                Action::Report,
                RuleRef::Default {
                    scope: Scope::Builtin,
                    file: None,
                    location: None,
                },
            ),
        };
        let mut windows: Vec<_> = own.map(|s| s.windows.iter().collect()).unwrap_or_default();
        windows.extend(g.windows.iter());
        Effective {
            rules,
            default,
            allow_replacement: own
                .and_then(|s| s.allow_replacement)
                .or(g.allow_replacement)
                .unwrap_or(false),
            create: own.and_then(|s| s.create).or(g.create).unwrap_or(false),
            revert_via: own
                .and_then(|s| s.revert_via)
                .or(g.revert_via)
                .unwrap_or_default(),
            limits: Limits::merge(own.map(|s| &s.limits), &g.limits),
            tag: own
                .and_then(|s| s.break_glass_tag.as_deref())
                .or(g.break_glass_tag.as_deref())
                .unwrap_or(BREAK_GLASS_TAG),
            after: own
                .and_then(|s| s.break_glass_after)
                .or(g.break_glass_after)
                .unwrap_or_default()
                .into(),
            windows,
        }
    }
}

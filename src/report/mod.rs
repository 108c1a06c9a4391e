//! Writes a `check` report for people and machines: a terraform-plan-like
//! human view, markdown for PR comments and job summaries, SARIF 2.1.0 for
//! code scanning, and GitHub Actions workflow annotations and step outputs. JSON is the
//! report itself (see `check::CheckReport`).
//!
//! Pure: reports in, text out. Styles are ANSI codes that the output stream
//! strips when colour is off.

pub mod annotations;
pub mod github;
pub mod human;
pub mod markdown;
pub mod md;
pub mod plan;
pub mod sarif;
pub mod style;

use crate::drift::{Difference, DifferenceKind};
use crate::template::Value;

/// `1 stack`, `2 stacks`: a count with its noun (regular plurals only).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A value for one line of text: compact JSON, `(none)` when absent.
pub(crate) fn show(v: &Option<Value>) -> String {
    v.as_ref()
        .map_or_else(|| "(none)".to_string(), Value::to_string)
}

/// `expected → actual`, or the one side an ADD or REMOVE has.
pub(crate) fn change_text(d: &Difference) -> String {
    match d.kind {
        DifferenceKind::Add => show(&d.actual),
        DifferenceKind::Remove => show(&d.expected),
        DifferenceKind::NotEqual => format!("{} → {}", show(&d.expected), show(&d.actual)),
    }
}

/// What suppressed a difference, in words.
pub(crate) fn suppression_text(d: &Difference) -> Option<String> {
    use crate::drift::Suppression;
    d.ignored_by.as_ref().map(|s| match s {
        Suppression::Normalizer(name) => format!("ignored: {name}"),
        Suppression::Rule {
            reason: Some(r),
            location,
        } => format!("ignored by rule at {location}: {r}"),
        Suppression::Rule {
            reason: None,
            location,
        } => format!("ignored by rule at {location}"),
    })
}

//! The noise filter over CloudFormation's own per-difference output, for
//! when only `PropertyDifferences` are at hand (no full property documents).
//!
//! Each difference keeps its path, type and values; the normalisers that can
//! judge a value alone (tags, number-string, case, protocol names, policies,
//! defaults) decide whether it is suppressed, and a `REMOVE` and an `ADD` of
//! equivalent items in an unordered list (how CloudFormation reports a
//! reordering) suppress each other. Port rules need the whole security group
//! rule, so they only apply in [`compare`](super::compare).

use super::compare::{Site, Verdict, Walker, summarize};
use super::normalize::{self, Side};
use super::{Context, Difference, DifferenceKind, Mode, Suppression, apply_rules, sort};
use crate::template::path::Segment;
use crate::template::{PropertyPath, Value};

/// Filters CloudFormation's differences for one resource. Each tuple is
/// `(PropertyPath, DifferenceType, ExpectedValue, ActualValue)` as AWS sends
/// them: values are JSON text, though plain strings may come unquoted.
/// Returns the differences, suppressed or not, sorted by path.
pub fn from_cloudformation(
    stack: &str,
    logical_id: &str,
    type_name: &str,
    diffs: &[(String, String, Option<String>, Option<String>)],
    ctx: &Context<'_>,
) -> Vec<Difference> {
    let w = Walker::new(ctx, type_name, Mode::CloudFormation);
    let mut out: Vec<Difference> = diffs
        .iter()
        .map(|(path, kind, e, a)| one(&w, path, kind, e.as_deref(), a.as_deref()))
        .collect();
    pair_moves(&w, &mut out);
    apply_rules(&mut out, ctx, stack, type_name, logical_id);
    sort(&mut out);
    out
}

fn one(w: &Walker<'_>, path: &str, kind: &str, e: Option<&str>, a: Option<&str>) -> Difference {
    let path = PropertyPath::parse(path);
    // An unknown type is kept as a difference: better noise than a miss.
    let kind = match kind.trim() {
        "ADD" => DifferenceKind::Add,
        "REMOVE" => DifferenceKind::Remove,
        _ => DifferenceKind::NotEqual,
    };
    let (expected, actual) = match kind {
        DifferenceKind::Add => (None, a.map(parse_value)),
        DifferenceKind::Remove => (e.map(parse_value), None),
        DifferenceKind::NotEqual => (e.map(parse_value), a.map(parse_value)),
    };
    let site = Site::at(&path);
    let why = match (&expected, &actual) {
        (Some(e), Some(a)) => {
            let mut scratch = Vec::new();
            w.node(site, Some(e), Some(a), &mut scratch);
            match summarize(&scratch) {
                Verdict::Equivalent(name) => Some(name),
                // Equal values CloudFormation calls different stay reported.
                Verdict::Same | Verdict::Different => None,
            }
        }
        (Some(e), None) => normalize::absent(w, site, e, Side::Expected),
        (None, Some(a)) => normalize::absent(w, site, a, Side::Actual),
        (None, None) => None,
    };
    Difference {
        property_path: path,
        kind,
        expected,
        actual,
        ignored_by: why.map(Suppression::Normalizer),
        secret: false,
    }
}

/// JSON text, or the text itself when it is not JSON (an unquoted string).
fn parse_value(text: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => Value::from_json(&json),
        Err(_) => Value::String(text.to_string()),
    }
}

/// Items of an unordered list that CloudFormation reports as removed (or
/// changed) at one index and added (or changed) at another, while both sides
/// hold them: a reordering, not drift.
fn pair_moves(w: &Walker<'_>, out: &mut [Difference]) {
    let mut parents: Vec<PropertyPath> = out
        .iter()
        .filter_map(|d| list_parent(&d.property_path))
        .filter(|p| w.is_unordered(p))
        .collect();
    parents.sort();
    parents.dedup();
    for parent in parents {
        let members: Vec<usize> = (0..out.len())
            .filter(|&i| {
                out[i].ignored_by.is_none()
                    && list_parent(&out[i].property_path).as_ref() == Some(&parent)
            })
            .collect();
        // Which members' expected and actual items found a partner, and why.
        let mut reason_e: Vec<Option<&'static str>> = vec![None; out.len()];
        let mut reason_a: Vec<Option<&'static str>> = vec![None; out.len()];
        for &i in &members {
            let Some(e) = out[i].expected.as_ref() else {
                continue;
            };
            for &j in &members {
                let Some(a) = out[j].actual.as_ref() else {
                    continue;
                };
                if reason_a[j].is_some() || i == j {
                    continue;
                }
                let why = match w.verdict(&out[i].property_path, e, a) {
                    Verdict::Same => normalize::UNORDERED_LIST,
                    Verdict::Equivalent(name) => name,
                    Verdict::Different => continue,
                };
                reason_e[i] = Some(why);
                reason_a[j] = Some(why);
                break;
            }
        }
        for &i in &members {
            let d = &out[i];
            let why = match (d.expected.is_some(), d.actual.is_some()) {
                (true, true) => reason_e[i].and(reason_a[i]),
                (true, false) => reason_e[i],
                (false, true) => reason_a[i],
                (false, false) => None,
            };
            if let Some(why) = why {
                out[i].ignored_by = Some(Suppression::Normalizer(why));
            }
        }
    }
}

/// `/SecurityGroupIngress` for `/SecurityGroupIngress/1`.
fn list_parent(path: &PropertyPath) -> Option<PropertyPath> {
    match path.0.split_last() {
        Some((Segment::Index(_), parent)) => Some(PropertyPath(parent.to_vec())),
        _ => None,
    }
}

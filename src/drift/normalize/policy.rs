//! `policy-document`: IAM-style JSON policies (IAM `PolicyDocument` and
//! `AssumeRolePolicyDocument`, inline `Policies/*/PolicyDocument`, bucket,
//! queue and topic policies, KMS `KeyPolicy`, or any value that is a policy
//! as JSON text) compared by meaning, not by shape.
//!
//! A value is a policy when it is, or is JSON text of, an object with a
//! `Statement`. Both sides are put in canonical form:
//! - JSON text is parsed; a missing `Version` is `2012-10-17`; `Id`, an
//!   identifier with no effect on access that services add, is dropped;
//! - `Statement` is a list even when written as one object, and a set;
//! - `Action`, `NotAction`, `Resource`, `NotResource`, each principal kind,
//!   and each condition's values are sets of strings even when written as one
//!   string; actions are case-insensitive in IAM, so they are lowercased;
//! - `Principal: "*"` is `{"AWS": "*"}`, and an AWS principal given as an
//!   account id equals the account's root ARN (`arn:aws:iam::ID:root`, in
//!   any partition), as IAM stores it;
//! - scalars compare as text (`"true"` and `true` in a condition).
//!
//! Equal canonical forms are suppressed; otherwise the whole policy is one
//! `NOT_EQUAL`, since a statement-level path would not be stable.

use std::borrow::Cow;

use indexmap::IndexMap;

use super::unresolved::could_be;
use super::{POLICY_DOCUMENT, UNRESOLVED};
use crate::template::Value;

/// What IAM assumes when `Version` is missing in the documents services return.
const DEFAULT_VERSION: &str = "2012-10-17";

/// Whether a value is a policy document (or JSON text of one).
pub(in crate::drift) fn is_policy(v: &Value) -> bool {
    document(v).is_some()
}

/// Which normaliser explains two different policies, if any:
/// `policy-document` for equal canonical forms, `unresolved` when they are
/// equal only if the template's unresolved values are what is live.
pub(in crate::drift) fn equivalent(e: &Value, a: &Value) -> Option<&'static str> {
    let (e, a) = (
        canonical(document(e)?.as_ref()),
        canonical(document(a)?.as_ref()),
    );
    let mut wild = false;
    same(&e, &a, &mut wild).then_some(if wild { UNRESOLVED } else { POLICY_DOCUMENT })
}

fn document(v: &Value) -> Option<Cow<'_, IndexMap<String, Value>>> {
    match v {
        Value::Map(m) if m.contains_key("Statement") => Some(Cow::Borrowed(m)),
        Value::String(s) if s.trim_start().starts_with('{') && s.contains("Statement") => {
            let json: serde_json::Value = serde_json::from_str(s).ok()?;
            match Value::from_json(&json) {
                Value::Map(m) if m.contains_key("Statement") => Some(Cow::Owned(m)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn canonical(doc: &IndexMap<String, Value>) -> Value {
    let mut out = IndexMap::new();
    for (k, v) in doc {
        match k.as_str() {
            "Id" => {}
            "Statement" => {
                let statements = match v {
                    Value::List(l) => Value::List(l.iter().map(statement).collect()),
                    // An unresolved statement list may stand for any number of statements.
                    Value::Unresolved(_) => v.clone(),
                    one => Value::List(vec![statement(one)]),
                };
                out.insert(k.clone(), statements);
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.entry("Version".to_string())
        .or_insert_with(|| Value::String(DEFAULT_VERSION.into()));
    Value::Map(out)
}

fn statement(v: &Value) -> Value {
    let Value::Map(m) = v else {
        return v.clone();
    };
    let mut out = IndexMap::new();
    for (k, v) in m {
        let canon = match k.as_str() {
            "Action" | "NotAction" => set(v, |s| s.to_ascii_lowercase()),
            "Resource" | "NotResource" => set(v, str::to_string),
            "Principal" | "NotPrincipal" => principal(v),
            "Condition" => condition(v),
            "Sid" if v.as_str() == Some("") => continue,
            _ => v.clone(),
        };
        out.insert(k.clone(), canon);
    }
    Value::Map(out)
}

/// One string or a list of them, as a sorted set of strings.
fn set(v: &Value, f: impl Fn(&str) -> String) -> Value {
    let items: &[Value] = match v {
        Value::List(l) => l,
        // An unresolved list may stand for any number of items.
        Value::Unresolved(_) => return v.clone(),
        one => std::slice::from_ref(one),
    };
    let mut out: Vec<Value> = items
        .iter()
        .map(|item| match item.scalar_text() {
            Some(text) => Value::String(f(&text)),
            None => item.clone(),
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    out.dedup_by(|a, b| a.to_string() == b.to_string());
    Value::List(out)
}

fn principal(v: &Value) -> Value {
    match v {
        Value::String(s) if s == "*" => Value::Map(IndexMap::from([(
            "AWS".to_string(),
            set(v, str::to_string),
        )])),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(kind, ids)| {
                    let canon = if kind == "AWS" {
                        set(ids, account_of)
                    } else {
                        set(ids, str::to_string)
                    };
                    (kind.clone(), canon)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// IAM stores an account principal as its root ARN, in the account's
/// partition; both forms become the bare account id.
fn account_of(s: &str) -> String {
    let is_account = |id: &str| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit());
    let root = s
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":iam::"))
        .and_then(|(partition, rest)| {
            let id = rest.strip_suffix(":root")?;
            (partition.starts_with("aws") && is_account(id)).then_some(id)
        });
    root.unwrap_or(s).to_string()
}

fn condition(v: &Value) -> Value {
    let Value::Map(ops) = v else {
        return v.clone();
    };
    let canon_op = |keys: &Value| match keys {
        Value::Map(keys) => Value::Map(
            keys.iter()
                .map(|(k, vals)| (k.clone(), set(vals, str::to_string)))
                .collect(),
        ),
        other => other.clone(),
    };
    Value::Map(
        ops.iter()
            .map(|(op, keys)| (op.clone(), canon_op(keys)))
            .collect(),
    )
}

/// Structural equality where every list is a set and an unresolved template
/// value matches anything it could be (noted in `wild`).
fn same(e: &Value, a: &Value, wild: &mut bool) -> bool {
    match (e, a) {
        (Value::Unresolved(u), _) => {
            // A set of one is its item: `Resource: !Sub ...` against `["arn..."]`.
            let a = match a {
                Value::List(items) if items.len() == 1 => &items[0],
                _ => a,
            };
            let fits = could_be(u, a) != Some(false);
            *wild |= fits;
            fits
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same(v, w, wild)))
        }
        (Value::List(x), Value::List(y)) => same_set(x, y, wild),
        (Value::Null, Value::Null) => true,
        (x, y) => matches!((x.scalar_text(), y.scalar_text()), (Some(p), Some(q)) if p == q),
    }
}

/// Multiset equality: exact matches first, then matches through unresolved
/// values, so a wildcard never takes an exact item's partner.
fn same_set(x: &[Value], y: &[Value], wild: &mut bool) -> bool {
    if x.len() != y.len() {
        return false;
    }
    let mut used = vec![false; y.len()];
    let mut pending = Vec::new();
    for e in x {
        let exact = (0..y.len()).find(|&j| {
            let mut w = false;
            !used[j] && same(e, &y[j], &mut w) && !w
        });
        match exact {
            Some(j) => used[j] = true,
            None => pending.push(e),
        }
    }
    for e in pending {
        match (0..y.len()).find(|&j| !used[j] && same(e, &y[j], wild)) {
            Some(j) => used[j] = true,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests;

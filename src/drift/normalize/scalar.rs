//! `number-string` and `case-only`, and the strict equality the walk starts
//! from (the template's own `Value` equality is already lenient about
//! numbers and strings, which would hide which normaliser spoke).

use crate::template::path::Segment;
use crate::template::{Number, PropertyPath, Value};

/// Equal as JSON: same types, same values; numbers compare numerically.
pub(in crate::drift) fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(Number::Int(x)), Value::Number(Number::Int(y))) => x == y,
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| strict_eq(v, w))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| strict_eq(v, w)))
        }
        (Value::Unresolved(x), Value::Unresolved(y)) => x == y,
        _ => false,
    }
}

/// A string on one side, a number or boolean on the other, equal as
/// CloudFormation passes them on (`"80"`/`80`, `"true"`/`true`, `"1.0"`/`1`).
/// Two strings are never equal this way: `"1.10"` and `"1.1"` are different
/// engine versions.
pub(super) fn number_string(e: &Value, a: &Value) -> bool {
    let typed = |v: &Value| matches!(v, Value::Number(_) | Value::Bool(_));
    let mixed = matches!((e, a), (Value::String(_), b) if typed(b))
        || matches!((e, a), (b, Value::String(_)) if typed(b));
    // The template's Value equality is CloudFormation's: text, then numbers.
    mixed && e == a
}

/// Enum tokens that differ only in case (`TCP`/`tcp`, `MySQL`/`mysql`).
///
/// The heuristic, narrow on purpose:
/// - both sides are strings that are *token-like*: 1 to 32 ASCII characters,
///   letters, digits, `-`, `_`, `.` or `:`, with at least one letter (no
///   spaces, so no free text);
/// - the property (the last key on the path) is not one whose values are
///   names, identifiers, keys, values or free text, where case is meaningful:
///   see [`case_sensitive_property`]. `/Tags/0/Value` and an SSM
///   parameter's `/Value` are therefore never folded.
pub(super) fn case_only(path: &PropertyPath, e: &Value, a: &Value) -> bool {
    let (Some(x), Some(y)) = (e.as_str(), a.as_str()) else {
        return false;
    };
    x != y
        && x.eq_ignore_ascii_case(y)
        && is_token(x)
        && is_token(y)
        && last_key(path).is_some_and(|k| !case_sensitive_property(k))
}

fn is_token(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        && s.chars().any(|c| c.is_ascii_alphabetic())
}

/// The nearest property name on a path (`/Rules/0` → `Rules`).
fn last_key(path: &PropertyPath) -> Option<&str> {
    path.0.iter().rev().find_map(|s| match s {
        Segment::Key(k) => Some(k.as_str()),
        Segment::Index(_) => None,
    })
}

/// Property names whose values are identities or data, not enums. Matched
/// as suffixes, so `GroupName`, `VpcId`, `KmsKeyArn` and `TagValue` are
/// all covered.
fn case_sensitive_property(key: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "Name",
        "Names",
        "Id",
        "Ids",
        "Arn",
        "Arns",
        "Key",
        "Keys",
        "Value",
        "Values",
        "Description",
        "Url",
        "Uri",
        "Path",
        "Prefix",
        "Suffix",
        "Pattern",
        "Content",
        "Body",
        "Document",
        "Data",
        "Text",
        "Password",
        "Secret",
        "Token",
        "Label",
        "Alias",
        "Handler",
        "Expression",
        "Query",
        "Comment",
        "Message",
        "Subject",
        "Email",
        "Address",
    ];
    SUFFIXES.iter().any(|s| key.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn strings_and_numbers_are_equal_only_across_types() {
        assert!(number_string(&s("80"), &Value::Number(Number::Int(80))));
        assert!(number_string(&Value::Bool(true), &s("true")));
        assert!(number_string(&s("1.0"), &Value::Number(Number::Int(1))));
        assert!(!number_string(&s("1.10"), &s("1.1")));
        assert!(!number_string(&s("81"), &Value::Number(Number::Int(80))));
    }

    #[test]
    fn case_only_folds_enum_tokens_but_not_names_or_values() {
        let p = PropertyPath::parse;
        assert!(case_only(
            &p("/SecurityGroupIngress/0/IpProtocol"),
            &s("TCP"),
            &s("tcp")
        ));
        assert!(case_only(&p("/Engine"), &s("MySQL"), &s("mysql")));
        assert!(!case_only(&p("/Value"), &s("Prod"), &s("prod")));
        assert!(!case_only(&p("/Tags/0/Value"), &s("Web"), &s("web")));
        assert!(!case_only(&p("/BucketName"), &s("Logs"), &s("logs")));
        assert!(!case_only(&p("/Comment"), &s("Hello"), &s("hello")));
        assert!(
            !case_only(&p("/Mode"), &s("a b"), &s("A B")),
            "free text is not a token"
        );
        assert!(!case_only(&p("/Mode"), &s("x"), &s("y")));
    }

    #[test]
    fn strict_equality_tells_types_apart() {
        assert!(!strict_eq(&s("80"), &Value::Number(Number::Int(80))));
        assert!(strict_eq(
            &Value::Number(Number::Float(1.0)),
            &Value::Number(Number::Int(1))
        ));
    }
}

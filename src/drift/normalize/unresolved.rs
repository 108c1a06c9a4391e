//! `unresolved`: template values known only to AWS.
//!
//! They cannot be compared, but an `Fn::Sub` or `Fn::Join` result still has
//! literal text around its placeholders (`arn:aws:s3:::${Bucket}/*`). When a
//! live string does not fit that text, the difference is real drift; when
//! it fits, or nothing can be said, it is suppressed as `unresolved`.

use crate::template::{Unresolved, Value};

/// `Some(false)` when `actual` cannot be what `u` resolves to; `None` when
/// nothing can be said.
pub(in crate::drift) fn could_be(u: &Unresolved, actual: &Value) -> Option<bool> {
    let Unresolved::Expr { function, text } = u else {
        return None;
    };
    if function != "Fn::Sub" && function != "Fn::Join" {
        return None;
    }
    let live = match actual {
        Value::String(s) => s.clone(),
        Value::Number(_) | Value::Bool(_) => actual.scalar_text()?,
        _ => return None,
    };
    let literals = literals(text)?;
    Some(fits(&literals, &live))
}

/// The text between `${...}` placeholders; `None` without any placeholder.
fn literals(text: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}')? + start;
        out.push(&rest[..start]);
        rest = &rest[end + 1..];
    }
    if out.is_empty() {
        return None;
    }
    out.push(rest);
    Some(out)
}

/// Whether `s` is the literals in order with anything (even nothing) between.
fn fits(literals: &[&str], s: &str) -> bool {
    let Some((first, rest)) = literals.split_first() else {
        return true;
    };
    let Some((last, middle)) = rest.split_last() else {
        return s == *first;
    };
    let Some(mut tail) = s.strip_prefix(first) else {
        return false;
    };
    for m in middle {
        match tail.find(m) {
            Some(i) => tail = &tail[i + m.len()..],
            None => return false,
        }
    }
    tail.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(text: &str) -> Unresolved {
        Unresolved::Expr {
            function: "Fn::Sub".into(),
            text: text.into(),
        }
    }

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn a_sub_result_must_fit_its_literal_text() {
        let u = sub("arn:aws:s3:::${Bucket}/logs/*");
        assert_eq!(
            could_be(&u, &s("arn:aws:s3:::my-bucket/logs/*")),
            Some(true)
        );
        assert_eq!(could_be(&u, &s("arn:aws:s3:::my-bucket/*")), Some(false));
        assert_eq!(
            could_be(&u, &s("arn:aws:sqs:::my-bucket/logs/*")),
            Some(false)
        );
    }

    #[test]
    fn references_and_other_functions_say_nothing() {
        assert_eq!(could_be(&Unresolved::Ref("Vpc".into()), &s("vpc-1")), None);
        let b64 = Unresolved::Expr {
            function: "Fn::Base64".into(),
            text: "${X}".into(),
        };
        assert_eq!(could_be(&b64, &s("anything")), None);
        assert_eq!(could_be(&sub("no placeholder"), &s("x")), None);
        assert_eq!(could_be(&sub("${A}"), &Value::List(vec![])), None);
    }

    #[test]
    fn an_unclosed_placeholder_says_nothing() {
        assert_eq!(could_be(&sub("arn:${Bucket"), &s("x")), None);
    }
}

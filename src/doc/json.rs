//! JSON text → [`Node`] tree, through jsonc-parser in strict JSON mode.

use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

use super::{Entry, LineIndex, MAX_DEPTH, Map, Node, NodeKind, ParseError, Scalar, ScalarKind};

pub(super) fn parse(text: &str) -> Result<Node, ParseError> {
    let lines = LineIndex::new(text);
    check_depth(text, &lines)?;
    let strict = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed = parse_to_ast(text, &CollectOptions::default(), &strict).map_err(|e| {
        ParseError::Syntax {
            format: "JSON",
            location: lines.location(e.range().start),
            message: e.kind().to_string(),
        }
    })?;
    let value = parsed.value.ok_or(ParseError::Empty)?;
    convert(value, &lines)
}

/// jsonc-parser recurses per level; refuse absurd nesting before it does.
fn check_depth(text: &str, lines: &LineIndex) -> Result<(), ParseError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ParseError::TooDeep {
                        location: lines.location(i),
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn convert(value: Value<'_>, lines: &LineIndex) -> Result<Node, ParseError> {
    let node = |kind, range: jsonc_parser::common::Range| Node {
        kind,
        span: lines.span(range.start, range.end),
        tag: None,
    };
    let scalar = |text: String, kind| NodeKind::Scalar(Scalar { text, kind });
    Ok(match value {
        Value::StringLit(s) => node(scalar(s.value.into_owned(), ScalarKind::Str), s.range),
        Value::NumberLit(n) => {
            let kind = match n.value.parse::<i64>() {
                Ok(i) => ScalarKind::Int(i),
                Err(_) => ScalarKind::Float(n.value.parse().unwrap_or(f64::NAN)),
            };
            node(scalar(n.value.to_string(), kind), n.range)
        }
        Value::BooleanLit(b) => node(
            scalar(b.value.to_string(), ScalarKind::Bool(b.value)),
            b.range,
        ),
        Value::NullKeyword(n) => node(scalar("null".into(), ScalarKind::Null), n.range),
        Value::Array(a) => {
            let items = a
                .elements
                .into_iter()
                .map(|v| convert(v, lines))
                .collect::<Result<_, _>>()?;
            node(NodeKind::Seq(items), a.range)
        }
        Value::Object(o) => {
            let mut map = Map::with_capacity(o.properties.len());
            for prop in o.properties {
                let (key, key_range) = match prop.name {
                    ObjectPropName::String(s) => (s.value.into_owned(), s.range),
                    ObjectPropName::Word(w) => (w.value.to_string(), w.range),
                };
                let key_span = lines.span(key_range.start, key_range.end);
                if let Some(first) = map.get(&key) {
                    return Err(ParseError::DuplicateKey {
                        key,
                        location: key_span.location(),
                        first: first.key_span.location(),
                    });
                }
                let value = convert(prop.value, lines)?;
                map.insert(key, Entry { key_span, value });
            }
            node(NodeKind::Map(map), o.range)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Format, parse as parse_doc};
    use super::*;

    fn p(s: &str) -> Result<Node, ParseError> {
        parse_doc(s, Format::Json)
    }

    #[test]
    fn parses_with_locations() {
        let n = p("{\n  \"A\": {\"Ref\": \"X\"},\n  \"B\": [1, 2.5, true, null]\n}").unwrap();
        let m = n.as_map().unwrap();
        assert_eq!((m["B"].key_span.line, m["B"].key_span.col), (3, 3));
        let b = m["B"].value.as_seq().unwrap();
        assert_eq!(b[0].as_scalar().unwrap().kind, ScalarKind::Int(1));
        assert_eq!(b[1].as_scalar().unwrap().kind, ScalarKind::Float(2.5));
        assert_eq!(b[1].as_scalar().unwrap().text, "2.5");
    }

    #[test]
    fn duplicate_keys_name_both_places() {
        let err = p("{\"A\": 1,\n \"A\": 2}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "2:2: duplicate key \"A\" (first defined at 1:2)"
        );
    }

    #[test]
    fn json_is_strict() {
        for bad in [
            "{\"a\": 1,}",
            "{a: 1}",
            "{\"a\": 1 // c\n}",
            "{'a': 1}",
            "{\"a\": 1",
        ] {
            let err = p(bad).unwrap_err();
            assert!(matches!(err, ParseError::Syntax { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let text = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(matches!(p(&text), Err(ParseError::TooDeep { .. })));
        // Brackets inside strings do not count.
        let ok = format!("{{\"a\": \"{}\"}}", "[".repeat(1000));
        assert!(p(&ok).is_ok());
    }
}

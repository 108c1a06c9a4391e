//! YAML text → [`Node`] tree, built iteratively from saphyr's event stream so
//! that deep nesting cannot overflow the stack.

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span as YSpan, Tag};

use super::{Entry, MAX_DEPTH, Map, Node, NodeKind, ParseError, Scalar, ScalarKind, Span};
use crate::doc::span::Location;

/// saphyr counts positions in characters; spans here are in bytes.
struct Offsets {
    /// Byte offset of each character, only when the text is not ASCII.
    bytes: Option<Vec<u32>>,
    len: u32,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let bytes =
            (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i as u32).collect());
        Offsets {
            bytes,
            len: text.len() as u32,
        }
    }

    fn byte(&self, m: &Marker) -> u32 {
        match &self.bytes {
            None => m.index() as u32,
            Some(b) => b.get(m.index()).copied().unwrap_or(self.len),
        }
    }

    fn span(&self, s: &YSpan) -> Span {
        Span {
            start: self.byte(&s.start),
            end: self.byte(&s.end),
            line: s.start.line() as u32,
            col: s.start.col() as u32 + 1,
        }
    }
}

fn loc(m: &Marker) -> Location {
    Location {
        line: m.line() as u32,
        col: m.col() as u32 + 1,
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        tag: Option<Box<str>>,
    },
    Map {
        map: Map,
        key: Option<(String, Span)>,
        span: Span,
        tag: Option<Box<str>>,
    },
}

pub(super) fn parse(text: &str) -> Result<Node, ParseError> {
    let offsets = Offsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;

    while let Some(item) = parser.next_event() {
        let (event, yspan) = item.map_err(|e| match e.info() {
            // saphyr's scanner has its own flow-nesting limit, hit before ours.
            "recursion limit exceeded" => ParseError::TooDeep {
                location: loc(e.marker()),
            },
            info => ParseError::Syntax {
                format: "YAML",
                location: loc(e.marker()),
                message: info.to_string(),
            },
        })?;
        let span = offsets.span(&yspan);
        let node = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(unsupported(
                        span,
                        "a template holds one YAML document; found a second",
                    ));
                }
                continue;
            }
            Event::Alias(_) => {
                return Err(unsupported(
                    span,
                    "YAML aliases (*name) are not supported by CloudFormation",
                ));
            }
            Event::Scalar(value, style, _anchor, tag) => {
                let span = quoted_end(text, style, span);
                scalar(value.into_owned(), style, tag.as_deref(), span)?
            }
            Event::SequenceStart(_, tag) => {
                check_depth(&stack, span)?;
                let tag = local_tag(tag.as_deref(), span)?;
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    span,
                    tag,
                });
                continue;
            }
            Event::MappingStart(_, tag) => {
                check_depth(&stack, span)?;
                let tag = local_tag(tag.as_deref(), span)?;
                stack.push(Frame::Map {
                    map: Map::new(),
                    key: None,
                    span,
                    tag,
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    span: start,
                    tag,
                }) => Node {
                    kind: NodeKind::Seq(items),
                    span: close(text, start, span),
                    tag,
                },
                _ => unreachable_event(span)?,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    map,
                    span: start,
                    tag,
                    ..
                }) => Node {
                    kind: NodeKind::Map(map),
                    span: close(text, start, span),
                    tag,
                },
                _ => unreachable_event(span)?,
            },
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
        };
        attach(&mut stack, &mut root, node)?;
    }
    root.ok_or(ParseError::Empty)
}

/// A collection's span; a flow one ends at its closing bracket, since
/// saphyr's end event runs on over a trailing comment.
fn close(text: &str, start: Span, end: Span) -> Span {
    let bytes = text.as_bytes();
    let flow = matches!(bytes.get(start.start as usize), Some(b'{' | b'['));
    let end = match bytes.get(end.start as usize) {
        Some(b'}' | b']') if flow => end.start + 1,
        _ => end.end,
    };
    Span {
        end: end.max(start.end),
        ..start
    }
}

/// A quoted scalar ends at its closing quote: saphyr's span runs on over the
/// spaces and comment after it, and an edit there would drop the comment.
fn quoted_end(text: &str, style: ScalarStyle, span: Span) -> Span {
    let quote = match style {
        ScalarStyle::SingleQuoted => b'\'',
        ScalarStyle::DoubleQuoted => b'"',
        _ => return span,
    };
    let bytes = text.as_bytes();
    let (from, to) = (span.start as usize, (span.end as usize).min(bytes.len()));
    // A tag (`!Sub "..."`) may come first; tags hold no quotes.
    let Some(open) = bytes[from..to].iter().position(|b| *b == quote) else {
        return span;
    };
    let mut i = from + open + 1;
    while i < to {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => {
                return Span {
                    end: (i + 1) as u32,
                    ..span
                };
            }
            _ => i += 1,
        }
    }
    span
}

fn check_depth(stack: &[Frame], span: Span) -> Result<(), ParseError> {
    if stack.len() >= MAX_DEPTH {
        return Err(ParseError::TooDeep {
            location: span.location(),
        });
    }
    Ok(())
}

fn unreachable_event(span: Span) -> Result<Node, ParseError> {
    Err(ParseError::Syntax {
        format: "YAML",
        location: span.location(),
        message: "unbalanced collection end".into(),
    })
}

fn unsupported(span: Span, message: &str) -> ParseError {
    ParseError::Unsupported {
        location: span.location(),
        message: message.into(),
    }
}

/// Puts a finished node into its parent: as a list item, a map key, or a
/// map value.
fn attach(stack: &mut [Frame], root: &mut Option<Node>, node: Node) -> Result<(), ParseError> {
    match stack.last_mut() {
        None => *root = Some(node),
        Some(Frame::Seq { items, .. }) => items.push(node),
        Some(Frame::Map { map, key, .. }) => match key.take() {
            None => *key = Some(map_key(node)?),
            Some((k, key_span)) => {
                if k == "<<" {
                    return Err(unsupported(
                        key_span,
                        "YAML merge keys (<<) are not supported by CloudFormation",
                    ));
                }
                if let Some(first) = map.get(&k) {
                    return Err(ParseError::DuplicateKey {
                        key: k,
                        location: key_span.location(),
                        first: first.key_span.location(),
                    });
                }
                map.insert(
                    k,
                    Entry {
                        key_span,
                        value: node,
                    },
                );
            }
        },
    }
    Ok(())
}

fn map_key(node: Node) -> Result<(String, Span), ParseError> {
    match node.kind {
        NodeKind::Scalar(s) if node.tag.is_none() => Ok((s.text, node.span)),
        _ => Err(unsupported(node.span, "map keys must be plain strings")),
    }
}

fn scalar(
    text: String,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: Span,
) -> Result<Node, ParseError> {
    let (kind, local) = match tag {
        None if style == ScalarStyle::Plain => (ScalarKind::of_plain(&text), None),
        None => (ScalarKind::Str, None),
        Some(t) if t.is_yaml_core_schema() || t.handle == "!!" => {
            let kind = ScalarKind::of_core_tag(&t.suffix, &text).ok_or_else(|| {
                unsupported(span, &format!("\"{text}\" is not a valid !!{}", t.suffix))
            })?;
            (kind, None)
        }
        // A lone `!` forces a string, per YAML's non-specific tag.
        Some(t) if t.handle == "!" && t.suffix.is_empty() => (ScalarKind::Str, None),
        Some(_) => {
            let local = local_tag(tag, span)?;
            let kind = if style == ScalarStyle::Plain {
                ScalarKind::of_plain(&text)
            } else {
                ScalarKind::Str
            };
            (kind, local)
        }
    };
    Ok(Node {
        kind: NodeKind::Scalar(Scalar { text, kind }),
        span,
        tag: local,
    })
}

/// Keeps local tags (`!Ref`); rejects tags CloudFormation does not support.
fn local_tag(tag: Option<&Tag>, span: Span) -> Result<Option<Box<str>>, ParseError> {
    match tag {
        None => Ok(None),
        Some(t) if t.handle == "!" && !t.suffix.is_empty() => Ok(Some(t.suffix.clone().into())),
        Some(t) if t.handle == "!" => Ok(None),
        Some(t)
            if (t.is_yaml_core_schema() || t.handle == "!!")
                && matches!(t.suffix.as_str(), "map" | "seq") =>
        {
            Ok(None)
        }
        Some(t) => Err(unsupported(
            span,
            &format!("the YAML tag {t} is not supported by CloudFormation"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Format, parse as parse_doc};
    use super::*;

    fn p(s: &str) -> Result<Node, ParseError> {
        parse_doc(s, Format::Yaml)
    }

    #[test]
    fn keeps_short_form_tags_and_spans() {
        let n = p("A: !Ref Foo\nB: !GetAtt [X, Y]\n").unwrap();
        let m = n.as_map().unwrap();
        let a = &m["A"].value;
        assert_eq!(a.tag.as_deref(), Some("Ref"));
        assert_eq!(a.as_str(), Some("Foo"));
        assert_eq!((a.span.line, a.span.col), (1, 4));
        let b = &m["B"].value;
        assert_eq!(b.tag.as_deref(), Some("GetAtt"));
        assert_eq!(b.as_seq().unwrap().len(), 2);
        assert_eq!(m["B"].key_span.line, 2);
    }

    #[test]
    fn duplicate_keys_name_both_places() {
        let err = p("A: 1\nB: 2\nA: 3\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "3:1: duplicate key \"A\" (first defined at 1:1)"
        );
    }

    #[test]
    fn aliases_and_merge_keys_are_refused_with_a_location() {
        let err = p("a: &x 1\nb: *x\n").unwrap_err();
        assert!(err.to_string().starts_with("2:4: YAML aliases"), "{err}");
        let err = p("a: {x: 1}\nb:\n  <<: {y: 2}\n").unwrap_err();
        assert!(err.to_string().contains("merge keys"), "{err}");
    }

    #[test]
    fn quoted_scalars_are_strings_and_plain_ones_are_typed() {
        let n = p("a: 'yes'\nb: yes\nc: \"0777\"\nd: 0777\ne: !!str 12\n").unwrap();
        let m = n.as_map().unwrap();
        let kind = |k: &str| m[k].value.as_scalar().unwrap().kind;
        assert_eq!(kind("a"), ScalarKind::Str);
        assert_eq!(kind("b"), ScalarKind::Bool(true));
        assert_eq!(kind("c"), ScalarKind::Str);
        assert_eq!(kind("d"), ScalarKind::Int(511));
        assert_eq!(kind("e"), ScalarKind::Str);
    }

    #[test]
    fn spans_are_bytes_even_after_multibyte_text() {
        let text = "Description: \"héllo\"\nKey: value\n";
        let n = p(text).unwrap();
        let v = &n.as_map().unwrap()["Key"].value;
        assert_eq!(&text[v.span.start as usize..v.span.end as usize], "value");
        assert_eq!((v.span.line, v.span.col), (2, 6));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(5000) + &"]".repeat(5000);
        let r = p(&text);
        assert!(matches!(r, Err(ParseError::TooDeep { .. })), "{r:?}");
        let block: String = (0..600).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(matches!(p(&block), Err(ParseError::TooDeep { .. })));
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = p("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(matches!(err, ParseError::Syntax { .. }), "{err}");
        assert!(err.location().is_some());
    }

    #[test]
    fn a_second_document_is_refused() {
        assert!(p("a: 1\n---\nb: 2\n").is_err());
    }
}

//! A serde `Deserializer` over a [`Node`] tree, so typed structs (the repo
//! config, parameter files) get errors that carry the offending node's
//! location, and strings keep the text as written (`Env: no` is `"no"`).

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::{Location, Node, NodeKind, ScalarKind, Span};

/// A deserialisation error at a place in the document.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub message: String,
    pub location: Option<Location>,
}

impl DeError {
    fn at(mut self, span: Span) -> Self {
        self.location.get_or_insert(span.location());
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            location: None,
        }
    }
}

/// Deserialises a `T` from a node.
///
/// # Errors
/// A [`DeError`] located at the node that did not fit `T`.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &'de Node) -> Result<T, DeError> {
    T::deserialize(node)
}

fn invalid(node: &Node, expected: &str) -> DeError {
    DeError {
        message: format!("expected {expected}, found {}", node.describe()),
        location: Some(node.span.location()),
    }
}

fn untagged(node: &Node) -> Result<&Node, DeError> {
    match &node.tag {
        Some(tag) => Err(DeError {
            message: format!("the tag !{tag} is not allowed here"),
            location: Some(node.span.location()),
        }),
        None => Ok(node),
    }
}

macro_rules! int_method {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match &untagged(self)?.kind {
                NodeKind::Scalar(s) => match s.kind {
                    ScalarKind::Int(i) => match <$ty>::try_from(i) {
                        Ok(v) => visitor.$visit(v).map_err(|e: DeError| e.at(self.span)),
                        Err(_) => Err(DeError {
                            message: format!("{i} is out of range"),
                            location: Some(self.span.location()),
                        }),
                    },
                    _ => Err(invalid(self, "an integer")),
                },
                _ => Err(invalid(self, "an integer")),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for &'de Node {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let node = untagged(self)?;
        let result = match &node.kind {
            NodeKind::Scalar(s) => match s.kind {
                ScalarKind::Null => visitor.visit_unit(),
                ScalarKind::Bool(b) => visitor.visit_bool(b),
                ScalarKind::Int(i) => visitor.visit_i64(i),
                ScalarKind::Float(f) => visitor.visit_f64(f),
                ScalarKind::Str => visitor.visit_borrowed_str(&s.text),
            },
            NodeKind::Seq(items) => visitor.visit_seq(Seq(items.iter())),
            NodeKind::Map(map) => visitor.visit_map(Entries {
                iter: map.iter(),
                value: None,
            }),
        };
        result.map_err(|e: DeError| e.at(self.span))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &untagged(self)?.kind {
            NodeKind::Scalar(s) => match s.kind {
                ScalarKind::Bool(b) => visitor.visit_bool(b).map_err(|e: DeError| e.at(self.span)),
                _ => Err(invalid(self, "true or false")),
            },
            _ => Err(invalid(self, "true or false")),
        }
    }

    int_method!(deserialize_i8, visit_i8, i8);
    int_method!(deserialize_i16, visit_i16, i16);
    int_method!(deserialize_i32, visit_i32, i32);
    int_method!(deserialize_i64, visit_i64, i64);
    int_method!(deserialize_u8, visit_u8, u8);
    int_method!(deserialize_u16, visit_u16, u16);
    int_method!(deserialize_u32, visit_u32, u32);
    int_method!(deserialize_u64, visit_u64, u64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &untagged(self)?.kind {
            NodeKind::Scalar(s) => match s.kind {
                ScalarKind::Int(i) => visitor.visit_f64(i as f64),
                ScalarKind::Float(f) => visitor.visit_f64(f),
                _ => Err(invalid(self, "a number")),
            },
            _ => Err(invalid(self, "a number")),
        }
        .map_err(|e: DeError| e.at(self.span))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    /// Any non-null scalar reads as the text written: `no`, `8080` and
    /// `1.10` stay as typed when a string is wanted.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &untagged(self)?.kind {
            NodeKind::Scalar(s) if s.kind != ScalarKind::Null => visitor
                .visit_borrowed_str(&s.text)
                .map_err(|e: DeError| e.at(self.span)),
            _ => Err(invalid(self, "a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(invalid(self, "bytes (unsupported)"))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.kind {
            NodeKind::Scalar(s) if s.kind == ScalarKind::Null && self.tag.is_none() => {
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.kind {
            NodeKind::Scalar(s) if s.kind == ScalarKind::Null => visitor.visit_unit(),
            _ => Err(invalid(self, "null")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &untagged(self)?.kind {
            NodeKind::Seq(items) => visitor
                .visit_seq(Seq(items.iter()))
                .map_err(|e: DeError| e.at(self.span)),
            _ => Err(invalid(self, "a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &untagged(self)?.kind {
            NodeKind::Map(map) => visitor
                .visit_map(Entries {
                    iter: map.iter(),
                    value: None,
                })
                .map_err(|e: DeError| e.at(self.span)),
            _ => Err(invalid(self, "a map")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &untagged(self)?.kind {
            NodeKind::Scalar(s) if s.kind != ScalarKind::Null => visitor
                .visit_enum(s.text.as_str().into_deserializer())
                .map_err(|e: DeError| e.at(self.span)),
            _ => Err(invalid(self, "one of the allowed words")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct Seq<'de>(std::slice::Iter<'de, Node>);

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        self.0
            .next()
            .map(|node| seed.deserialize(node).map_err(|e: DeError| e.at(node.span)))
            .transpose()
    }
}

struct Entries<'de> {
    iter: indexmap::map::Iter<'de, String, super::Entry>,
    value: Option<&'de Node>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, entry)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some(&entry.value);
        let key_de: de::value::BorrowedStrDeserializer<'de, DeError> =
            de::value::BorrowedStrDeserializer::new(key);
        seed.deserialize(key_de)
            .map(Some)
            .map_err(|e: DeError| e.at(entry.key_span))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self
            .value
            .take()
            .expect("next_value_seed called before next_key_seed");
        seed.deserialize(node).map_err(|e: DeError| e.at(node.span))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Format, parse};
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Conf {
        name: String,
        count: Option<u32>,
        #[serde(default)]
        params: BTreeMap<String, String>,
    }

    fn de(text: &str) -> Result<Conf, DeError> {
        let node = parse(text, Format::Yaml).unwrap();
        from_node(&node)
    }

    #[test]
    fn strings_keep_the_text_as_written() {
        let c = de("name: web\nparams: { Env: no, Port: 8080, Ver: 1.10 }\n").unwrap();
        assert_eq!(c.params["Env"], "no");
        assert_eq!(c.params["Port"], "8080");
        assert_eq!(c.params["Ver"], "1.10");
    }

    #[test]
    fn unknown_keys_are_located_at_the_key() {
        let err = de("name: web\n  # c\ncolour: red\n").unwrap_err();
        assert_eq!(err.location, Some(Location { line: 3, col: 1 }));
        assert!(err.message.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn type_errors_are_located_at_the_value() {
        let err = de("name: web\ncount: many\n").unwrap_err();
        assert_eq!(err.to_string(), "2:8: expected an integer, found a string");
    }

    #[test]
    fn missing_fields_are_located_at_the_map() {
        let err = de("count: 1\n").unwrap_err();
        assert_eq!(err.location, Some(Location { line: 1, col: 1 }));
        assert!(err.message.contains("missing field `name`"));
    }
}

//! Resolved values: what a template means once parameters, mappings and
//! conditions are applied. What cannot be known offline stays an explicit
//! [`Unresolved`] that says what it refers to.

use std::fmt;

use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A resolved value.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Map(IndexMap<String, Value>),
    Unresolved(Box<Unresolved>),
}

/// A number as written: integers stay exact.
#[derive(Debug, Clone, Copy)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// A value known only in AWS, named in CloudFormation's own notation when
/// serialised (`{"Ref": "Bucket"}`, `{"Fn::GetAtt": ["Role", "Arn"]}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Unresolved {
    /// `Ref` to a resource whose physical id is not known.
    Ref(String),
    GetAtt {
        resource: String,
        attribute: String,
    },
    /// A pseudo parameter without a known value (`AWS::AccountId`, ...).
    Pseudo(String),
    ImportValue(Box<Value>),
    GetAZs(Box<Value>),
    /// A parameter of an `AWS::SSM::Parameter::Value<...>` type: CloudFormation
    /// reads the named SSM parameter at deploy time.
    SsmParameter {
        parameter: String,
        name: String,
    },
    /// `Fn::If` on a condition that cannot be decided offline.
    If {
        condition: String,
        then: Box<Value>,
        otherwise: Box<Value>,
    },
    /// A function applied to something unresolved, rendered in `Fn::Sub`
    /// notation (`arn:aws:s3:::${Bucket}/*`) so equal inputs compare equal.
    Expr {
        function: String,
        text: String,
    },
    Transform {
        name: String,
    },
}

impl Value {
    pub fn unresolved(u: Unresolved) -> Value {
        Value::Unresolved(Box::new(u))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&IndexMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn is_unresolved(&self) -> bool {
        matches!(self, Value::Unresolved(_))
    }

    /// Whether anything inside is unresolved.
    pub fn contains_unresolved(&self) -> bool {
        match self {
            Value::Unresolved(_) => true,
            Value::List(l) => l.iter().any(Value::contains_unresolved),
            Value::Map(m) => m.values().any(Value::contains_unresolved),
            _ => false,
        }
    }

    /// The text CloudFormation would pass for a scalar: strings as they are,
    /// numbers and booleans in their usual spelling.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Text for `Fn::Sub`-style rendering of a value inside a string.
    pub fn sub_text(&self) -> String {
        match self {
            Value::Unresolved(u) => u.sub_text(),
            Value::List(items) => items
                .iter()
                .map(Value::sub_text)
                .collect::<Vec<_>>()
                .join(","),
            other => other
                .scalar_text()
                .unwrap_or_else(|| other.to_json().to_string()),
        }
    }

    /// A short word for what this value is, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
            Value::Unresolved(_) => "a value known only after deployment",
        }
    }

    /// The value as JSON, objects' keys sorted (what `Fn::ToJsonString` and
    /// messages show), whether or not serde_json keeps insertion order (the
    /// `preserve_order` feature, which cfn-guard turns on for the build).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        v.sort_all_objects();
        v
    }

    /// Converts JSON (as AWS returns it) into a value.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(match n.as_i64() {
                Some(i) => Number::Int(i),
                None => Number::Float(n.as_f64().unwrap_or(f64::NAN)),
            }),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                // Sorted, as AWS's JSON always read before `preserve_order`
                // was on: reports and comparisons must not depend on it.
                let mut entries: Vec<_> = o.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Map(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), Value::from_json(v)))
                        .collect(),
                )
            }
        }
    }
}

/// Scalars compare by the text CloudFormation would pass on, so `"80"`
/// equals `80` and `"true"` equals `true`; unresolved values compare by what
/// they refer to.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
            }
            (Value::Unresolved(a), Value::Unresolved(b)) => a == b,
            (a, b) => match (a.scalar_text(), b.scalar_text()) {
                (Some(x), Some(y)) => x == y || numbers_equal(a, b),
                _ => false,
            },
        }
    }
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| match v {
        Value::Number(n) => Some(n.as_f64()),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    matches!((num(a), num(b)), (Some(x), Some(y)) if x == y)
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) if x.fract() == 0.0 && x.abs() < 1e15 => write!(f, "{x:.1}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

impl Unresolved {
    /// How this appears inside an `Fn::Sub` string.
    pub fn sub_text(&self) -> String {
        match self {
            Unresolved::Ref(name) | Unresolved::Pseudo(name) => format!("${{{name}}}"),
            Unresolved::GetAtt {
                resource,
                attribute,
            } => format!("${{{resource}.{attribute}}}"),
            Unresolved::SsmParameter { parameter, .. } => format!("${{{parameter}}}"),
            Unresolved::Expr { text, .. } => text.clone(),
            other => format!("${{{}}}", other.describe()),
        }
    }

    /// A one-line description, e.g. `Fn::GetAtt Role.Arn`.
    pub fn describe(&self) -> String {
        match self {
            Unresolved::Ref(name) => format!("Ref {name}"),
            Unresolved::GetAtt {
                resource,
                attribute,
            } => format!("Fn::GetAtt {resource}.{attribute}"),
            Unresolved::Pseudo(name) => format!("Ref {name}"),
            Unresolved::ImportValue(v) => format!("Fn::ImportValue {}", v.sub_text()),
            Unresolved::GetAZs(v) => format!("Fn::GetAZs {}", v.sub_text()),
            Unresolved::SsmParameter { name, .. } => format!("SSM parameter {name}"),
            Unresolved::If { condition, .. } => format!("Fn::If {condition}"),
            Unresolved::Expr { function, text } => format!("{function} {text}"),
            Unresolved::Transform { name } => format!("Fn::Transform {name}"),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(Number::Int(i)) => s.serialize_i64(*i),
            Value::Number(Number::Float(f)) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v),
            Value::List(items) => s.collect_seq(items),
            Value::Map(m) => s.collect_map(m),
            Value::Unresolved(u) => u.serialize(s),
        }
    }
}

impl Serialize for Unresolved {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Unresolved::Ref(name) | Unresolved::Pseudo(name) => m.serialize_entry("Ref", name)?,
            Unresolved::GetAtt {
                resource,
                attribute,
            } => m.serialize_entry("Fn::GetAtt", &[resource, attribute])?,
            Unresolved::ImportValue(v) => m.serialize_entry("Fn::ImportValue", v)?,
            Unresolved::GetAZs(v) => m.serialize_entry("Fn::GetAZs", v)?,
            Unresolved::SsmParameter { parameter, .. } => m.serialize_entry("Ref", parameter)?,
            Unresolved::If {
                condition,
                then,
                otherwise,
            } => m.serialize_entry("Fn::If", &(condition, then, otherwise))?,
            Unresolved::Expr { text, .. } => m.serialize_entry("Fn::Sub", text)?,
            Unresolved::Transform { name } => {
                m.serialize_entry("Fn::Transform", &serde_json::json!({ "Name": name }))?
            }
        }
        m.end()
    }
}

impl fmt::Display for Value {
    /// Compact JSON, with unresolved values in CloudFormation notation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
            Value::Unresolved(u) => write!(f, "({})", u.describe()),
            // Serialises straight from the value, keeping map order as written.
            other => write!(
                f,
                "{}",
                serde_json::to_string(other).map_err(|_| fmt::Error)?
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_compare_as_cloudformation_passes_them() {
        assert_eq!(Value::String("80".into()), Value::Number(Number::Int(80)));
        assert_eq!(Value::String("true".into()), Value::Bool(true));
        assert_eq!(
            Value::Number(Number::Float(1.0)),
            Value::Number(Number::Int(1))
        );
        assert_ne!(Value::String("80".into()), Value::String("8080".into()));
        assert_ne!(Value::String("x".into()), Value::List(vec![]));
    }

    #[test]
    fn unresolved_values_serialise_in_cloudformation_notation() {
        let v = Value::unresolved(Unresolved::GetAtt {
            resource: "Role".into(),
            attribute: "Arn".into(),
        });
        assert_eq!(
            v.to_json(),
            serde_json::json!({"Fn::GetAtt": ["Role", "Arn"]})
        );
        assert_eq!(v.to_string(), "(Fn::GetAtt Role.Arn)");
    }
}

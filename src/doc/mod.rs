//! Located documents: YAML and JSON text parsed into a tree of [`Node`]s, each
//! carrying its [`Span`] (byte range, line and column) and, for YAML, its tag.
//!
//! This module owns *syntax*: scalar typing (YAML 1.1, as CloudFormation
//! documents), duplicate keys, nesting and size limits, and located parse
//! errors. It knows nothing about CloudFormation or driftsync's config; those
//! layers interpret the tree. It does no I/O: callers hand it text.

mod de;
mod json;
mod scalar;
mod span;
mod yaml;

use indexmap::IndexMap;

pub use de::{DeError, from_node};
pub use scalar::ScalarKind;
pub use span::{LineIndex, Location, Span};

/// Deepest nesting of maps and lists accepted, far beyond any real template,
/// and low enough that recursive consumers cannot overflow the stack.
pub const MAX_DEPTH: usize = 200;

/// Largest document accepted. CloudFormation's own limit is 1 MB for a
/// template stored in S3; 8 MiB leaves room for parameter files and the like.
pub const MAX_BYTES: usize = 8 * 1024 * 1024;

/// A parsed value with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
    /// A local YAML tag such as `!Ref`, without the `!`. Core tags (`!!str`)
    /// are applied during parsing and not kept.
    pub tag: Option<Box<str>>,
}

/// What a [`Node`] holds.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Map),
}

/// A scalar: its text as written (after unescaping), and how YAML 1.1 types it.
///
/// The text is kept because CloudFormation passes many values on as strings,
/// and because `no` in a config file must stay `"no"` when a string is wanted.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    pub kind: ScalarKind,
}

/// A mapping in source order. Keys are unique: duplicates are a parse error.
pub type Map = IndexMap<String, Entry>;

/// One key of a [`Map`] with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key_span: Span,
    pub value: Node,
}

/// The source format of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// Guesses the format from content: JSON documents start with `{` or `[`.
    pub fn sniff(text: &str) -> Format {
        match text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .as_bytes()
            .first()
        {
            Some(b'{') | Some(b'[') => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// Why a document could not be parsed. Every variant has a location.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum ParseError {
    #[error("{location}: invalid {format}: {message}")]
    Syntax {
        format: &'static str,
        location: Location,
        message: String,
    },
    #[error("{location}: duplicate key \"{key}\" (first defined at {first})")]
    DuplicateKey {
        key: String,
        location: Location,
        first: Location,
    },
    #[error("{location}: nesting deeper than {MAX_DEPTH} levels")]
    TooDeep { location: Location },
    #[error("document is {size} bytes, larger than the {MAX_BYTES}-byte limit")]
    TooLarge { size: usize },
    #[error("{location}: {message}")]
    Unsupported { location: Location, message: String },
    #[error("document is empty")]
    Empty,
}

impl ParseError {
    /// Where the error is, when it has a place.
    pub fn location(&self) -> Option<Location> {
        match self {
            ParseError::Syntax { location, .. }
            | ParseError::DuplicateKey { location, .. }
            | ParseError::TooDeep { location }
            | ParseError::Unsupported { location, .. } => Some(*location),
            ParseError::TooLarge { .. } | ParseError::Empty => None,
        }
    }
}

/// Parses text in the given format.
///
/// # Errors
/// A located [`ParseError`] for malformed input, duplicate keys, too deep
/// nesting, YAML features CloudFormation does not support (aliases, merge
/// keys, several documents), or an oversized document.
pub fn parse(text: &str, format: Format) -> Result<Node, ParseError> {
    if text.len() > MAX_BYTES {
        return Err(ParseError::TooLarge { size: text.len() });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Yaml => yaml::parse(text),
        Format::Json => json::parse(text),
    }
}

impl Node {
    pub fn as_map(&self) -> Option<&Map> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a string scalar (quoted, or plain and typed as a string).
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(Scalar {
                text,
                kind: ScalarKind::Str,
            }) => Some(text),
            _ => None,
        }
    }

    /// The node as plain JSON, tags dropped (for embedding documents such as
    /// an SSM runbook in a template).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.kind {
            NodeKind::Scalar(s) => match s.kind {
                ScalarKind::Null => serde_json::Value::Null,
                ScalarKind::Bool(b) => serde_json::Value::Bool(b),
                ScalarKind::Int(i) => serde_json::Value::from(i),
                ScalarKind::Float(f) => serde_json::Number::from_f64(f)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
                ScalarKind::Str => serde_json::Value::String(s.text.clone()),
            },
            NodeKind::Seq(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            NodeKind::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, e)| (k.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// A short word for what this node is, for error messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(s) => s.kind.describe(),
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a map",
        }
    }
}

//! The CloudFormation template engine: parse (YAML and JSON, short and long
//! intrinsic forms, every node located), model, resolve intrinsics against
//! parameters and pseudo parameters, diff two desired states, validate, and
//! the resource schema facts.
//!
//! Pure: no I/O, no AWS. Callers pass text and parameter values in, and get
//! typed results out. It must not know about git, the repo config's file
//! layout, or live AWS state; facts about live resources (physical ids,
//! attributes) come in through [`resolve::Known`].

pub mod cycles;
pub mod diff;
pub mod expr;
mod locate;
mod model;
pub mod params;
pub mod path;
pub mod resolve;
pub mod schema;
pub mod secret;
pub mod validate;
pub mod value;

pub use expr::{Expr, ExprKind, Field, Intrinsic, Name, SubPart};
pub use model::{ForEach, Output, Parameter, Resource, Template};
pub use path::PropertyPath;
pub use value::{Number, Unresolved, Value};

use crate::doc::{self, Location};

/// Why a template could not be loaded. Located wherever the text has a place.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum TemplateError {
    #[error(transparent)]
    Parse(#[from] doc::ParseError),
    #[error("{location}: {message}")]
    Syntax { location: Location, message: String },
    #[error(
        "the template is {size} bytes; CloudFormation accepts at most {MAX_TEMPLATE_BYTES} bytes (1 MB)"
    )]
    TooLarge { size: usize },
}

/// CloudFormation's limit for a template passed by S3 URL.
pub const MAX_TEMPLATE_BYTES: usize = 1024 * 1024;

impl TemplateError {
    pub fn location(&self) -> Option<Location> {
        match self {
            TemplateError::Parse(e) => e.location(),
            TemplateError::Syntax { location, .. } => Some(*location),
            TemplateError::TooLarge { .. } => None,
        }
    }
}

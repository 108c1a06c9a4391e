//! The resolver: evaluates a template's intrinsics against parameter values,
//! pseudo parameters, mappings and conditions, giving the desired state of
//! every resource. What only AWS knows (a resource's physical id, `GetAtt`,
//! `ImportValue`, `GetAZs`) stays [`Unresolved`] unless the caller passes it
//! in through [`Known`].

mod cidr;
mod conditions;
mod eval;
mod foreach;

use std::collections::HashMap;

use indexmap::IndexMap;

use super::params::{self, ParamValue};
use super::{Template, Unresolved, Value};
use crate::doc::Location;

/// Values of the pseudo parameters that are known for a stack.
#[derive(Debug, Clone, Default)]
pub struct Pseudo {
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub stack_name: Option<String>,
    pub stack_id: Option<String>,
    pub notification_arns: Option<Vec<String>>,
}

impl Pseudo {
    /// The partition of the region: `aws`, `aws-cn` or `aws-us-gov`.
    pub fn partition(&self) -> Option<&'static str> {
        let region = self.region.as_deref()?;
        Some(if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else if region.starts_with("us-iso-") {
            "aws-iso"
        } else if region.starts_with("us-isob-") {
            "aws-iso-b"
        } else {
            "aws"
        })
    }

    pub fn url_suffix(&self) -> Option<&'static str> {
        Some(match self.partition()? {
            "aws-cn" => "amazonaws.com.cn",
            "aws-iso" => "c2s.ic.gov",
            "aws-iso-b" => "sc2s.sgov.gov",
            _ => "amazonaws.com",
        })
    }
}

/// Facts about the live stack, when the caller has them.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Logical id → physical id, what `Ref` returns for most resource types.
    pub physical_ids: HashMap<String, String>,
    /// (logical id, attribute) → value.
    pub attributes: HashMap<(String, String), Value>,
    /// Export name → value, for `Fn::ImportValue`.
    pub exports: HashMap<String, String>,
}

/// Everything the resolver reads besides the template.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Parameter values given for the stack, as CloudFormation receives them.
    pub parameters: IndexMap<String, String>,
    pub pseudo: Pseudo,
    pub known: Known,
}

/// A resolved parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedParam {
    pub value: ParamValue,
    pub no_echo: bool,
    pub from_default: bool,
}

/// The desired state of one stack: what the template means with its inputs.
#[derive(Debug, Clone, Default)]
pub struct DesiredStack {
    pub parameters: IndexMap<String, ResolvedParam>,
    /// Each condition's value; `None` when it cannot be decided offline.
    pub conditions: IndexMap<String, Option<bool>>,
    pub resources: IndexMap<String, DesiredResource>,
    pub outputs: IndexMap<String, Value>,
    /// The macros the template names in `Transform`, in order.
    pub transforms: Vec<String>,
}

/// One resource as it should be.
#[derive(Debug, Clone)]
pub struct DesiredResource {
    pub logical_id: String,
    pub type_name: String,
    /// The resolved `Properties` map (empty when the template has none).
    pub properties: IndexMap<String, Value>,
    /// The resource's condition and its value (`None`: undecided offline).
    pub condition: Option<(String, Option<bool>)>,
    pub depends_on: Vec<String>,
    pub deletion_policy: Option<Value>,
    pub update_replace_policy: Option<Value>,
    /// `Metadata`, `CreationPolicy`, `UpdatePolicy`: deployed with the
    /// resource, so a change to them is a change to the stack.
    pub metadata: Option<Value>,
    pub creation_policy: Option<Value>,
    pub update_policy: Option<Value>,
    /// Property paths built from a NoEcho parameter or a secret dynamic
    /// reference ([`crate::template::secret::paths`]): never shown.
    pub secrets: Vec<crate::template::PropertyPath>,
}

impl DesiredResource {
    /// Whether `path` is, lies inside, or holds a secret.
    pub fn is_secret(&self, path: &crate::template::PropertyPath) -> bool {
        crate::template::secret::covers(&self.secrets, path)
    }
}

/// Why a template could not be resolved. Located where the text has a place.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum ResolveError {
    #[error(
        "{location}: parameter {name} has no value: give it one in the stack's parameters, or a Default"
    )]
    MissingParameter { name: String, location: Location },
    #[error("{location}: parameter {name}: {message}")]
    InvalidParameter {
        name: String,
        location: Location,
        message: String,
    },
    #[error("parameter {name} is given a value but the template does not declare it")]
    UndeclaredParameter { name: String },
    #[error("{location}: conditions form a cycle: {}", cycle.join(" -> "))]
    CyclicCondition {
        cycle: Vec<String>,
        location: Location,
    },
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
}

impl ResolveError {
    pub fn location(&self) -> Option<Location> {
        match self {
            ResolveError::MissingParameter { location, .. }
            | ResolveError::InvalidParameter { location, .. }
            | ResolveError::CyclicCondition { location, .. }
            | ResolveError::Invalid { location, .. } => Some(*location),
            ResolveError::UndeclaredParameter { .. } => None,
        }
    }
}

/// Resolves a template with its inputs.
///
/// # Errors
/// The first [`ResolveError`]: a missing or invalid parameter, a cyclic or
/// unknown condition, a reference to nothing, or a function applied to a
/// value of the wrong kind.
pub fn resolve(template: &Template, inputs: &Inputs) -> Result<DesiredStack, ResolveError> {
    let parameters = resolve_parameters(template, &inputs.parameters)?;
    let mut r = eval::Resolver::new(template, inputs, &parameters);

    let mut conditions = IndexMap::new();
    for name in template.conditions.keys() {
        let value = r.condition(name, template.conditions[name].key_span.location())?;
        conditions.insert(name.clone(), value);
    }

    let mut resources = IndexMap::new();
    for (resource, bindings) in foreach::expand_resources(template, &mut r)? {
        r.with_bindings(bindings, |r| {
            if let Some(d) = r.resource(&resource)? {
                resources.insert(d.logical_id.clone(), d);
            }
            Ok(())
        })?;
    }

    let mut outputs = IndexMap::new();
    for (name, output) in &template.outputs {
        if let Some(c) = &output.condition
            && r.condition(&c.text, c.span.location())? == Some(false)
        {
            continue;
        }
        if let Some(v) = r.eval(&output.value)? {
            outputs.insert(name.clone(), v);
        }
    }

    Ok(DesiredStack {
        parameters,
        conditions,
        resources,
        outputs,
        transforms: template.transforms.clone(),
    })
}

fn resolve_parameters(
    template: &Template,
    given: &IndexMap<String, String>,
) -> Result<IndexMap<String, ResolvedParam>, ResolveError> {
    if let Some(name) = given.keys().find(|k| !template.parameters.contains_key(*k)) {
        return Err(ResolveError::UndeclaredParameter { name: name.clone() });
    }
    let mut out = IndexMap::new();
    for (name, p) in &template.parameters {
        let location = p.key_span.location();
        let (raw, from_default) = match (given.get(name), &p.default) {
            (Some(v), _) => (v.as_str(), false),
            (None, Some(d)) => (d.as_str(), true),
            (None, None) => {
                return Err(ResolveError::MissingParameter {
                    name: name.clone(),
                    location,
                });
            }
        };
        let value = params::check(p, raw).map_err(|message| ResolveError::InvalidParameter {
            name: name.clone(),
            location,
            message,
        })?;
        out.insert(
            name.clone(),
            ResolvedParam {
                value,
                no_echo: p.no_echo,
                from_default,
            },
        );
    }
    Ok(out)
}

impl DesiredStack {
    /// A resource's resolved property, by top-level name.
    pub fn property(&self, logical_id: &str, name: &str) -> Option<&Value> {
        self.resources.get(logical_id)?.properties.get(name)
    }
}

pub(crate) fn unresolved_expr(function: &str, text: String) -> Value {
    Value::unresolved(Unresolved::Expr {
        function: function.to_string(),
        text,
    })
}

#[cfg(test)]
mod tests;

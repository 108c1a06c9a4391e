//! The template model: sections, parameters, resources and outputs, built
//! from the located expression tree.

use indexmap::IndexMap;

use super::TemplateError;
use super::expr::{Context, Expr, ExprKind, Field};
use crate::doc::{self, Format, Span};

/// A parsed CloudFormation template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub format: Format,
    pub format_version: Option<String>,
    pub description: Option<String>,
    /// Macros named in `Transform` (`AWS::Serverless-2016-10-31`, ...).
    pub transforms: Vec<String>,
    pub metadata: Option<Expr>,
    pub parameters: IndexMap<String, Parameter>,
    pub rules: Option<Expr>,
    pub mappings: IndexMap<String, Field>,
    pub conditions: IndexMap<String, Field>,
    pub resources: IndexMap<String, Resource>,
    /// `Fn::ForEach::Name` blocks in `Resources`, expanded by the resolver.
    pub resource_loops: Vec<ForEach>,
    pub outputs: IndexMap<String, Output>,
    /// Whether `Resources` was present at all.
    pub has_resources_section: bool,
}

/// A declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: String,
    pub key_span: Span,
    pub type_name: String,
    /// The default as CloudFormation reads it: a string (lists joined by commas).
    pub default: Option<String>,
    pub no_echo: bool,
    pub allowed_values: Vec<String>,
    pub allowed_pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
}

/// A declared resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub logical_id: String,
    pub key_span: Span,
    pub type_name: String,
    pub type_span: Span,
    /// The `Properties` map (absent means none).
    pub properties: Option<Expr>,
    pub depends_on: Vec<super::Name>,
    pub condition: Option<super::Name>,
    pub deletion_policy: Option<Expr>,
    pub update_replace_policy: Option<Expr>,
    pub metadata: Option<Expr>,
    pub creation_policy: Option<Expr>,
    pub update_policy: Option<Expr>,
}

/// A declared output.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: String,
    pub key_span: Span,
    pub value: Expr,
    pub export_name: Option<Expr>,
    pub condition: Option<super::Name>,
}

/// `Fn::ForEach::Name: [Identifier, Collection, {KeyTemplate: Fragment}]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForEach {
    pub name: String,
    pub span: Span,
    pub identifier: String,
    pub collection: Expr,
    /// Output key templates (with `${Identifier}`) and their fragments.
    pub fragments: IndexMap<String, Field>,
}

const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
    "Hooks",
    // AWS SAM's section, consumed by its transform.
    "Globals",
];

const RESOURCE_KEYS: &[&str] = &[
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
    "Version",
    "Description",
];

fn err(span: Span, message: impl Into<String>) -> TemplateError {
    TemplateError::Syntax {
        location: span.location(),
        message: message.into(),
    }
}

impl Template {
    /// Parses a template from text, YAML or JSON (sniffed from the content).
    ///
    /// # Errors
    /// A located [`TemplateError`] for malformed text, unknown tags or
    /// functions, wrong arities, and sections of the wrong shape.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        if text.len() > super::MAX_TEMPLATE_BYTES {
            return Err(TemplateError::TooLarge { size: text.len() });
        }
        let format = doc::Format::sniff(text);
        let root = doc::parse(text, format)?;
        let top = root
            .as_map()
            .ok_or_else(|| err(root.span, "a template must be a map of sections"))?;
        let section = |name: &str, ctx: Context| -> Result<Option<Expr>, TemplateError> {
            top.get(name)
                .map(|e| Expr::from_node(&e.value, ctx))
                .transpose()
        };
        if let Some((key, entry)) = top.iter().find(|(k, _)| !SECTIONS.contains(&k.as_str())) {
            return Err(err(
                entry.key_span,
                format!("unknown template section \"{key}\""),
            ));
        }
        let mut t = Template {
            format,
            format_version: section("AWSTemplateFormatVersion", Context::Strict)?
                .and_then(|e| e.scalar_text()),
            description: section("Description", Context::Strict)?.and_then(|e| e.scalar_text()),
            transforms: Vec::new(),
            metadata: section("Metadata", Context::Lenient)?,
            parameters: IndexMap::new(),
            rules: section("Rules", Context::Lenient)?,
            mappings: named_map(section("Mappings", Context::Strict)?, "Mappings")?,
            conditions: named_map(section("Conditions", Context::Strict)?, "Conditions")?,
            resources: IndexMap::new(),
            resource_loops: Vec::new(),
            outputs: IndexMap::new(),
            has_resources_section: top.contains_key("Resources"),
        };
        if let Some(tr) = section("Transform", Context::Lenient)? {
            t.transforms = match &tr.kind {
                ExprKind::List(items) => items
                    .iter()
                    .filter_map(|e| e.as_str().map(String::from))
                    .collect(),
                _ => tr.as_str().map(String::from).into_iter().collect(),
            };
        }
        for (name, field) in named_map(section("Parameters", Context::Strict)?, "Parameters")? {
            let p = Parameter::from_field(&name, &field)?;
            t.parameters.insert(name, p);
        }
        // Macros may give resources attributes of their own (`Count`, ...).
        let strict = !t.has_macros();
        for (id, field) in named_map(section("Resources", Context::Strict)?, "Resources")? {
            if let Some(loop_name) = id.strip_prefix("Fn::ForEach::") {
                t.resource_loops
                    .push(ForEach::from_field(loop_name, &field)?);
                continue;
            }
            let r = Resource::parse(&id, field, strict)?;
            t.resources.insert(id, r);
        }
        for (name, field) in named_map(section("Outputs", Context::Strict)?, "Outputs")? {
            if name.starts_with("Fn::ForEach::") {
                continue; // Recognised; outputs are not part of the desired resource state.
            }
            let o = Output::from_field(&name, &field)?;
            t.outputs.insert(name, o);
        }
        Ok(t)
    }

    /// Whether the template uses the AWS SAM transform.
    pub fn is_sam(&self) -> bool {
        self.transforms
            .iter()
            .any(|t| t.starts_with("AWS::Serverless"))
    }

    /// Whether a macro other than the built-in language extensions rewrites
    /// the template before CloudFormation reads it.
    pub fn has_macros(&self) -> bool {
        self.transforms
            .iter()
            .any(|t| t != "AWS::LanguageExtensions")
    }
}

fn named_map(section: Option<Expr>, name: &str) -> Result<IndexMap<String, Field>, TemplateError> {
    match section {
        None => Ok(IndexMap::new()),
        Some(Expr {
            kind: ExprKind::Map(m),
            ..
        }) => Ok(m),
        Some(Expr {
            kind: ExprKind::Null,
            ..
        }) => Ok(IndexMap::new()),
        Some(e) => Err(err(e.span, format!("{name} must be a map"))),
    }
}

fn scalar_string(e: &Expr, what: &str) -> Result<String, TemplateError> {
    e.scalar_text()
        .ok_or_else(|| err(e.span, format!("{what} must be a string")))
}

fn name_field(e: &Expr, what: &str) -> Result<super::Name, TemplateError> {
    Ok(super::Name {
        text: scalar_string(e, what)?,
        span: e.span,
    })
}

impl Parameter {
    fn from_field(name: &str, field: &Field) -> Result<Parameter, TemplateError> {
        let map = field
            .value
            .as_map()
            .ok_or_else(|| err(field.value.span, format!("parameter {name} must be a map")))?;
        let get = |k: &str| map.get(k).map(|f| &f.value);
        let type_name = match get("Type") {
            Some(t) => scalar_string(t, "a parameter's Type")?,
            None => return Err(err(field.key_span, format!("parameter {name} has no Type"))),
        };
        let default = match get("Default") {
            None => None,
            Some(Expr {
                kind: ExprKind::List(items),
                ..
            }) => Some(
                items
                    .iter()
                    .filter_map(Expr::scalar_text)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Some(d) => Some(scalar_string(d, "a parameter's Default")?),
        };
        let number = |k: &str| -> Result<Option<f64>, TemplateError> {
            get(k)
                .map(|e| {
                    scalar_string(e, k)?
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| err(e.span, format!("{k} must be a number")))
                })
                .transpose()
        };
        let whole = |k: &str| number(k).map(|n| n.map(|v| v.max(0.0) as u64));
        Ok(Parameter {
            name: name.to_string(),
            key_span: field.key_span,
            type_name,
            default,
            no_echo: get("NoEcho")
                .and_then(Expr::scalar_text)
                .is_some_and(|s| s.eq_ignore_ascii_case("true")),
            allowed_values: match get("AllowedValues") {
                Some(Expr {
                    kind: ExprKind::List(items),
                    ..
                }) => items.iter().filter_map(Expr::scalar_text).collect(),
                Some(e) => return Err(err(e.span, "AllowedValues must be a list")),
                None => Vec::new(),
            },
            allowed_pattern: get("AllowedPattern").and_then(Expr::scalar_text),
            min_length: whole("MinLength")?,
            max_length: whole("MaxLength")?,
            min_value: number("MinValue")?,
            max_value: number("MaxValue")?,
        })
    }
}

impl Resource {
    /// Builds a resource from its declaration.
    ///
    /// # Errors
    /// When the declaration is not a map, lacks `Type`, or has an unknown key.
    pub fn from_field(id: &str, field: &Field) -> Result<Resource, TemplateError> {
        Resource::parse(id, field.clone(), true)
    }

    fn parse(id: &str, field: Field, strict: bool) -> Result<Resource, TemplateError> {
        let key_span = field.key_span;
        let value_span = field.value.span;
        let ExprKind::Map(mut map) = field.value.kind else {
            return Err(err(value_span, format!("resource {id} must be a map")));
        };
        if let Some((key, f)) = map
            .iter()
            .find(|(k, _)| strict && !RESOURCE_KEYS.contains(&k.as_str()))
        {
            return Err(err(
                f.key_span,
                format!("resource {id} has an unknown attribute \"{key}\""),
            ));
        }
        // Move each attribute out of the map: properties can be large.
        let mut take = |k: &str| map.shift_remove(k).map(|f| f.value);
        let type_expr =
            take("Type").ok_or_else(|| err(key_span, format!("resource {id} has no Type")))?;
        let depends_on = match take("DependsOn") {
            None => Vec::new(),
            Some(Expr {
                kind: ExprKind::List(items),
                ..
            }) => items
                .iter()
                .map(|e| name_field(e, "DependsOn"))
                .collect::<Result<_, _>>()?,
            Some(e) => vec![name_field(&e, "DependsOn")?],
        };
        let properties = match take("Properties") {
            Some(
                p @ Expr {
                    kind: ExprKind::Map(_) | ExprKind::Fn(_),
                    ..
                },
            ) => Some(p),
            Some(Expr {
                kind: ExprKind::Null,
                ..
            })
            | None => None,
            Some(p) => {
                return Err(err(
                    p.span,
                    format!("resource {id}'s Properties must be a map"),
                ));
            }
        };
        Ok(Resource {
            logical_id: id.to_string(),
            key_span,
            type_name: scalar_string(&type_expr, "a resource Type")?,
            type_span: type_expr.span,
            properties,
            depends_on,
            condition: take("Condition")
                .map(|e| name_field(&e, "Condition"))
                .transpose()?,
            deletion_policy: take("DeletionPolicy"),
            update_replace_policy: take("UpdateReplacePolicy"),
            metadata: take("Metadata"),
            creation_policy: take("CreationPolicy"),
            update_policy: take("UpdatePolicy"),
        })
    }

    /// The expression of a top-level property.
    pub fn property(&self, name: &str) -> Option<&Expr> {
        self.properties
            .as_ref()?
            .as_map()?
            .get(name)
            .map(|f| &f.value)
    }
}

impl Output {
    fn from_field(name: &str, field: &Field) -> Result<Output, TemplateError> {
        let map = field
            .value
            .as_map()
            .ok_or_else(|| err(field.value.span, format!("output {name} must be a map")))?;
        let value = map
            .get("Value")
            .map(|f| f.value.clone())
            .ok_or_else(|| err(field.key_span, format!("output {name} has no Value")))?;
        let export_name = map
            .get("Export")
            .and_then(|f| f.value.as_map())
            .and_then(|m| m.get("Name"))
            .map(|f| f.value.clone());
        Ok(Output {
            name: name.to_string(),
            key_span: field.key_span,
            value,
            export_name,
            condition: map
                .get("Condition")
                .map(|f| name_field(&f.value, "Condition"))
                .transpose()?,
        })
    }
}

impl ForEach {
    /// Builds a loop from `Fn::ForEach::Name: [Identifier, Collection, {Key: Fragment}]`.
    ///
    /// # Errors
    /// When the value is not that three-item list.
    pub fn from_field(name: &str, field: &Field) -> Result<ForEach, TemplateError> {
        let shape = || {
            err(
                field.value.span,
                format!(
                    "Fn::ForEach::{name} takes [Identifier, Collection, {{OutputKey: Fragment}}]"
                ),
            )
        };
        let items = field
            .value
            .as_list()
            .filter(|l| l.len() == 3)
            .ok_or_else(shape)?;
        let identifier = items[0].as_str().ok_or_else(shape)?.to_string();
        let fragments = items[2].as_map().ok_or_else(shape)?.clone();
        Ok(ForEach {
            name: name.to_string(),
            span: field.key_span,
            identifier,
            collection: items[1].clone(),
            fragments,
        })
    }
}

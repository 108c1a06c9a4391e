//! Where a drifted value comes from, and so which file and which value must
//! change to make the template say what is live: the literal in the
//! template, the stack's parameter value (in `driftsync.yaml` or its
//! parameter file), the parameter's `Default`, or a mapping entry. Values
//! built by `Fn::Sub`, `Fn::Join`, `Fn::If` and the like have no single
//! literal to change; those, secrets and AWS-owned properties are refused
//! with the reason.

use crate::config::StackSpec;
use crate::doc::{self, Format, NodeKind};
use crate::drift::DifferenceKind;
use crate::template::path::Segment;
use crate::template::{Expr, ExprKind, Intrinsic, PropertyPath, Template};

/// Which file a change goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    Template,
    /// `driftsync.yaml` (the stack's inline `parameters`).
    Config,
    /// The stack's `parameters_file`.
    Parameters,
}

/// Where one drifted value is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub role: FileRole,
    /// The path inside that file's document.
    pub path: Vec<Segment>,
    /// How the value got there, for the PR body ("the parameter LogLevel").
    pub via: String,
    /// Whether the value written is a parameter string (lists joined by commas).
    pub as_parameter: bool,
}

/// What [`trace`] needs about the stack besides its template.
pub struct StackFiles<'a> {
    pub spec: &'a StackSpec,
    /// The stack's index in the config's `stacks` list.
    pub index: usize,
    pub parameters_text: Option<&'a str>,
    /// The template's text, to tell `!If [...]` from `{"Fn::If": [...]}`.
    pub template_text: &'a str,
    /// Each condition's value as resolved (`None`: undecided offline).
    pub conditions: Option<&'a indexmap::IndexMap<String, Option<bool>>>,
}

/// Finds where the value at `path` of `logical_id` comes from.
///
/// # Errors
/// The reason, in words, when there is no single place to change.
pub fn trace(
    template: &Template,
    files: &StackFiles<'_>,
    logical_id: &str,
    path: &PropertyPath,
    kind: DifferenceKind,
) -> Result<Target, String> {
    let r = template.resources.get(logical_id).ok_or_else(|| {
        format!("{logical_id} is not written in the template (a loop or a macro makes it)")
    })?;
    let mut doc_path = vec![
        Segment::Key("Resources".into()),
        Segment::Key(logical_id.into()),
        Segment::Key("Properties".into()),
    ];
    let literal = |p: Vec<Segment>| Target {
        role: FileRole::Template,
        path: p,
        via: "the template".into(),
        as_parameter: false,
    };
    let Some(mut expr) = r.properties.as_ref() else {
        return Err(format!("{logical_id} has no Properties section to add to"));
    };
    for (i, seg) in path.0.iter().enumerate() {
        if let ExprKind::Fn(f) = &expr.kind {
            return Err(format!(
                "the value is inside one built by {}; there is no literal to change",
                f.name()
            ));
        }
        let last = i + 1 == path.0.len();
        let next = match (seg, &expr.kind) {
            (Segment::Key(k), ExprKind::Map(m)) => m.get(k).map(|f| &f.value),
            (Segment::Index(n), ExprKind::List(items)) => items.get(*n),
            _ => {
                return Err(format!(
                    "the template has {} where the drift has {}",
                    describe(expr),
                    show(&path.0[..=i])
                ));
            }
        };
        doc_path.push(seg.clone());
        match next {
            Some(e) => expr = e,
            None if last && kind == DifferenceKind::Add => return Ok(literal(doc_path)),
            None => {
                return Err(format!(
                    "{} is not written in the template",
                    show(&path.0[..=i])
                ));
            }
        }
    }
    if kind == DifferenceKind::Add && !matches!(path.0.last(), Some(Segment::Index(_))) {
        return Err("the property is already written in the template".into());
    }
    match &expr.kind {
        ExprKind::Fn(f) if kind == DifferenceKind::NotEqual => match &**f {
            Intrinsic::Sub { .. } | Intrinsic::If { .. } => {
                unambiguous(files, expr, f, &mut doc_path).map(|()| literal(doc_path))
            }
            _ => from_function(template, files, f),
        },
        _ => Ok(literal(doc_path)),
    }
}

/// The literal a function stands for when there is exactly one: `Fn::Sub`
/// of plain text (replaced whole), or the branch of an `Fn::If` whose
/// condition is decided, when that branch is a literal. Extends `doc_path`
/// to it.
fn unambiguous(
    files: &StackFiles<'_>,
    expr: &Expr,
    f: &Intrinsic,
    doc_path: &mut Vec<Segment>,
) -> Result<(), String> {
    match f {
        Intrinsic::Sub { parts, vars }
            if vars.is_empty()
                && parts
                    .iter()
                    .all(|p| matches!(p, crate::template::SubPart::Text(_))) =>
        {
            Ok(())
        }
        Intrinsic::If {
            condition,
            then,
            otherwise,
        } => {
            let decided = files
                .conditions
                .and_then(|c| c.get(&condition.text).copied().flatten())
                .ok_or_else(|| {
                    format!(
                        "the value is chosen by Fn::If on {}, which is not decided offline; a person must choose",
                        condition.text
                    )
                })?;
            let (branch, index) = if decided { (then, 1) } else { (otherwise, 2) };
            if matches!(
                branch.kind,
                ExprKind::Fn(_) | ExprKind::Map(_) | ExprKind::List(_)
            ) {
                return Err(format!(
                    "the value is the {} branch of Fn::If on {}, which is not a literal",
                    if decided { "true" } else { "false" },
                    condition.text
                ));
            }
            let short = files
                .template_text
                .get(expr.span.start as usize..)
                .is_some_and(|t| t.starts_with('!'));
            if !short {
                doc_path.push(Segment::Key("Fn::If".into()));
            }
            doc_path.push(Segment::Index(index));
            Ok(())
        }
        other => Err(format!(
            "the value is built by {}; a literal would lose how it is made, so it is left for a person",
            other.name()
        )),
    }
}

fn from_function(
    template: &Template,
    files: &StackFiles<'_>,
    f: &Intrinsic,
) -> Result<Target, String> {
    match f {
        Intrinsic::Ref(name) => parameter(template, files, &name.text),
        Intrinsic::FindInMap {
            map, top, second, ..
        } => {
            let key = |e: &Expr| literal_or_param(template, files, e);
            match (key(map), key(top), key(second)) {
                (Some(m), Some(t), Some(s)) => Ok(Target {
                    role: FileRole::Template,
                    via: format!("the mapping {m}/{t}/{s}"),
                    path: ["Mappings", &m, &t, &s]
                        .iter()
                        .map(|k| Segment::Key(k.to_string()))
                        .collect(),
                    as_parameter: false,
                }),
                _ => Err("Fn::FindInMap with keys known only at deploy time: no single mapping entry to change".into()),
            }
        }
        other => Err(format!(
            "the value is built by {}; a literal would lose how it is made, so it is left for a person",
            other.name()
        )),
    }
}

fn parameter(template: &Template, files: &StackFiles<'_>, name: &str) -> Result<Target, String> {
    let Some(p) = template.parameters.get(name) else {
        return Err(if name.starts_with("AWS::") {
            format!("the value is the pseudo parameter {name}")
        } else {
            format!("the value is the physical id of the resource {name}")
        });
    };
    if p.no_echo {
        return Err(format!(
            "the parameter {name} is NoEcho: a secret is never written to Git"
        ));
    }
    let target = |role, path: Vec<Segment>, via: String| Target {
        role,
        path,
        via,
        as_parameter: true,
    };
    if files.spec.parameters.contains_key(name) {
        let path = vec![
            Segment::Key("stacks".into()),
            Segment::Index(files.index),
            Segment::Key("parameters".into()),
            Segment::Key(name.into()),
        ];
        return Ok(target(
            FileRole::Config,
            path,
            format!("the parameter {name}, given in the config"),
        ));
    }
    if let (Some(text), Some(file)) = (files.parameters_text, &files.spec.parameters_file)
        && let Some(path) = parameter_file_path(text, name)
    {
        return Ok(target(
            FileRole::Parameters,
            path,
            format!("the parameter {name}, given in {file}"),
        ));
    }
    if p.default.is_some() {
        return Ok(target(
            FileRole::Template,
            ["Parameters", name, "Default"]
                .iter()
                .map(|k| Segment::Key(k.to_string()))
                .collect(),
            format!("the Default of the parameter {name}"),
        ));
    }
    Err(format!(
        "the parameter {name} has no value written anywhere"
    ))
}

/// Where a parameter's value is in a parameter file: `{Name: value}` or the
/// AWS CLI's `[{ParameterKey, ParameterValue}]`.
fn parameter_file_path(text: &str, name: &str) -> Option<Vec<Segment>> {
    let root = doc::parse(text, Format::sniff(text)).ok()?;
    match &root.kind {
        NodeKind::Map(m) => m
            .contains_key(name)
            .then(|| vec![Segment::Key(name.into())]),
        NodeKind::Seq(items) => items
            .iter()
            .position(|item| {
                item.as_map()
                    .and_then(|m| m.get("ParameterKey"))
                    .and_then(|e| e.value.as_str())
                    == Some(name)
            })
            .map(|i| vec![Segment::Index(i), Segment::Key("ParameterValue".into())]),
        NodeKind::Scalar(_) => None,
    }
}

/// A mapping key: a literal, a parameter's value, or the stack's region or name.
fn literal_or_param(template: &Template, files: &StackFiles<'_>, e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::String(s) => Some(s.clone()),
        ExprKind::Fn(f) => match &**f {
            Intrinsic::Ref(n) if n.text == "AWS::Region" => Some(files.spec.region.clone()),
            Intrinsic::Ref(n) if n.text == "AWS::StackName" => Some(files.spec.name.clone()),
            Intrinsic::Ref(n) => {
                let given = files
                    .spec
                    .parameters_with(files.parameters_text)
                    .ok()
                    .and_then(|p| p.get(&n.text).cloned());
                given.or_else(|| template.parameters.get(&n.text)?.default.clone())
            }
            _ => None,
        },
        _ => e.scalar_text(),
    }
}

fn describe(e: &Expr) -> &'static str {
    match e.kind {
        ExprKind::Map(_) => "a map",
        ExprKind::List(_) => "a list",
        ExprKind::Fn(_) => "a function",
        _ => "a scalar",
    }
}

pub(super) fn show(path: &[Segment]) -> String {
    PropertyPath(path.to_vec()).to_string()
}

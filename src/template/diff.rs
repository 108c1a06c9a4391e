//! Structural diff of two desired states: what deploying `new` over `old`
//! would change, per resource and property (CloudFormation's PropertyPath
//! format), plus parameters, outputs and the template's `Transform`. Every
//! part of a resource CloudFormation deploys counts: `Properties`, and the
//! attributes `Metadata`, `CreationPolicy`, `UpdatePolicy`,
//! `DeletionPolicy`, `UpdateReplacePolicy`, `DependsOn` and `Condition`.
//!
//! Scalars compare as CloudFormation passes them on (`"80"` equals `80`),
//! and lists the schema marks `insertionOrder: false` compare as sets, so a
//! reordered security group rule list is no change.

use serde::Serialize;

use super::Value;
use super::params::ParamValue;
use super::path::PropertyPath;
use super::resolve::{DesiredResource, DesiredStack};
use super::schema::{SchemaFacts, TypeFacts};

/// What happened to a thing between two states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    Add,
    Remove,
    Modify,
}

/// All differences between two desired states of one stack.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StackDiff {
    pub resources: Vec<ResourceChange>,
    pub parameters: Vec<ParameterChange>,
    pub outputs: Vec<OutputChange>,
    /// The template's `Transform` (named `Transform`; values are lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<AttributeChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceChange {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub change: ChangeKind,
    /// Set when the resource type itself changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_type: Option<String>,
    /// Whether CloudFormation would replace the resource (a new physical id).
    pub replacement: bool,
    pub properties: Vec<PropertyChange>,
    /// Changes to Metadata, CreationPolicy, UpdatePolicy, DeletionPolicy,
    /// UpdateReplacePolicy, Condition, DependsOn.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttributeChange>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PropertyChange {
    pub property_path: PropertyPath,
    pub change: ChangeKind,
    pub from: Option<Value>,
    pub to: Option<Value>,
    /// The property is create-only: changing it replaces the resource.
    pub replacement: bool,
    /// Set when the template text did not change here but the value will:
    /// it names a resource that is replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caused_by: Option<CausedBy>,
}

/// Why a property changes although its text did not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CausedBy {
    /// The replaced resource it names.
    pub logical_id: String,
    /// "SubnetId changes because Subnet is replaced"
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttributeChange {
    /// The attribute: `Metadata`, `UpdatePolicy`, `DependsOn`, ...
    pub name: &'static str,
    /// Where inside the attribute's value, for the map-valued ones
    /// (`/AWS::CloudFormation::Init/config/packages/yum/nginx`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_path: Option<PropertyPath>,
    pub change: ChangeKind,
    pub from: Option<Value>,
    pub to: Option<Value>,
}

impl AttributeChange {
    /// A whole attribute compared; `None` when it did not change.
    fn whole(name: &'static str, from: Option<Value>, to: Option<Value>) -> Option<Self> {
        let change = match (&from, &to) {
            (None, None) => return None,
            (a, b) if a == b => return None,
            (None, Some(_)) => ChangeKind::Add,
            (Some(_), None) => ChangeKind::Remove,
            (Some(_), Some(_)) => ChangeKind::Modify,
        };
        Some(AttributeChange {
            name,
            attribute_path: None,
            change,
            from,
            to,
        })
    }

    /// A map-valued attribute, compared path by path.
    fn nested(name: &'static str, from: Option<&Value>, to: Option<&Value>, out: &mut Vec<Self>) {
        let (Some(a), Some(b)) = (from, to) else {
            out.extend(Self::whole(name, from.cloned(), to.cloned()));
            return;
        };
        let mut changes = Vec::new();
        diff_value(&PropertyPath::root(), a, b, None, &mut changes);
        out.extend(changes.into_iter().map(|p| AttributeChange {
            name,
            attribute_path: Some(p.property_path),
            change: p.change,
            from: p.from,
            to: p.to,
        }));
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ParameterChange {
    pub name: String,
    pub change: ChangeKind,
    /// NoEcho values are shown as `****`.
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputChange {
    pub name: String,
    pub change: ChangeKind,
    pub from: Option<Value>,
    pub to: Option<Value>,
}

impl StackDiff {
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
            && self.parameters.is_empty()
            && self.outputs.is_empty()
            && self.transform.is_none()
    }
}

/// Diffs two desired states of a stack. Either side may be absent (a stack
/// added to or removed from the config).
pub fn diff_stacks(
    old: Option<&DesiredStack>,
    new: Option<&DesiredStack>,
    schema: &SchemaFacts,
) -> StackDiff {
    let empty = DesiredStack::default();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let mut out = StackDiff::default();

    for (id, o) in &old.resources {
        if !new.resources.contains_key(id) {
            out.resources.push(whole(o, ChangeKind::Remove));
        }
    }
    for (id, n) in &new.resources {
        match old.resources.get(id) {
            None => out.resources.push(whole(n, ChangeKind::Add)),
            Some(o) => {
                if let Some(change) = resource_change(o, n, schema) {
                    out.resources.push(change);
                }
            }
        }
    }

    let shown = |p: &super::resolve::ResolvedParam| {
        if p.no_echo {
            "****".to_string()
        } else {
            match &p.value {
                ParamValue::String(s) | ParamValue::Ssm(s) => s.clone(),
                ParamValue::List(l) => l.join(","),
            }
        }
    };
    for (name, o) in &old.parameters {
        match new.parameters.get(name) {
            None => out.parameters.push(ParameterChange {
                name: name.clone(),
                change: ChangeKind::Remove,
                from: Some(shown(o)),
                to: None,
            }),
            Some(n) if n.value != o.value => out.parameters.push(ParameterChange {
                name: name.clone(),
                change: ChangeKind::Modify,
                from: Some(shown(o)),
                to: Some(shown(n)),
            }),
            Some(_) => {}
        }
    }
    for (name, n) in &new.parameters {
        if !old.parameters.contains_key(name) {
            out.parameters.push(ParameterChange {
                name: name.clone(),
                change: ChangeKind::Add,
                from: None,
                to: Some(shown(n)),
            });
        }
    }

    for (name, o) in &old.outputs {
        match new.outputs.get(name) {
            None => out.outputs.push(OutputChange {
                name: name.clone(),
                change: ChangeKind::Remove,
                from: Some(o.clone()),
                to: None,
            }),
            Some(n) if n != o => out.outputs.push(OutputChange {
                name: name.clone(),
                change: ChangeKind::Modify,
                from: Some(o.clone()),
                to: Some(n.clone()),
            }),
            Some(_) => {}
        }
    }
    for (name, n) in &new.outputs {
        if !old.outputs.contains_key(name) {
            out.outputs.push(OutputChange {
                name: name.clone(),
                change: ChangeKind::Add,
                from: None,
                to: Some(n.clone()),
            });
        }
    }
    propagate::propagate(old, new, schema, &mut out.resources);
    let transform = |s: &DesiredStack| {
        (!s.transforms.is_empty())
            .then(|| Value::List(s.transforms.iter().cloned().map(Value::String).collect()))
    };
    out.transform = AttributeChange::whole("Transform", transform(old), transform(new));
    out
}

fn whole(r: &DesiredResource, change: ChangeKind) -> ResourceChange {
    ResourceChange {
        logical_id: r.logical_id.clone(),
        type_name: r.type_name.clone(),
        change,
        previous_type: None,
        replacement: false,
        properties: Vec::new(),
        attributes: Vec::new(),
    }
}

fn resource_change(
    o: &DesiredResource,
    n: &DesiredResource,
    schema: &SchemaFacts,
) -> Option<ResourceChange> {
    if o.type_name != n.type_name {
        return Some(ResourceChange {
            previous_type: Some(o.type_name.clone()),
            replacement: true,
            ..whole(n, ChangeKind::Modify)
        });
    }
    let facts = schema.get(&n.type_name);
    let mut properties = Vec::new();
    diff_map(
        &PropertyPath::root(),
        &o.properties,
        &n.properties,
        facts,
        &mut properties,
    );
    // A secret never shows, on either side.
    for p in &mut properties {
        if o.is_secret(&p.property_path) || n.is_secret(&p.property_path) {
            for v in [&mut p.from, &mut p.to] {
                if v.is_some() {
                    *v = Some(Value::String(super::secret::SHOWN_AS.into()));
                }
            }
        }
    }
    let mut attributes = Vec::new();
    for (name, from, to) in [
        ("Metadata", &o.metadata, &n.metadata),
        ("CreationPolicy", &o.creation_policy, &n.creation_policy),
        ("UpdatePolicy", &o.update_policy, &n.update_policy),
    ] {
        AttributeChange::nested(name, from.as_ref(), to.as_ref(), &mut attributes);
    }
    let cond = |r: &DesiredResource| r.condition.as_ref().map(|(c, _)| Value::String(c.clone()));
    let deps = |r: &DesiredResource| {
        (!r.depends_on.is_empty())
            .then(|| Value::List(r.depends_on.iter().cloned().map(Value::String).collect()))
    };
    attributes.extend(
        [
            (
                "DeletionPolicy",
                o.deletion_policy.clone(),
                n.deletion_policy.clone(),
            ),
            (
                "UpdateReplacePolicy",
                o.update_replace_policy.clone(),
                n.update_replace_policy.clone(),
            ),
            ("Condition", cond(o), cond(n)),
            ("DependsOn", deps(o), deps(n)),
        ]
        .into_iter()
        .filter_map(|(name, from, to)| AttributeChange::whole(name, from, to)),
    );
    if properties.is_empty() && attributes.is_empty() {
        return None;
    }
    Some(ResourceChange {
        replacement: properties.iter().any(|p| p.replacement),
        properties,
        attributes,
        ..whole(n, ChangeKind::Modify)
    })
}

fn push(
    out: &mut Vec<PropertyChange>,
    path: PropertyPath,
    change: ChangeKind,
    from: Option<&Value>,
    to: Option<&Value>,
    facts: Option<&TypeFacts>,
) {
    let replacement = facts.is_some_and(|f| f.requires_replacement(&path));
    out.push(PropertyChange {
        property_path: path,
        change,
        from: from.cloned(),
        to: to.cloned(),
        replacement,
        caused_by: None,
    });
}

fn diff_map(
    path: &PropertyPath,
    old: &indexmap::IndexMap<String, Value>,
    new: &indexmap::IndexMap<String, Value>,
    facts: Option<&TypeFacts>,
    out: &mut Vec<PropertyChange>,
) {
    for (k, o) in old {
        match new.get(k) {
            None => push(out, path.key(k), ChangeKind::Remove, Some(o), None, facts),
            Some(n) => diff_value(&path.key(k), o, n, facts, out),
        }
    }
    for (k, n) in new {
        if !old.contains_key(k) {
            push(out, path.key(k), ChangeKind::Add, None, Some(n), facts);
        }
    }
}

/// Diffs two values at `path`, descending into maps and lists.
pub fn diff_value(
    path: &PropertyPath,
    old: &Value,
    new: &Value,
    facts: Option<&TypeFacts>,
    out: &mut Vec<PropertyChange>,
) {
    match (old, new) {
        (Value::Map(o), Value::Map(n)) => diff_map(path, o, n, facts, out),
        (Value::List(o), Value::List(n)) if facts.is_some_and(|f| f.is_unordered(path)) => {
            // A set: report what left and what arrived, not positions.
            for (i, item) in o.iter().enumerate() {
                if !n.contains(item) {
                    push(
                        out,
                        path.index(i),
                        ChangeKind::Remove,
                        Some(item),
                        None,
                        facts,
                    );
                }
            }
            for (i, item) in n.iter().enumerate() {
                if !o.contains(item) {
                    push(out, path.index(i), ChangeKind::Add, None, Some(item), facts);
                }
            }
        }
        (Value::List(o), Value::List(n)) => {
            for (i, (a, b)) in o.iter().zip(n).enumerate() {
                diff_value(&path.index(i), a, b, facts, out);
            }
            for (i, a) in o.iter().enumerate().skip(n.len()) {
                push(out, path.index(i), ChangeKind::Remove, Some(a), None, facts);
            }
            for (i, b) in n.iter().enumerate().skip(o.len()) {
                push(out, path.index(i), ChangeKind::Add, None, Some(b), facts);
            }
        }
        (a, b) if a == b => {}
        (a, b) => push(
            out,
            path.clone(),
            ChangeKind::Modify,
            Some(a),
            Some(b),
            facts,
        ),
    }
}

mod propagate;
#[cfg(test)]
mod tests;

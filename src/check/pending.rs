//! Pending: what deploying the committed template would change, found by
//! resolving the deployed template with the deployed parameters and diffing
//! it against the committed desired state.

use indexmap::IndexMap;

use super::model::PendingChange;
use crate::live::{self, Calls, Clients, LiveStack};
use crate::load::StackState;
use crate::template::Template;
use crate::template::diff::{AttributeChange, ChangeKind, diff_stacks};
use crate::template::params::ParamValue;
use crate::template::resolve::{DesiredStack, Inputs, resolve};
use crate::template::schema::SchemaFacts;

/// Why the deployed side could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    #[error(transparent)]
    Live(#[from] live::LiveError),
    #[error("the deployed template of {stack} does not load: {message}")]
    Deployed { stack: String, message: String },
}

/// The deployed side of a stack: its template as CloudFormation has it,
/// resolved with the deployed parameter values.
pub(super) struct Deployed {
    pub template: Template,
    pub inputs: Inputs,
    pub desired: DesiredStack,
}

/// Reads and resolves what CloudFormation deployed, with the same pseudo
/// parameters as the committed side, so only real changes differ.
pub(super) async fn deployed(
    clients: &Clients,
    state: &StackState,
    committed: &DesiredStack,
    live: &LiveStack,
    calls: &Calls,
) -> Result<Deployed, PendingError> {
    let body = live::get_template(clients, live, calls).await?;
    let bad = |message: String| PendingError::Deployed {
        stack: live.name.clone(),
        message,
    };
    let template = Template::parse(&body).map_err(|e| bad(e.to_string()))?;
    let mut inputs = state.inputs.clone().unwrap_or_default();
    inputs.parameters = deployed_parameters(&template, live, committed);
    let desired = resolve(&template, &inputs).map_err(|e| bad(e.to_string()))?;
    Ok(Deployed {
        template,
        inputs,
        desired,
    })
}

/// What deploying the committed template over the deployed one would change:
/// properties, resource attributes, outputs and the `Transform`.
pub(super) fn pending(deployed: &DesiredStack, committed: &DesiredStack) -> Vec<PendingChange> {
    let diff = diff_stacks(Some(deployed), Some(committed), SchemaFacts::embedded());
    let mut out = Vec::new();
    let change = |logical_id: &str, type_name: &str, change: ChangeKind| PendingChange {
        logical_id: logical_id.to_string(),
        type_name: type_name.to_string(),
        change,
        property_path: None,
        deployed: None,
        committed: None,
        replacement: false,
        location: None,
        attribute: None,
        attribute_path: None,
        caused_by: None,
    };
    let attribute = |logical_id: &str, type_name: &str, a: AttributeChange| PendingChange {
        deployed: a.from,
        committed: a.to,
        attribute: Some(a.name),
        attribute_path: a.attribute_path,
        ..change(logical_id, type_name, a.change)
    };
    for r in diff.resources {
        if r.change != ChangeKind::Modify || (r.properties.is_empty() && r.attributes.is_empty()) {
            out.push(PendingChange {
                replacement: r.replacement,
                ..change(&r.logical_id, &r.type_name, r.change)
            });
            continue;
        }
        for p in r.properties {
            out.push(PendingChange {
                property_path: Some(p.property_path),
                deployed: p.from,
                committed: p.to,
                replacement: p.replacement,
                caused_by: p.caused_by,
                ..change(&r.logical_id, &r.type_name, p.change)
            });
        }
        for a in r.attributes {
            out.push(attribute(&r.logical_id, &r.type_name, a));
        }
    }
    for o in diff.outputs {
        out.push(PendingChange {
            deployed: o.from,
            committed: o.to,
            attribute: Some("Outputs"),
            ..change(&o.name, "Outputs", o.change)
        });
    }
    if let Some(t) = diff.transform {
        out.push(attribute("Transform", "Transform", t));
    }
    out.extend(parameter_changes(deployed, committed));
    out
}

/// Parameter values that differ between the deployed stack and git: a
/// commit that only changes a value must still be deployed. NoEcho values
/// are masked by CloudFormation, so they are never compared or shown.
fn parameter_changes(deployed: &DesiredStack, committed: &DesiredStack) -> Vec<PendingChange> {
    let text = |p: &ParamValue| match p {
        ParamValue::String(s) | ParamValue::Ssm(s) => s.clone(),
        ParamValue::List(items) => items.join(","),
    };
    let mut out = Vec::new();
    for (name, c) in &committed.parameters {
        let Some(d) = deployed.parameters.get(name) else {
            continue;
        };
        if c.no_echo || d.no_echo || text(&c.value) == text(&d.value) {
            continue;
        }
        out.push(PendingChange {
            logical_id: name.clone(),
            type_name: "Parameters".to_string(),
            change: ChangeKind::Modify,
            property_path: None,
            deployed: Some(crate::template::value::Value::String(text(&d.value))),
            committed: Some(crate::template::value::Value::String(text(&c.value))),
            replacement: false,
            location: None,
            attribute: Some("Parameters"),
            attribute_path: None,
            caused_by: None,
        });
    }
    out
}

/// The deployed parameter values, for the parameters the deployed template
/// declares. NoEcho values come back masked; the committed value stands in,
/// since the real one cannot be compared.
fn deployed_parameters(
    template: &Template,
    live: &LiveStack,
    committed: &DesiredStack,
) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    for (name, value) in &live.parameters {
        if !template.parameters.contains_key(name) {
            continue;
        }
        let masked = value == "****" && template.parameters[name].no_echo;
        let value = match committed.parameters.get(name) {
            Some(p) if masked => match &p.value {
                ParamValue::String(s) | ParamValue::Ssm(s) => s.clone(),
                ParamValue::List(items) => items.join(","),
            },
            _ => value.clone(),
        };
        out.insert(name.clone(), value);
    }
    out
}

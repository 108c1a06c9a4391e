//! Replacement propagation: a replaced resource gets a new physical id (and
//! new attributes), so every property that `Ref`s or `Fn::GetAtt`s it gets a
//! new value too. CloudFormation updates those resources, or replaces them
//! when the property is create-only, which in turn changes their own
//! dependents. Worked through with a queue, not recursion over resources.

use std::collections::VecDeque;

use super::{CausedBy, ChangeKind, PropertyChange, ResourceChange, whole};
use crate::template::resolve::DesiredStack;
use crate::template::schema::SchemaFacts;
use crate::template::{PropertyPath, Unresolved, Value};

/// Adds the changes replacements cause to `changes` (resources in both
/// states only: an added resource is new anyway).
pub(super) fn propagate(
    old: &DesiredStack,
    new: &DesiredStack,
    schema: &SchemaFacts,
    changes: &mut Vec<ResourceChange>,
) {
    let mut queue: VecDeque<String> = changes
        .iter()
        .filter(|c| c.change == ChangeKind::Modify && c.replacement)
        .map(|c| c.logical_id.clone())
        .collect();
    while let Some(replaced) = queue.pop_front() {
        for (id, r) in &new.resources {
            if id == &replaced || !old.resources.contains_key(id) {
                continue;
            }
            // CloudFormation reports a changed property by its top-level name.
            let found: Vec<(PropertyPath, Value)> = r
                .properties
                .iter()
                .filter(|(_, v)| mentions(v, &replaced))
                .map(|(k, v)| (PropertyPath::root().key(k), v.clone()))
                .collect();
            if found.is_empty() {
                continue;
            }
            let at = match changes.iter().position(|c| &c.logical_id == id) {
                Some(i) => i,
                None => {
                    changes.push(whole(r, ChangeKind::Modify));
                    changes.len() - 1
                }
            };
            let facts = schema.get(&r.type_name);
            let change = &mut changes[at];
            let was_replaced = change.replacement;
            for (path, value) in found {
                if change.properties.iter().any(|p| p.property_path == path) {
                    continue; // Changed in the template already.
                }
                let name = path.to_string();
                let name = name.trim_start_matches('/');
                let replacement = facts.is_some_and(|f| f.requires_replacement(&path));
                change.properties.push(PropertyChange {
                    property_path: path.clone(),
                    change: ChangeKind::Modify,
                    from: Some(value.clone()),
                    to: Some(value),
                    replacement,
                    caused_by: Some(CausedBy {
                        logical_id: replaced.clone(),
                        reason: format!("{name} changes because {replaced} is replaced"),
                    }),
                });
                change.replacement |= replacement;
            }
            if change.replacement && !was_replaced {
                queue.push_back(id.clone());
            }
        }
    }
}

/// Whether `v` holds a `Ref`, `Fn::GetAtt` or `Fn::Sub` variable naming `target`.
fn mentions(v: &Value, target: &str) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::List(items) => stack.extend(items),
            Value::Map(m) => stack.extend(m.values()),
            Value::Unresolved(u) => match u.as_ref() {
                Unresolved::Ref(r) if r == target => return true,
                Unresolved::GetAtt { resource, .. } if resource == target => return true,
                Unresolved::Expr { text, .. }
                    if text.contains(&format!("${{{target}}}"))
                        || text.contains(&format!("${{{target}."))
                        || text.contains(&format!("\"Ref\":\"{target}\"")) =>
                {
                    return true;
                }
                Unresolved::If {
                    then, otherwise, ..
                } => {
                    stack.push(then);
                    stack.push(otherwise);
                }
                Unresolved::ImportValue(b) | Unresolved::GetAZs(b) => stack.push(b),
                _ => {}
            },
            _ => {}
        }
    }
    false
}

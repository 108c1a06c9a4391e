//! Turns drifted differences into an RFC 6902 patch over the live resource,
//! so a revert puts back exactly the drifted properties and nothing else.
//! Pure: no AWS.

use serde::Serialize;

use crate::drift::{Difference, DifferenceKind};
use crate::template::path::Segment;
use crate::template::schema::TypeFacts;
use crate::template::{PropertyPath, Value};

/// One RFC 6902 operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchOp {
    pub op: &'static str,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// Why a difference cannot be reverted by patching.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub property_path: PropertyPath,
    pub reason: String,
}

/// The patch that reverts `differences` (real ones only), and what had to be
/// refused. Create-only properties are refused (patching them replaces the
/// resource); read-only ones are skipped; unknown expected values refused.
pub fn revert_patch(
    differences: &[&Difference],
    facts: Option<&TypeFacts>,
) -> (Vec<PatchOp>, Vec<Refusal>) {
    let mut removes: Vec<(String, Option<usize>, PatchOp)> = Vec::new();
    let mut others = Vec::new();
    let mut refused = Vec::new();
    for d in differences.iter().filter(|d| d.ignored_by.is_none()) {
        let path = &d.property_path;
        // The policy re-applies secrets; a patch would write the mask.
        if d.secret {
            refused.push(Refusal {
                property_path: path.clone(),
                reason: "a secret (NoEcho parameter or secret dynamic reference): its value is \
                         not known here, so it is re-applied, never patched"
                    .into(),
            });
            continue;
        }
        if let Some(f) = facts {
            if f.requires_replacement(path) {
                refused.push(Refusal {
                    property_path: path.clone(),
                    reason: "a create-only property: changing it replaces the resource, so it is not patched (reapply with allow_replacement instead)".into(),
                });
                continue;
            }
            if f.is_read_only(path) {
                continue;
            }
        }
        match d.kind {
            DifferenceKind::Add => {
                let (parent, index) = split_last_index(path);
                removes.push((
                    parent,
                    index,
                    PatchOp {
                        op: "remove",
                        path: pointer(path),
                        value: None,
                    },
                ));
            }
            DifferenceKind::Remove | DifferenceKind::NotEqual => {
                let Some(expected) = &d.expected else {
                    continue;
                };
                if expected.contains_unresolved() {
                    refused.push(Refusal {
                        property_path: path.clone(),
                        reason: format!("the template's value is known only to CloudFormation ({expected}); reapply instead"),
                    });
                    continue;
                }
                let value = Some(expected.to_json());
                if d.kind == DifferenceKind::NotEqual {
                    others.push(PatchOp {
                        op: "replace",
                        path: pointer(path),
                        value,
                    });
                } else if let (parent, Some(_)) = split_last_index(path) {
                    // A missing list item goes back at the end: indexes of the
                    // template and of the live list need not agree.
                    others.push(PatchOp {
                        op: "add",
                        path: format!("{parent}/-"),
                        value,
                    });
                } else {
                    others.push(PatchOp {
                        op: "add",
                        path: pointer(path),
                        value,
                    });
                }
            }
        }
    }
    // Remove list items from the highest index down, so each index still
    // names the item it meant; then replace and add.
    removes.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut ops: Vec<PatchOp> = removes.into_iter().map(|(_, _, op)| op).collect();
    ops.extend(others);
    (ops, refused)
}

/// The JSON pointer of a property path (`~` and `/` escaped).
pub fn pointer(path: &PropertyPath) -> String {
    path.0
        .iter()
        .map(|s| match s {
            Segment::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
            Segment::Index(i) => format!("/{i}"),
        })
        .collect()
}

fn split_last_index(path: &PropertyPath) -> (String, Option<usize>) {
    match path.0.split_last() {
        Some((Segment::Index(i), parent)) => (pointer(&PropertyPath(parent.to_vec())), Some(*i)),
        _ => (pointer(path), None),
    }
}

/// Applies a patch to a document, as Cloud Control will; used to check
/// locally that the patched live state matches the template.
///
/// # Errors
/// A message when an operation does not apply.
pub fn apply(doc: &Value, ops: &[PatchOp]) -> Result<Value, String> {
    let mut json = doc.to_json();
    let patch: Vec<serde_json::Value> = ops
        .iter()
        .map(|o| serde_json::to_value(o).unwrap_or_default())
        .collect();
    json_patch::patch(
        &mut json,
        &serde_json::from_value::<json_patch::Patch>(serde_json::Value::Array(patch))
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    Ok(Value::from_json(&json))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::template::schema::SchemaFacts;

    fn diff(
        path: &str,
        kind: DifferenceKind,
        expected: Option<serde_json::Value>,
        actual: Option<serde_json::Value>,
    ) -> Difference {
        Difference {
            property_path: PropertyPath::parse(path),
            kind,
            expected: expected.map(|v| Value::from_json(&v)),
            actual: actual.map(|v| Value::from_json(&v)),
            ignored_by: None,
            secret: false,
        }
    }

    fn sg() -> Option<&'static TypeFacts> {
        SchemaFacts::embedded().get("AWS::EC2::SecurityGroup")
    }

    #[test]
    fn an_added_rule_is_removed_and_nothing_else_is_touched() {
        let live = json!({"GroupDescription": "web", "SecurityGroupIngress": [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]});
        let d = diff(
            "/SecurityGroupIngress/1",
            DifferenceKind::Add,
            None,
            Some(live["SecurityGroupIngress"][1].clone()),
        );
        let (ops, refused) = revert_patch(&[&d], sg());
        assert!(refused.is_empty());
        assert_eq!(
            serde_json::to_value(&ops).unwrap(),
            json!([{"op": "remove", "path": "/SecurityGroupIngress/1"}])
        );
        let patched = apply(&Value::from_json(&live), &ops).unwrap();
        assert_eq!(
            patched.to_json()["SecurityGroupIngress"],
            json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"}])
        );
        assert_eq!(patched.to_json()["GroupDescription"], "web");
    }

    #[test]
    fn several_added_items_are_removed_from_the_highest_index_down() {
        let a = diff(
            "/SecurityGroupIngress/1",
            DifferenceKind::Add,
            None,
            Some(json!({})),
        );
        let b = diff(
            "/SecurityGroupIngress/3",
            DifferenceKind::Add,
            None,
            Some(json!({})),
        );
        let (ops, _) = revert_patch(&[&a, &b], sg());
        let paths: Vec<_> = ops.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/SecurityGroupIngress/3", "/SecurityGroupIngress/1"]
        );
    }

    #[test]
    fn changed_values_are_replaced_and_missing_ones_put_back() {
        let changed = diff(
            "/Value",
            DifferenceKind::NotEqual,
            Some(json!("info")),
            Some(json!("debug")),
        );
        let missing = diff(
            "/Tags/Team",
            DifferenceKind::Remove,
            Some(json!("web")),
            None,
        );
        let gone_item = diff(
            "/SecurityGroupIngress/0",
            DifferenceKind::Remove,
            Some(json!({"CidrIp": "10.0.0.0/8"})),
            None,
        );
        let (ops, _) = revert_patch(&[&changed, &missing, &gone_item], None);
        assert_eq!(
            serde_json::to_value(&ops).unwrap(),
            json!([
                {"op": "replace", "path": "/Value", "value": "info"},
                {"op": "add", "path": "/Tags/Team", "value": "web"},
                {"op": "add", "path": "/SecurityGroupIngress/-", "value": {"CidrIp": "10.0.0.0/8"}},
            ])
        );
    }

    #[test]
    fn create_only_properties_are_refused_not_patched() {
        let d = diff(
            "/GroupDescription",
            DifferenceKind::NotEqual,
            Some(json!("web")),
            Some(json!("hacked")),
        );
        let (ops, refused) = revert_patch(&[&d], sg());
        assert!(ops.is_empty());
        assert_eq!(refused[0].property_path.to_string(), "/GroupDescription");
        assert!(refused[0].reason.contains("replaces the resource"));
    }

    #[test]
    fn pointers_escape_slashes_and_tildes() {
        let p = PropertyPath::root().key("Tags").key("a/b~c").index(2);
        assert_eq!(pointer(&p), "/Tags/a~1b~0c/2");
    }
}

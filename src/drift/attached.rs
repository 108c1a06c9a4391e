//! `attached`: list items that another resource of the stack attaches to
//! this one. A security group's live rules include those of its
//! `AWS::EC2::SecurityGroupIngress` / `Egress` resources, and a role's live
//! inline policies those of its `AWS::IAM::Policy` resources; the group's
//! or role's own template declares none of them, yet they are not drift.
//!
//! The resource schemas do not say which types attach to which, so the
//! links are a short table, each from the type's CloudFormation reference.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::compare::{Verdict, Walker};
use super::normalize::ATTACHED;
use super::{Difference, DifferenceKind, Suppression};
use crate::template::{PropertyPath, Unresolved, Value};

/// One item another resource attaches to a list property of this one.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    /// The list property, e.g. `/SecurityGroupIngress`.
    pub property: String,
    pub item: Value,
    /// The attaching resource's logical id.
    pub by: String,
}

/// `from`'s property `target` names a `to` resource, whose list property
/// `into` then holds an item made of `from`'s other properties (`keep`,
/// when given, limits which).
struct Link {
    from: &'static str,
    target: &'static str,
    to: &'static str,
    into: &'static str,
    keep: Option<&'static [&'static str]>,
}

const POLICY: Option<&[&str]> = Some(&["PolicyName", "PolicyDocument"]);

const LINKS: &[Link] = &[
    // AWS::EC2::SecurityGroupIngress / Egress: "adds the specified inbound
    // (outbound) rule to a security group".
    Link {
        from: "AWS::EC2::SecurityGroupIngress",
        target: "GroupId",
        to: "AWS::EC2::SecurityGroup",
        into: "SecurityGroupIngress",
        keep: None,
    },
    Link {
        from: "AWS::EC2::SecurityGroupEgress",
        target: "GroupId",
        to: "AWS::EC2::SecurityGroup",
        into: "SecurityGroupEgress",
        keep: None,
    },
    // AWS::IAM::Policy: "adds or updates an inline policy document that is
    // embedded in the specified IAM group, user or role".
    Link {
        from: "AWS::IAM::Policy",
        target: "Roles",
        to: "AWS::IAM::Role",
        into: "Policies",
        keep: POLICY,
    },
    Link {
        from: "AWS::IAM::Policy",
        target: "Users",
        to: "AWS::IAM::User",
        into: "Policies",
        keep: POLICY,
    },
    Link {
        from: "AWS::IAM::Policy",
        target: "Groups",
        to: "AWS::IAM::Group",
        into: "Policies",
        keep: POLICY,
    },
    Link {
        from: "AWS::IAM::RolePolicy",
        target: "RoleName",
        to: "AWS::IAM::Role",
        into: "Policies",
        keep: POLICY,
    },
];

/// One resource of the stack, as [`attachments`] reads it.
pub struct StackResource<'a> {
    pub logical_id: &'a str,
    pub type_name: &'a str,
    pub properties: &'a IndexMap<String, Value>,
    pub physical_id: Option<&'a str>,
}

/// What each resource (by logical id) has attached to it by the others.
pub fn attachments(resources: &[StackResource<'_>]) -> HashMap<String, Vec<Attached>> {
    let mut out: HashMap<String, Vec<Attached>> = HashMap::new();
    for r in resources {
        for link in LINKS.iter().filter(|l| l.from == r.type_name) {
            let Some(target) = r.properties.get(link.target) else {
                continue;
            };
            let named: Vec<&Value> = match target {
                Value::List(items) => items.iter().collect(),
                v => vec![v],
            };
            let item: IndexMap<String, Value> = r
                .properties
                .iter()
                .filter(|(k, _)| {
                    *k != link.target && link.keep.is_none_or(|keep| keep.contains(&k.as_str()))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for t in resources.iter().filter(|t| t.type_name == link.to) {
                if named.iter().any(|v| names(v, t)) {
                    out.entry(t.logical_id.to_string())
                        .or_default()
                        .push(Attached {
                            property: link.into.to_string(),
                            item: Value::Map(item.clone()),
                            by: r.logical_id.to_string(),
                        });
                }
            }
        }
    }
    out
}

/// Whether `v` names the resource: a `Ref` or `GetAtt` to it, or its
/// physical id.
fn names(v: &Value, t: &StackResource<'_>) -> bool {
    match v {
        Value::Unresolved(u) => match u.as_ref() {
            Unresolved::Ref(id) => id == t.logical_id,
            Unresolved::GetAtt { resource, .. } => resource == t.logical_id,
            _ => false,
        },
        Value::String(s) => t.physical_id == Some(s.as_str()),
        _ => false,
    }
}

/// Takes the attached items out of the live lists, each matched to the
/// first live item it equals (after normalisers), and returns them as
/// suppressed `ADD`s at their live index.
pub(super) fn detach(
    w: &Walker<'_>,
    attached: &[Attached],
    actual: &mut IndexMap<String, Value>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut taken: HashMap<&str, Vec<usize>> = HashMap::new();
    for a in attached {
        let Some(Value::List(live)) = actual.get(&a.property) else {
            continue;
        };
        let path = PropertyPath::root().key(&a.property);
        let used = taken.entry(&a.property).or_default();
        let found = live.iter().enumerate().find(|(j, l)| {
            !used.contains(j) && w.verdict(&path.index(*j), &a.item, l) != Verdict::Different
        });
        if let Some((j, l)) = found {
            used.push(j);
            out.push(Difference {
                property_path: path.index(j),
                kind: DifferenceKind::Add,
                expected: None,
                actual: Some(l.clone()),
                ignored_by: Some(Suppression::Normalizer(ATTACHED)),
                secret: false,
            });
        }
    }
    for (property, used) in taken {
        if let Some(Value::List(live)) = actual.get_mut(property) {
            let mut j = 0;
            live.retain(|_| {
                j += 1;
                !used.contains(&(j - 1))
            });
            if live.is_empty() {
                actual.shift_remove(property);
            }
        }
    }
    out
}

//! Which drift is "the same drift again", for loop protection and the state
//! store. An element of a list whose order does not matter (the schema's
//! `insertionOrder: false`, such as security group rules) is known by its
//! content, not its position: a different rule showing up at index 1 after
//! a revert is new drift, not the reverted one coming back.
//!
//! Must not decide anything: policy and sync use the identity it returns.

use sha2::{Digest, Sha256};

use super::Difference;
use crate::template::path::Segment;
use crate::template::schema::SchemaFacts;

/// The identity of `d` on a resource of `type_name`: its property path, with
/// an unordered list's index replaced by `@` and a digest of the element,
/// e.g. `/SecurityGroupIngress/@3f9c0a1b2c3d4e5f`.
pub fn loop_path(type_name: &str, d: &Difference) -> String {
    let path = &d.property_path;
    let text = path.to_string();
    let Some((Segment::Index(_), parent)) = path.0.split_last() else {
        return text;
    };
    let parent = crate::template::PropertyPath(parent.to_vec());
    let unordered = SchemaFacts::embedded()
        .get(type_name)
        .is_some_and(|t| t.is_unordered(&parent));
    let Some(element) = d.actual.as_ref().or(d.expected.as_ref()) else {
        return text;
    };
    if !unordered {
        return text;
    }
    format!("{parent}/@{}", digest(&element.to_json()))
}

/// A short digest of a JSON value: 16 hex digits, enough to tell values of
/// one property apart.
pub fn digest(v: &serde_json::Value) -> String {
    Sha256::digest(v.to_string().as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::drift::DifferenceKind;
    use crate::template::{PropertyPath, Value};

    fn added(path: &str, element: serde_json::Value) -> Difference {
        Difference {
            property_path: PropertyPath::parse(path),
            kind: DifferenceKind::Add,
            expected: None,
            actual: Some(Value::from_json(&element)),
            ignored_by: None,
            secret: false,
        }
    }

    #[test]
    fn an_unordered_lists_element_is_known_by_its_content_not_its_position() {
        let sg = "AWS::EC2::SecurityGroup";
        let http =
            json!({"CidrIp": "10.1.0.0/16", "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80});
        let ssh = json!({"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22});
        let a = loop_path(sg, &added("/SecurityGroupIngress/1", http.clone()));
        assert!(a.starts_with("/SecurityGroupIngress/@"), "{a}");
        assert_eq!(a, loop_path(sg, &added("/SecurityGroupIngress/3", http)));
        assert_ne!(a, loop_path(sg, &added("/SecurityGroupIngress/1", ssh)));
        // Order matters in an ordered list, and below an element.
        let q = "AWS::SQS::Queue";
        assert_eq!(
            loop_path(q, &added("/RedrivePolicy", json!({}))),
            "/RedrivePolicy"
        );
        assert_eq!(
            loop_path(
                sg,
                &added("/SecurityGroupIngress/1/CidrIp", json!("0.0.0.0/0"))
            ),
            "/SecurityGroupIngress/1/CidrIp"
        );
    }
}

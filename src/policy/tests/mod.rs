//! Policy tests: one per rule of the decision order, named as sentences.
//! `decide.rs` covers rules, defaults, leases and limits; `guards.rs` the
//! shipped guard and how guards override everything else.

mod decide;
mod guards;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;
use serde_json::json;

use super::*;
use crate::check::{CheckStatus, PendingChange, ResourceReport};
use crate::config::Config;
use crate::drift::{Difference, DifferenceKind};
use crate::live::Change;
use crate::template::Value;
use crate::template::diff::ChangeKind;

/// 2026-06-01T00:00:00Z: every test's "now".
pub(super) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_272_000)
}

pub(super) fn config(policy_yaml: &str) -> Config {
    let text = format!(
        "version: 1\ndefaults: {{region: us-east-1}}\nstacks:\n  - {{name: web-sg, template: web.yaml}}\n  - {{name: data, template: data.yaml}}\n{policy_yaml}"
    );
    Config::parse(&text, "driftsync.yaml").expect("test config is valid")
}

pub(super) fn policy(policy_yaml: &str) -> Policy {
    Policy::new(&config(policy_yaml), &[]).expect("policy builds")
}

/// A policy with the shipped guard.
pub(super) fn guarded(policy_yaml: &str) -> Policy {
    let yaml = format!("guards:\n  - file: policies/no-public-ingress.guard\n{policy_yaml}");
    Policy::new(
        &config(&yaml),
        &[(
            "policies/no-public-ingress.guard".to_string(),
            include_str!("../../../config/policies/no-public-ingress.guard").to_string(),
        )],
    )
    .expect("the shipped guard parses")
}

pub(super) fn props(j: serde_json::Value) -> IndexMap<String, Value> {
    match Value::from_json(&j) {
        Value::Map(m) => m,
        _ => IndexMap::new(),
    }
}

pub(super) fn diff(path: &str, actual: serde_json::Value) -> Difference {
    Difference {
        property_path: PropertyPath::parse(path),
        kind: DifferenceKind::Add,
        expected: None,
        actual: Some(Value::from_json(&actual)),
        ignored_by: None,
        secret: false,
    }
}

/// A drifted resource with live properties and its last changer.
pub(super) fn resource(
    logical_id: &str,
    type_name: &str,
    differences: Vec<Difference>,
    actual: Option<serde_json::Value>,
    changed_by: Option<&str>,
) -> ResourceReport {
    ResourceReport {
        logical_id: logical_id.into(),
        physical_id: Some(format!("phys-{logical_id}")),
        type_name: type_name.into(),
        status: "MODIFIED".into(),
        differences,
        changed_by: changed_by
            .map(|p| Change {
                principal: p.into(),
                event: "AuthorizeSecurityGroupIngress".into(),
                time: "2026-05-31T23:00:00Z".into(),
                property_paths: Vec::new(),
            })
            .into_iter()
            .collect(),
        location: None,
        checked_at: None,
        locations: Vec::new(),
        actual: actual.map(props),
        nested_stack: None,
        note: None,
    }
}

/// The seed's scenario: SSH opened to the world on a pipeline-owned group.
pub(super) fn open_ssh(extra_tags: serde_json::Value) -> ResourceReport {
    let rule = json!({"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22});
    resource(
        "WebSg",
        "AWS::EC2::SecurityGroup",
        vec![diff("/SecurityGroupIngress/1", rule.clone())],
        Some(json!({
            "GroupDescription": "web",
            "SecurityGroupIngress": [
                {"CidrIp": "10.0.0.0/8", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443},
                rule
            ],
            "Tags": extra_tags,
        })),
        Some("alice"),
    )
}

pub(super) fn parameter_drift(logical_id: &str, tags: serde_json::Value) -> ResourceReport {
    let mut d = diff("/Value", json!("live"));
    d.kind = DifferenceKind::NotEqual;
    d.expected = Some(Value::String("git".into()));
    resource(
        logical_id,
        "AWS::SSM::Parameter",
        vec![d],
        Some(json!({"Name": "/app/x", "Type": "String", "Value": "live", "Tags": tags})),
        Some("bob"),
    )
}

pub(super) fn stack(
    name: &str,
    drift: Vec<ResourceReport>,
    pending: Vec<PendingChange>,
) -> StackCheck {
    StackCheck {
        name: name.into(),
        region: "us-east-1".into(),
        account: None,
        status: CheckStatus::Drifted,
        template: "web.yaml".into(),
        stack_status: Some("UPDATE_COMPLETE".into()),
        pending,
        drift,
        error: None,
        skipped_reason: None,
        config_verdict: None,
        api_calls: BTreeMap::new(),
    }
}

pub(super) fn pending(logical_id: &str, path: Option<&str>, replacement: bool) -> PendingChange {
    PendingChange {
        logical_id: logical_id.into(),
        type_name: "AWS::SQS::Queue".into(),
        change: ChangeKind::Modify,
        property_path: path.map(PropertyPath::parse),
        deployed: Some(Value::from_json(&json!(60))),
        committed: Some(Value::from_json(&json!(120))),
        replacement,
        location: None,
        attribute: None,
        attribute_path: None,
        caused_by: None,
    }
}

/// The only decision, for tests that make one.
pub(super) fn only(d: &StackDecisions) -> &Decision {
    assert_eq!(d.decisions.len(), 1, "{:#?}", d.decisions);
    &d.decisions[0]
}

pub(super) fn rfc(t: SystemTime) -> String {
    crate::check::rfc3339(t)
}

//! Deep mode on resources nobody touched: what AWS chose at creation,
//! write-only input and items other resources attach are not drift; a
//! real change next to them still is.

use serde_json::json;

use super::{deep, normalizer, props};
use crate::drift::{Attached, ResourceInput, StackResource, attachments, compare};
use crate::template::{Unresolved, Value};

#[test]
fn a_generated_name_and_the_default_vpc_are_create_only_not_drift() {
    let got = deep("AWS::EC2::SecurityGroup").json(
        json!({"GroupDescription": "web"}),
        json!({"GroupDescription": "web", "GroupName": "app-WebSG-1X2Y", "VpcId": "vpc-0abc"}),
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/GroupName", "kind": "ADD", "expected": null, "actual": "app-WebSG-1X2Y", "ignored_by": normalizer("create-only")},
            {"property_path": "/VpcId", "kind": "ADD", "expected": null, "actual": "vpc-0abc", "ignored_by": normalizer("create-only")},
        ])
    );
}

#[test]
fn a_create_only_value_the_template_sets_is_still_compared() {
    let got =
        deep("AWS::SQS::Queue").json(json!({"QueueName": "jobs"}), json!({"QueueName": "other"}));
    assert_eq!(got[0]["ignored_by"], json!(null), "{got}");
}

#[test]
fn code_given_only_as_write_only_zip_file_is_not_missing_live() {
    let got = deep("AWS::Lambda::Function").json(
        json!({"Handler": "index.handler", "Code": {"ZipFile": "def handler(e, c):\n    return 1\n"}}),
        json!({"Handler": "index.handler"}),
    );
    assert_eq!(got, json!([]));
}

fn group_with(attached: &[Attached], live: serde_json::Value) -> serde_json::Value {
    let setup = deep("AWS::EC2::SecurityGroup");
    let (expected, actual) = (props(json!({"GroupDescription": "web"})), props(live));
    let input = ResourceInput {
        stack: "web",
        logical_id: "WebSG",
        type_name: "AWS::EC2::SecurityGroup",
        expected: &expected,
        actual: &actual,
        mode: setup.mode,
        attached,
    };
    serde_json::to_value(compare(&input, &setup.context())).unwrap()
}

/// `HttpsIn` (an `AWS::EC2::SecurityGroupIngress`) attached to `WebSG`.
fn https_in() -> Vec<Attached> {
    let group = props(json!({"GroupDescription": "web"}));
    let rule = {
        let mut p = props(
            json!({"IpProtocol": "tcp", "FromPort": "443", "ToPort": "443", "CidrIp": "10.0.0.0/8"}),
        );
        p.insert(
            "GroupId".into(),
            Value::Unresolved(Box::new(Unresolved::GetAtt {
                resource: "WebSG".into(),
                attribute: "GroupId".into(),
            })),
        );
        p
    };
    let stack = [
        StackResource {
            logical_id: "WebSG",
            type_name: "AWS::EC2::SecurityGroup",
            properties: &group,
            physical_id: Some("sg-1"),
        },
        StackResource {
            logical_id: "HttpsIn",
            type_name: "AWS::EC2::SecurityGroupIngress",
            properties: &rule,
            physical_id: Some("sgr-1"),
        },
    ];
    attachments(&stack).remove("WebSG").unwrap_or_default()
}

#[test]
fn a_rule_an_ingress_resource_attaches_is_not_drift_but_another_rule_is() {
    let attached = https_in();
    assert_eq!(attached.len(), 1, "{attached:?}");
    let rule = json!({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"});
    let ssh = json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"});
    let got = group_with(
        &attached,
        json!({"GroupDescription": "web", "SecurityGroupIngress": [ssh, rule]}),
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/SecurityGroupIngress", "kind": "ADD", "expected": null, "actual": [ssh], "ignored_by": null},
            {"property_path": "/SecurityGroupIngress/1", "kind": "ADD", "expected": null, "actual": rule, "ignored_by": normalizer("attached")},
        ])
    );
}

#[test]
fn a_policy_resource_attaches_to_the_role_it_names_by_physical_id() {
    let role = props(json!({}));
    let other = props(json!({}));
    let policy = props(
        json!({"PolicyName": "read", "Roles": ["app-Role-1"], "PolicyDocument": {"Statement": []}}),
    );
    let stack = [
        StackResource {
            logical_id: "Role",
            type_name: "AWS::IAM::Role",
            properties: &role,
            physical_id: Some("app-Role-1"),
        },
        StackResource {
            logical_id: "Other",
            type_name: "AWS::IAM::Role",
            properties: &other,
            physical_id: Some("app-Other-2"),
        },
        StackResource {
            logical_id: "Read",
            type_name: "AWS::IAM::Policy",
            properties: &policy,
            physical_id: Some("app-Read-3"),
        },
    ];
    let got = attachments(&stack);
    assert_eq!(got.keys().collect::<Vec<_>>(), ["Role"]);
    assert_eq!(
        got["Role"][0].item,
        Value::from_json(&json!({"PolicyName": "read", "PolicyDocument": {"Statement": []}}))
    );
}

#[test]
fn defaults_the_schema_states_in_prose_are_not_drift_but_other_values_are() {
    // "The default value is 128 MB.", "The default is 3 seconds", "The
    // default value is ``x86_64``."
    let got = deep("AWS::Lambda::Function").json(
        json!({"Handler": "index.handler"}),
        json!({"Handler": "index.handler", "MemorySize": 128, "Timeout": 30, "Architectures": ["x86_64"]}),
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/Architectures", "kind": "ADD", "expected": null, "actual": ["x86_64"], "ignored_by": normalizer("default-value")},
            {"property_path": "/MemorySize", "kind": "ADD", "expected": null, "actual": 128, "ignored_by": normalizer("default-value")},
            {"property_path": "/Timeout", "kind": "ADD", "expected": null, "actual": 30, "ignored_by": null},
        ])
    );
}

#[test]
fn a_settings_object_with_every_switch_off_is_a_default() {
    let got = deep("AWS::DynamoDB::Table").json(
        json!({}),
        json!({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": false}}),
    );
    assert_eq!(got[0]["ignored_by"], normalizer("default-value"), "{got}");
}

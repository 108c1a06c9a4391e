//! `from_cloudformation`: the filter over CloudFormation's own differences.

use serde_json::json;

use super::{Setup, normalizer, rules};
use crate::drift::{Mode, from_cloudformation};

fn run(setup: &Setup, diffs: &[(&str, &str, Option<&str>, Option<&str>)]) -> serde_json::Value {
    let diffs: Vec<(String, String, Option<String>, Option<String>)> = diffs
        .iter()
        .map(|(p, k, e, a)| {
            (
                p.to_string(),
                k.to_string(),
                e.map(str::to_string),
                a.map(str::to_string),
            )
        })
        .collect();
    let got = from_cloudformation("web", "Res", &setup.type_name, &diffs, &setup.context());
    serde_json::to_value(got).unwrap()
}

fn sg() -> Setup {
    Setup::new("AWS::EC2::SecurityGroup", Mode::CloudFormation)
}

#[test]
fn values_are_json_text_or_unquoted_strings() {
    let got = run(
        &sg(),
        &[
            (
                "/SecurityGroupIngress/0/IpProtocol",
                "NOT_EQUAL",
                Some("TCP"),
                Some("\"tcp\""),
            ),
            (
                "/SecurityGroupIngress/0/FromPort",
                "NOT_EQUAL",
                Some("\"22\""),
                Some("22"),
            ),
            (
                "/GroupDescription",
                "NOT_EQUAL",
                Some("web servers"),
                Some("\"web\""),
            ),
        ],
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/GroupDescription", "kind": "NOT_EQUAL", "expected": "web servers", "actual": "web", "ignored_by": null},
            {"property_path": "/SecurityGroupIngress/0/FromPort", "kind": "NOT_EQUAL", "expected": "22", "actual": 22, "ignored_by": normalizer("number-string")},
            {"property_path": "/SecurityGroupIngress/0/IpProtocol", "kind": "NOT_EQUAL", "expected": "TCP", "actual": "tcp", "ignored_by": normalizer("case-only")},
        ])
    );
}

#[test]
fn a_reordering_reported_as_remove_and_add_is_suppressed() {
    let rule_a = r#"{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}"#;
    let rule_a_live =
        r#"{"IpProtocol": "6", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}"#;
    let rule_b = r#"{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"}"#;
    let got = run(
        &sg(),
        &[
            ("/SecurityGroupIngress/0", "REMOVE", Some(rule_a), None),
            ("/SecurityGroupIngress/1", "ADD", None, Some(rule_a_live)),
            (
                "/SecurityGroupIngress/1",
                "NOT_EQUAL",
                Some(rule_b),
                Some(rule_a),
            ),
        ],
    );
    let ids: Vec<(String, String, serde_json::Value)> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["property_path"].as_str().unwrap().to_string(),
                d["kind"].as_str().unwrap().to_string(),
                d["ignored_by"].clone(),
            )
        })
        .collect();
    // The REMOVE pairs with the ADD (through the protocol number); the
    // NOT_EQUAL's sides have no partners left, so it stays drift.
    assert_eq!(
        ids,
        [
            (
                "/SecurityGroupIngress/0".into(),
                "REMOVE".into(),
                normalizer("ip-protocol")
            ),
            (
                "/SecurityGroupIngress/1".into(),
                "NOT_EQUAL".into(),
                json!(null)
            ),
            (
                "/SecurityGroupIngress/1".into(),
                "ADD".into(),
                normalizer("ip-protocol")
            ),
        ]
    );
}

#[test]
fn aws_tags_added_live_are_suppressed_and_other_tags_are_not() {
    let setup = Setup::new("AWS::ECS::Cluster", Mode::CloudFormation);
    let got = run(
        &setup,
        &[
            (
                "/Tags/1",
                "ADD",
                None,
                Some(r#"{"Key": "aws:cloudformation:stack-name", "Value": "web"}"#),
            ),
            (
                "/Tags/2",
                "ADD",
                None,
                Some(r#"{"Key": "owner", "Value": "mallory"}"#),
            ),
            (
                "/Tags/0",
                "REMOVE",
                Some(r#"{"Key": "team", "Value": "web"}"#),
                None,
            ),
        ],
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/Tags/0", "kind": "REMOVE", "expected": {"Key": "team", "Value": "web"}, "actual": null, "ignored_by": null},
            {"property_path": "/Tags/1", "kind": "ADD", "expected": null, "actual": {"Key": "aws:cloudformation:stack-name", "Value": "web"}, "ignored_by": normalizer("aws-tags")},
            {"property_path": "/Tags/2", "kind": "ADD", "expected": null, "actual": {"Key": "owner", "Value": "mallory"}, "ignored_by": null},
        ])
    );
}

#[test]
fn policies_sent_as_json_text_compare_canonically() {
    let setup = Setup::new("AWS::SQS::QueuePolicy", Mode::CloudFormation);
    let e = r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}}"#;
    let a = r#""{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"SQS:SendMessage\",\"Resource\":\"*\"}]}""#;
    let got = run(
        &setup,
        &[("/PolicyDocument", "NOT_EQUAL", Some(e), Some(a))],
    );
    assert_eq!(got[0]["ignored_by"], normalizer("policy-document"));
}

#[test]
fn ignore_rules_apply_to_what_cloudformation_reports() {
    let mut setup = sg();
    setup.ignore =
        rules("version: 1\nstacks: []\nignore:\n  - logical_id: Res\n    property: /Tags/**\n");
    let got = run(
        &setup,
        &[
            ("/Tags/0/Value", "NOT_EQUAL", Some("a"), Some("b")),
            ("/GroupName", "WHATEVER", Some("a"), Some("b")),
        ],
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/GroupName", "kind": "NOT_EQUAL", "expected": "a", "actual": "b", "ignored_by": null},
            {"property_path": "/Tags/0/Value", "kind": "NOT_EQUAL", "expected": "a", "actual": "b",
             "ignored_by": {"rule": {"reason": null, "line": 4, "column": 5}}},
        ])
    );
}

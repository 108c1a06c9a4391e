//! Tests of the comparison as a whole: regression cases for the known false
//! positives run as fixtures (`fixtures.rs`); here, the mechanics around
//! them, each asserting the exact differences.

mod cloudformation;
mod deep_noise;
mod fixtures;

use indexmap::IndexMap;
use serde_json::json;

use super::*;
use crate::config::Config;
use crate::template::Unresolved;
use crate::template::schema::SchemaFacts;

/// Property documents from JSON.
pub(super) fn props(j: serde_json::Value) -> IndexMap<String, Value> {
    match Value::from_json(&j) {
        Value::Map(m) => m,
        other => panic!("properties must be an object, not {}", other.describe()),
    }
}

/// The config's ignore rules, compiled as the config does.
pub(super) fn rules(yaml: &str) -> Vec<crate::config::Ignore> {
    Config::parse(yaml, "driftsync.yaml")
        .expect("test config is valid")
        .ignore
}

pub(super) struct Setup {
    pub type_name: String,
    pub mode: Mode,
    pub stack_tags: IndexMap<String, String>,
    pub ignore: Vec<crate::config::Ignore>,
}

impl Setup {
    pub fn new(type_name: &str, mode: Mode) -> Self {
        Setup {
            type_name: type_name.to_string(),
            mode,
            stack_tags: IndexMap::new(),
            ignore: Vec::new(),
        }
    }

    pub fn context(&self) -> Context<'_> {
        Context {
            schema: SchemaFacts::embedded(),
            stack_tags: &self.stack_tags,
            ignore: &self.ignore,
        }
    }

    pub fn compare(
        &self,
        expected: &IndexMap<String, Value>,
        actual: &IndexMap<String, Value>,
    ) -> Vec<Difference> {
        let input = ResourceInput {
            stack: "web",
            logical_id: "Res",
            type_name: &self.type_name,
            expected,
            actual,
            mode: self.mode,
            attached: &[],
        };
        compare(&input, &self.context())
    }

    /// The differences as JSON, which tells `"80"` from `80`.
    pub fn json(
        &self,
        expected: serde_json::Value,
        actual: serde_json::Value,
    ) -> serde_json::Value {
        serde_json::to_value(self.compare(&props(expected), &props(actual))).unwrap()
    }
}

fn deep(type_name: &str) -> Setup {
    Setup::new(type_name, Mode::Deep)
}

fn cfn(type_name: &str) -> Setup {
    Setup::new(type_name, Mode::CloudFormation)
}

fn normalizer(name: &str) -> serde_json::Value {
    json!({"normalizer": name})
}

#[test]
fn identical_properties_have_no_differences() {
    let doc = json!({"GroupDescription": "web", "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]});
    assert_eq!(
        deep("AWS::EC2::SecurityGroup").json(doc.clone(), doc),
        json!([])
    );
}

#[test]
fn cloudformation_mode_ignores_keys_only_live_and_deep_mode_reports_them() {
    let e = json!({"QueueName": "jobs"});
    let a = json!({"QueueName": "jobs", "RedrivePolicy": {"maxReceiveCount": 3}});
    assert_eq!(cfn("AWS::SQS::Queue").json(e.clone(), a.clone()), json!([]));
    assert_eq!(
        deep("AWS::SQS::Queue").json(e, a),
        json!([{"property_path": "/RedrivePolicy", "kind": "ADD", "expected": null,
                "actual": {"maxReceiveCount": 3}, "ignored_by": null}])
    );
}

#[test]
fn a_property_missing_live_is_a_remove() {
    let got = cfn("AWS::SQS::Queue").json(
        json!({"QueueName": "jobs", "DelaySeconds": 5}),
        json!({"QueueName": "jobs"}),
    );
    assert_eq!(
        got,
        json!([{"property_path": "/DelaySeconds", "kind": "REMOVE", "expected": 5, "actual": null, "ignored_by": null}])
    );
}

#[test]
fn read_only_and_write_only_properties_are_never_compared() {
    // Arn is read-only and Description write-only for SSM parameters.
    let got = deep("AWS::SSM::Parameter").json(
        json!({"Type": "String", "Value": "x", "Description": "set once"}),
        json!({"Type": "String", "Value": "x", "Arn": "arn:aws:ssm:us-east-1:111111111111:parameter/x"}),
    );
    assert_eq!(got, json!([]));
}

#[test]
fn a_changed_item_in_an_ordered_list_is_reported_at_its_index() {
    // CloudFront Aliases keep their order in the schema.
    let got = cfn("AWS::CloudFront::Distribution").json(
        json!({"DistributionConfig": {"Aliases": ["a.example.com", "b.example.com"]}}),
        json!({"DistributionConfig": {"Aliases": ["a.example.com", "c.example.com"]}}),
    );
    assert_eq!(
        got,
        json!([{"property_path": "/DistributionConfig/Aliases/1", "kind": "NOT_EQUAL",
                "expected": "b.example.com", "actual": "c.example.com", "ignored_by": null}])
    );
}

#[test]
fn a_change_inside_an_unordered_list_item_keeps_the_template_index() {
    // The role's inline policies are unordered; the changed one moved to
    // index 1 live, and pairs by PolicyName.
    let read = json!({"PolicyName": "read", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}});
    let write = json!({"PolicyName": "write", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}});
    let write_live = json!({"PolicyName": "write", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}});
    let got = cfn("AWS::IAM::Role").json(
        json!({"Policies": [write.clone(), read.clone()]}),
        json!({"Policies": [read, write_live.clone()]}),
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/Policies", "kind": "NOT_EQUAL",
             "expected": [write, json!({"PolicyName": "read", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}})],
             "actual": [json!({"PolicyName": "read", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}), write_live.clone()],
             "ignored_by": normalizer("unordered-list")},
            {"property_path": "/Policies/0/PolicyDocument", "kind": "NOT_EQUAL",
             "expected": {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]},
             "actual": write_live["PolicyDocument"], "ignored_by": null},
        ])
    );
}

#[test]
fn a_changed_tag_value_is_drift_at_the_tag() {
    let got = cfn("AWS::SQS::Queue").json(
        json!({"Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "data"}]}),
        json!({"Tags": [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "data"}]}),
    );
    assert_eq!(
        got,
        json!([{"property_path": "/Tags/0/Value", "kind": "NOT_EQUAL", "expected": "prod", "actual": "dev", "ignored_by": null}])
    );
}

#[test]
fn cloudformation_mode_compares_every_key_of_a_map_shaped_tag_property() {
    let got = cfn("AWS::SSM::Parameter").json(
        json!({"Type": "String", "Value": "x", "Tags": {"team": "web"}}),
        json!({"Type": "String", "Value": "x", "Tags": {"team": "web", "owner": "", "aws:cloudformation:logical-id": "P"}}),
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/Tags/aws:cloudformation:logical-id", "kind": "ADD", "expected": null, "actual": "P", "ignored_by": normalizer("aws-tags")},
            {"property_path": "/Tags/owner", "kind": "ADD", "expected": null, "actual": "", "ignored_by": null},
        ])
    );
}

#[test]
fn a_stack_tag_with_another_value_live_is_drift() {
    let mut setup = deep("AWS::SQS::Queue");
    setup.stack_tags.insert("env".into(), "prod".into());
    let got = setup.json(
        json!({"QueueName": "jobs"}),
        json!({"QueueName": "jobs", "Tags": [{"Key": "env", "Value": "dev"}]}),
    );
    assert_eq!(
        got,
        json!([{"property_path": "/Tags/0", "kind": "ADD", "expected": null, "actual": {"Key": "env", "Value": "dev"}, "ignored_by": null}])
    );
}

#[test]
fn empty_live_values_for_undeclared_properties_are_defaults() {
    let got = deep("AWS::SQS::Queue").json(
        json!({"QueueName": "jobs"}),
        json!({"QueueName": "jobs", "RedriveAllowPolicy": {}, "KmsMasterKeyId": ""}),
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/KmsMasterKeyId", "kind": "ADD", "expected": null, "actual": "", "ignored_by": normalizer("default-value")},
            {"property_path": "/RedriveAllowPolicy", "kind": "ADD", "expected": null, "actual": {}, "ignored_by": normalizer("default-value")},
        ])
    );
}

#[test]
fn a_non_default_value_for_an_undeclared_property_is_drift() {
    let got = deep("AWS::SQS::Queue").json(
        json!({"QueueName": "jobs"}),
        json!({"QueueName": "jobs", "VisibilityTimeout": 3600}),
    );
    assert_eq!(
        got,
        json!([{"property_path": "/VisibilityTimeout", "kind": "ADD", "expected": null, "actual": 3600, "ignored_by": null}])
    );
}

#[test]
fn a_template_value_equal_to_the_schema_default_may_be_missing_live() {
    // The IAM role schema declares Path "/" as its default.
    let got = cfn("AWS::IAM::Role").json(json!({"Path": "/"}), json!({}));
    assert_eq!(
        got,
        json!([{"property_path": "/Path", "kind": "REMOVE", "expected": "/", "actual": null, "ignored_by": normalizer("default-value")}])
    );
}

#[test]
fn a_number_given_as_a_decimal_string_equals_the_integer() {
    let got =
        cfn("AWS::CloudWatch::Alarm").json(json!({"Threshold": "1.0"}), json!({"Threshold": 1}));
    assert_eq!(
        got,
        json!([{"property_path": "/Threshold", "kind": "NOT_EQUAL", "expected": "1.0", "actual": 1, "ignored_by": normalizer("number-string")}])
    );
}

#[test]
fn a_case_change_in_an_ssm_parameter_value_is_drift() {
    let got = cfn("AWS::SSM::Parameter").json(
        json!({"Type": "String", "Value": "Primary"}),
        json!({"Type": "String", "Value": "primary"}),
    );
    assert_eq!(
        got,
        json!([{"property_path": "/Value", "kind": "NOT_EQUAL", "expected": "Primary", "actual": "primary", "ignored_by": null}])
    );
}

#[test]
fn a_protocol_change_is_drift_even_between_aliases() {
    let got = cfn("AWS::EC2::SecurityGroupIngress").json(
        json!({"IpProtocol": "6", "FromPort": 22, "ToPort": 22}),
        json!({"IpProtocol": "udp", "FromPort": 22, "ToPort": 22}),
    );
    assert_eq!(
        got,
        json!([{"property_path": "/IpProtocol", "kind": "NOT_EQUAL", "expected": "6", "actual": "udp", "ignored_by": null}])
    );
}

fn unresolved_sub(text: &str) -> Value {
    Value::unresolved(Unresolved::Expr {
        function: "Fn::Sub".into(),
        text: text.into(),
    })
}

#[test]
fn unresolved_template_values_are_suppressed_unless_their_text_rules_them_out() {
    let setup = deep("AWS::SSM::Parameter");
    let mut expected = props(json!({"Type": "String"}));
    expected.insert(
        "Name".into(),
        Value::unresolved(Unresolved::Ref("Name".into())),
    );
    expected.insert(
        "Value".into(),
        unresolved_sub("arn:aws:s3:::${Bucket}/data"),
    );
    expected.insert(
        "DataType".into(),
        Value::unresolved(Unresolved::Pseudo("AWS::Region".into())),
    );
    let actual =
        props(json!({"Type": "String", "Name": "/app/bucket", "Value": "arn:aws:s3:::other/logs"}));
    let got = serde_json::to_value(setup.compare(&expected, &actual)).unwrap();
    assert_eq!(
        got,
        json!([
            {"property_path": "/DataType", "kind": "REMOVE", "expected": {"Ref": "AWS::Region"}, "actual": null, "ignored_by": normalizer("unresolved")},
            {"property_path": "/Name", "kind": "NOT_EQUAL", "expected": {"Ref": "Name"}, "actual": "/app/bucket", "ignored_by": normalizer("unresolved")},
            {"property_path": "/Value", "kind": "NOT_EQUAL", "expected": {"Fn::Sub": "arn:aws:s3:::${Bucket}/data"}, "actual": "arn:aws:s3:::other/logs", "ignored_by": null},
        ])
    );
}

#[test]
fn an_unresolved_item_pairs_with_a_live_item_of_an_unordered_list() {
    let setup = deep("AWS::IAM::Role");
    let mut expected = IndexMap::new();
    expected.insert(
        "ManagedPolicyArns".to_string(),
        Value::List(vec![
            Value::String("arn:aws:iam::aws:policy/ReadOnlyAccess".into()),
            Value::unresolved(Unresolved::Ref("Boundary".into())),
        ]),
    );
    let actual = props(
        json!({"ManagedPolicyArns": ["arn:aws:iam::111111111111:policy/b", "arn:aws:iam::aws:policy/ReadOnlyAccess"]}),
    );
    let got = serde_json::to_value(setup.compare(&expected, &actual)).unwrap();
    assert_eq!(
        got,
        json!([
            {"property_path": "/ManagedPolicyArns", "kind": "NOT_EQUAL",
             "expected": ["arn:aws:iam::aws:policy/ReadOnlyAccess", {"Ref": "Boundary"}],
             "actual": ["arn:aws:iam::111111111111:policy/b", "arn:aws:iam::aws:policy/ReadOnlyAccess"],
             "ignored_by": normalizer("unordered-list")},
            {"property_path": "/ManagedPolicyArns/1", "kind": "NOT_EQUAL", "expected": {"Ref": "Boundary"},
             "actual": "arn:aws:iam::111111111111:policy/b", "ignored_by": normalizer("unresolved")},
        ])
    );
}

#[test]
fn ignore_rules_suppress_what_normalisers_leave_and_name_the_rule() {
    let mut setup = cfn("AWS::SQS::Queue");
    setup.ignore = rules(
        "version: 1\nstacks: []\nignore:\n  - type: AWS::SQS::*\n    property: /VisibilityTimeout\n    reason: tuned by the on-call runbook\n  - stack: other\n    property: /DelaySeconds\n",
    );
    let got = setup.json(
        json!({"VisibilityTimeout": 30, "DelaySeconds": 0, "MessageRetentionPeriod": "60"}),
        json!({"VisibilityTimeout": 600, "DelaySeconds": 5, "MessageRetentionPeriod": 60}),
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/DelaySeconds", "kind": "NOT_EQUAL", "expected": 0, "actual": 5, "ignored_by": null},
            {"property_path": "/MessageRetentionPeriod", "kind": "NOT_EQUAL", "expected": "60", "actual": 60, "ignored_by": normalizer("number-string")},
            {"property_path": "/VisibilityTimeout", "kind": "NOT_EQUAL", "expected": 30, "actual": 600,
             "ignored_by": {"rule": {"reason": "tuned by the on-call runbook", "line": 4, "column": 5}}},
        ])
    );
}

#[test]
fn drift_is_any_difference_nothing_suppressed() {
    let setup = cfn("AWS::SQS::Queue");
    let quiet = setup.compare(
        &props(json!({"DelaySeconds": "5"})),
        &props(json!({"DelaySeconds": 5})),
    );
    assert_eq!(quiet.len(), 1);
    assert!(!is_drifted(&quiet));
    let loud = setup.compare(
        &props(json!({"DelaySeconds": 5})),
        &props(json!({"DelaySeconds": 6})),
    );
    assert!(is_drifted(&loud));
    assert!(!is_drifted(&[]));
}

#[test]
fn differences_come_in_path_order_removals_first() {
    let got = cfn("AWS::EC2::SecurityGroup").compare(
        &props(json!({"SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "10.0.0.0/8"}], "GroupDescription": "a"})),
        &props(json!({"SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 81, "ToPort": 81, "CidrIp": "10.0.0.0/8"}], "GroupDescription": "b"})),
    );
    let order: Vec<(String, &str)> = got
        .iter()
        .map(|d| (d.property_path.to_string(), d.kind.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("/GroupDescription".to_string(), "NOT_EQUAL"),
            ("/SecurityGroupIngress/0".to_string(), "REMOVE"),
            ("/SecurityGroupIngress/0".to_string(), "ADD"),
        ]
    );
}

#[test]
fn unknown_types_and_odd_shapes_compare_without_panicking() {
    let setup = deep("Custom::Thing");
    let got = setup.json(
        json!({"A": [1, [2, {"B": null}]], "Tags": "not a list", "C": {"Statement": "x"}}),
        json!({"A": {"x": 1}, "Tags": [{"Key": "aws:x"}, 3], "C": "{\"Statement\": ["}),
    );
    assert_eq!(
        got,
        json!([
            {"property_path": "/A", "kind": "NOT_EQUAL", "expected": [1, [2, {"B": null}]], "actual": {"x": 1}, "ignored_by": null},
            {"property_path": "/C", "kind": "NOT_EQUAL", "expected": {"Statement": "x"}, "actual": "{\"Statement\": [", "ignored_by": null},
            {"property_path": "/Tags", "kind": "NOT_EQUAL", "expected": "not a list", "actual": [{"Key": "aws:x"}, 3], "ignored_by": null},
        ])
    );
}

#[test]
fn suppressions_serialise_as_documented() {
    let n = serde_json::to_value(Suppression::Normalizer("number-string")).unwrap();
    assert_eq!(n, json!({"normalizer": "number-string"}));
    let r = Suppression::Rule {
        reason: None,
        location: crate::doc::Location { line: 7, col: 3 },
    };
    assert_eq!(
        serde_json::to_value(r).unwrap(),
        json!({"rule": {"reason": null, "line": 7, "column": 3}})
    );
}

#[test]
fn normaliser_names_are_unique_and_kebab_case() {
    let mut names = normalize::NAMES.to_vec();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), normalize::NAMES.len());
    assert!(
        names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
    );
}

#[test]
fn a_large_unordered_list_pairs_twins_and_reports_each_changed_item() {
    let rule = |port: i64| json!({"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": "10.0.0.0/8"});
    let expected: Vec<_> = (0..3000).map(rule).collect();
    // Reversed, with the last 400 template rules replaced: 400 × 400 leftover
    // pairs exceed the comparison budget, so they pair by identity only (none).
    let mut actual: Vec<_> = (0..2600).rev().map(rule).collect();
    actual.extend((10_000..10_400).map(rule));
    let got = cfn("AWS::EC2::SecurityGroup").compare(
        &props(json!({"SecurityGroupIngress": expected})),
        &props(json!({"SecurityGroupIngress": actual})),
    );
    let count = |kind: DifferenceKind, suppressed: bool| {
        got.iter()
            .filter(|d| d.kind == kind && d.ignored_by.is_some() == suppressed)
            .count()
    };
    assert_eq!(count(DifferenceKind::Remove, false), 400);
    assert_eq!(count(DifferenceKind::Add, false), 400);
    assert_eq!(count(DifferenceKind::NotEqual, true), 1, "one reorder note");
    assert_eq!(got.len(), 801);
    assert_eq!(got[0].property_path.to_string(), "/SecurityGroupIngress");
    // Template rules 2600.. went; the new rules sit at the same live indexes.
    assert_eq!(
        got[1].property_path.to_string(),
        "/SecurityGroupIngress/2600"
    );
    assert_eq!(got[1].kind, DifferenceKind::Remove);
    assert_eq!(
        got[2].property_path.to_string(),
        "/SecurityGroupIngress/2600"
    );
    assert_eq!(got[2].kind, DifferenceKind::Add);
}

#[test]
fn deep_nesting_and_non_finite_numbers_are_compared_without_panicking() {
    let mut deep_e = Value::String("a".into());
    let mut deep_a = Value::String("b".into());
    for _ in 0..crate::doc::MAX_DEPTH {
        deep_e = Value::List(vec![deep_e]);
        deep_a = Value::List(vec![deep_a]);
    }
    let nan = Value::Number(crate::template::Number::Float(f64::NAN));
    let mut expected = IndexMap::new();
    expected.insert("Deep".to_string(), deep_e);
    expected.insert(String::new(), nan.clone());
    let mut actual = IndexMap::new();
    actual.insert("Deep".to_string(), deep_a);
    actual.insert(String::new(), nan);
    let got = deep("AWS::EC2::SecurityGroup").compare(&expected, &actual);
    let paths: Vec<String> = got.iter().map(|d| d.property_path.to_string()).collect();
    assert_eq!(paths.len(), 2);
    // The empty key sorts first and shows as "/".
    assert_eq!(paths[0], "/");
    assert_eq!(
        paths[1],
        format!("/Deep{}", "/0".repeat(crate::doc::MAX_DEPTH))
    );
    assert!(is_drifted(&got));
}

#[test]
fn secret_differences_are_masked_and_unknowable_ones_are_not_drift() {
    let setup = cfn("AWS::SSM::Parameter");
    let mut diffs = setup.compare(
        &props(json!({"Value": "committed-s3cret", "DataType": "{{resolve:secretsmanager:db:SecretString:pw}}", "Name": "n"})),
        &props(json!({"Value": "drifted-s3cret", "DataType": "the-live-pw", "Name": "m"})),
    );
    mask_secrets(&mut diffs, |p| p.to_string() == "/Value");
    let got = serde_json::to_value(&diffs).unwrap();
    assert_eq!(
        got,
        json!([
            {"property_path": "/DataType", "kind": "NOT_EQUAL", "expected": "(secret)", "actual": "(secret)",
             "ignored_by": normalizer("secret-reference"), "secret": true},
            {"property_path": "/Name", "kind": "NOT_EQUAL", "expected": "n", "actual": "m", "ignored_by": null},
            {"property_path": "/Value", "kind": "NOT_EQUAL", "expected": "(secret)", "actual": "(secret)",
             "ignored_by": null, "secret": true}
        ])
    );
}

use serde_json::json;

use super::*;
use crate::template::Template;
use crate::template::resolve::{Inputs, resolve};

fn desired(text: &str, params: &[(&str, &str)]) -> DesiredStack {
    let mut inputs = Inputs::default();
    inputs.pseudo.region = Some("us-east-1".into());
    for (k, v) in params {
        inputs.parameters.insert(k.to_string(), v.to_string());
    }
    resolve(&Template::parse(text).unwrap(), &inputs).unwrap()
}

fn diff(a: &str, b: &str) -> serde_json::Value {
    let d = diff_stacks(
        Some(&desired(a, &[])),
        Some(&desired(b, &[])),
        SchemaFacts::embedded(),
    );
    serde_json::to_value(d).unwrap()
}

const SG: &str = "Resources:\n  WebSg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: web\n      SecurityGroupIngress:\n        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 10.0.0.0/8}\n        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, CidrIp: 10.0.0.0/8}\n";

#[test]
fn identical_templates_have_no_changes() {
    assert!(
        diff_stacks(
            Some(&desired(SG, &[])),
            Some(&desired(SG, &[])),
            SchemaFacts::embedded()
        )
        .is_empty()
    );
}

#[test]
fn a_changed_port_is_reported_at_its_property_path() {
    let changed = SG.replace("FromPort: 443, ToPort: 443", "FromPort: 8443, ToPort: 443");
    // Security group rules are a set: the old rule left, the new one arrived.
    assert_eq!(
        diff(SG, &changed)["resources"][0]["properties"],
        json!([
            {"property_path": "/SecurityGroupIngress/0", "change": "REMOVE", "replacement": false, "to": null,
             "from": {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"}},
            {"property_path": "/SecurityGroupIngress/0", "change": "ADD", "replacement": false, "from": null,
             "to": {"IpProtocol": "tcp", "FromPort": 8443, "ToPort": 443, "CidrIp": "10.0.0.0/8"}}
        ])
    );
}

#[test]
fn reordering_an_unordered_list_is_no_change() {
    let reordered = "Resources:\n  WebSg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: web\n      SecurityGroupIngress:\n        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, CidrIp: 10.0.0.0/8}\n        - {IpProtocol: tcp, FromPort: '443', ToPort: 443, CidrIp: 10.0.0.0/8}\n";
    assert_eq!(diff(SG, reordered)["resources"], json!([]));
}

#[test]
fn ordered_lists_compare_by_position() {
    let a = "Resources:\n  Q:\n    Type: AWS::SSM::Parameter\n    Properties: {Type: StringList, Value: x, AllowedPattern: y, Tier: Standard, Policies: p, DataType: text, Description: d, Name: n, Tags: {a: b}}\n";
    let b = a.replace("Value: x", "Value: z");
    assert_eq!(
        diff(a, &b)["resources"][0]["properties"],
        json!([{"property_path": "/Value", "change": "MODIFY", "from": "x", "to": "z", "replacement": false}])
    );
}

#[test]
fn create_only_changes_are_marked_as_replacements() {
    let b = SG.replace("GroupDescription: web", "GroupDescription: web servers");
    let d = diff(SG, &b);
    assert_eq!(d["resources"][0]["replacement"], json!(true));
    assert_eq!(
        d["resources"][0]["properties"][0]["property_path"],
        json!("/GroupDescription")
    );
}

#[test]
fn resources_added_removed_and_retyped() {
    let a = "Resources:\n  A: {Type: AWS::SNS::Topic}\n  B: {Type: AWS::SQS::Queue}\n";
    let b = "Resources:\n  B: {Type: AWS::SNS::Topic}\n  C: {Type: AWS::SQS::Queue}\n";
    let d = diff(a, b);
    let summary: Vec<_> = d["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r["change"].as_str().unwrap(),
                r["logical_id"].as_str().unwrap(),
                r["replacement"]
            )
        })
        .collect();
    assert_eq!(summary, ["REMOVE A false", "MODIFY B true", "ADD C false"]);
    assert_eq!(d["resources"][1]["previous_type"], json!("AWS::SQS::Queue"));
}

#[test]
fn parameter_changes_mask_no_echo_values() {
    let t = "Parameters:\n  Env: {Type: String}\n  Secret: {Type: String, NoEcho: true}\nResources:\n  T: {Type: AWS::SNS::Topic, Properties: {TopicName: !Ref Env}}\n";
    let d = diff_stacks(
        Some(&desired(t, &[("Env", "dev"), ("Secret", "a")])),
        Some(&desired(t, &[("Env", "prod"), ("Secret", "b")])),
        SchemaFacts::embedded(),
    );
    let d = serde_json::to_value(d).unwrap();
    assert_eq!(
        d["parameters"],
        json!([
            {"name": "Env", "change": "MODIFY", "from": "dev", "to": "prod"},
            {"name": "Secret", "change": "MODIFY", "from": "****", "to": "****"}
        ])
    );
    assert_eq!(d["resources"][0]["properties"][0]["to"], json!("prod"));
}

#[test]
fn deletion_policy_changes_are_attribute_changes() {
    let a = "Resources:\n  B: {Type: AWS::S3::Bucket}\n";
    let b = "Resources:\n  B: {Type: AWS::S3::Bucket, DeletionPolicy: Retain}\n";
    assert_eq!(
        diff(a, b)["resources"][0]["attributes"],
        json!([{"name": "DeletionPolicy", "change": "ADD", "from": null, "to": "Retain"}])
    );
}

/// A launch configuration whose `Metadata` cfn-init reads, and a group
/// with creation and update policies.
const LAUNCH_CONFIG: &str = concat!(
    include_str!("../../../tests/fixtures/templates/launch-config-cfn-init.yaml"),
    "  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    CreationPolicy:
      ResourceSignal: {Timeout: PT15M}
    UpdatePolicy:
      AutoScalingRollingUpdate: {MinInstancesInService: 1, MaxBatchSize: 1, PauseTime: PT15M}
    Properties:
      LaunchConfigurationName: !Ref LaunchConfig
      MinSize: '1'
      MaxSize: '2'
      AvailabilityZones: !GetAZs ''
Outputs:
  Group:
    Value: !Ref Group
",
);

#[test]
fn metadata_creation_and_update_policies_are_changes_with_their_paths() {
    let b = LAUNCH_CONFIG
        .replace("httpd: []", "httpd: []\n              nginx: []")
        .replace("PT15M}\n    UpdatePolicy", "PT30M}\n    UpdatePolicy")
        .replace("MaxBatchSize: 1,", "MaxBatchSize: 2,");
    let d = diff(LAUNCH_CONFIG, &b);
    assert_eq!(
        d["resources"][0]["attributes"],
        json!([{
            "name": "Metadata",
            "attribute_path": "/AWS::CloudFormation::Init/config/packages/yum/nginx",
            "change": "ADD", "from": null, "to": []
        }])
    );
    assert_eq!(d["resources"][0]["properties"], json!([]));
    assert_eq!(
        d["resources"][1]["attributes"],
        json!([
            {"name": "CreationPolicy", "attribute_path": "/ResourceSignal/Timeout",
             "change": "MODIFY", "from": "PT15M", "to": "PT30M"},
            {"name": "UpdatePolicy", "attribute_path": "/AutoScalingRollingUpdate/MaxBatchSize",
             "change": "MODIFY", "from": 1, "to": 2}
        ])
    );
}

#[test]
fn a_whole_attribute_added_or_removed_and_outputs_and_transform_are_changes() {
    let b = LAUNCH_CONFIG
        .replace(
            "    Metadata:\n      Comment: Install a simple application\n",
            "    Metadata:\n",
        )
        .replace(
            "Outputs:\n  Group:\n    Value: !Ref Group\n",
            "Outputs:\n  Name:\n    Value: !Ref LaunchConfig\n",
        );
    let b = format!("Transform: AWS::LanguageExtensions\n{b}");
    let d = diff(LAUNCH_CONFIG, &b);
    assert_eq!(
        d["resources"][0]["attributes"],
        json!([{"name": "Metadata", "attribute_path": "/Comment", "change": "REMOVE",
                "from": "Install a simple application", "to": null}])
    );
    assert_eq!(
        d["transform"],
        json!({"name": "Transform", "change": "ADD", "from": null, "to": ["AWS::LanguageExtensions"]})
    );
    assert_eq!(d["outputs"].as_array().map(Vec::len), Some(2));
    let none = LAUNCH_CONFIG.replace("    UpdatePolicy:\n      AutoScalingRollingUpdate: {MinInstancesInService: 1, MaxBatchSize: 1, PauseTime: PT15M}\n", "");
    assert_eq!(
        diff(LAUNCH_CONFIG, &none)["resources"][0]["attributes"][0]["change"],
        json!("REMOVE")
    );
}

/// A VPC template's subnet and route table association, and more that
/// names the subnet.
const SUBNET: &str = concat!(
    include_str!("../../../tests/fixtures/templates/subnet-association.yaml"),
    "  Nacl:
    Type: AWS::EC2::SubnetNetworkAclAssociation
    Properties:
      SubnetId: !GetAtt Subnet.SubnetId
      NetworkAclId: acl-123
  Endpoint:
    Type: AWS::EC2::VPCEndpoint
    Properties:
      VpcId: !Ref Vpc
      ServiceName: com.amazonaws.us-east-1.s3
      SubnetIds: [!Ref Subnet]
",
);

#[test]
fn a_replaced_resource_changes_and_replaces_what_names_it() {
    let b = SUBNET.replace("us-east-1a", "us-east-1b");
    let d = diff(SUBNET, &b);
    let by_id = |id: &str| {
        d["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["logical_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} missing: {d:#}"))
    };
    assert_eq!(by_id("Subnet")["replacement"], true);
    let assoc = by_id("Association");
    assert_eq!(assoc["replacement"], true, "{assoc:#}");
    assert_eq!(
        assoc["properties"][0]["caused_by"],
        json!({"logical_id": "Subnet", "reason": "SubnetId changes because Subnet is replaced"})
    );
    assert_eq!(by_id("Nacl")["properties"][0]["property_path"], "/SubnetId");
    // SubnetIds can be updated in place: the endpoint changes, not replaced.
    let endpoint = by_id("Endpoint");
    assert_eq!(endpoint["replacement"], false, "{endpoint:#}");
    assert_eq!(endpoint["properties"][0]["property_path"], "/SubnetIds");
    // Nothing names the route table's dependents' replacement chain back.
    assert!(
        d["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["logical_id"] != "RouteTable")
    );
}

#[test]
fn propagation_follows_a_chain_of_replacements() {
    // Replacing the VPC replaces the subnet (VpcId is create-only), which
    // replaces the association.
    let b = SUBNET.replace("CidrBlock: 10.0.0.0/16", "CidrBlock: 10.1.0.0/16");
    let d = diff(SUBNET, &b);
    let replaced: Vec<&str> = d["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["replacement"] == true)
        .map(|r| r["logical_id"].as_str().unwrap())
        .collect();
    for id in ["Vpc", "Subnet", "RouteTable", "Association"] {
        assert!(replaced.contains(&id), "{id} in {replaced:?}");
    }
}

#[test]
fn a_property_built_from_a_secret_shows_as_secret_on_both_sides() {
    let t = "Parameters:\n  Token: {Type: String, NoEcho: true}\nResources:\n  P:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Type: String\n      Value: !Sub 'key=${Token}'\n      Description: plain\n";
    let d = diff_stacks(
        Some(&desired(t, &[("Token", "old-secret-1")])),
        Some(&desired(
            &t.replace("plain", "changed"),
            &[("Token", "new-secret-2")],
        )),
        SchemaFacts::embedded(),
    );
    let text = serde_json::to_string(&d).unwrap();
    assert!(
        !text.contains("secret-1") && !text.contains("secret-2"),
        "{text}"
    );
    let props = serde_json::to_value(&d).unwrap()["resources"][0]["properties"].clone();
    assert_eq!(
        props,
        json!([
            {"property_path": "/Value", "change": "MODIFY", "from": "(secret)", "to": "(secret)", "replacement": false},
            {"property_path": "/Description", "change": "MODIFY", "from": "plain", "to": "changed", "replacement": false}
        ])
    );
}

//! `check --deep` on stacks nobody touched is quiet, across every resource
//! type the test bed can deploy; a real out-of-band change on each is still
//! reported; after `sync`, no deep drift persists.

use serde_json::{Value, json};

use crate::check::driftsync_as;
use crate::support::TestRepo;
use crate::support::emulator::{Account, deploy_stack, emulator};

/// A sparse template, as people write them: names, VPCs and most settings
/// left to AWS; rules and policies attached by their own resources.
const ALL_TYPES: &str = r#"AWSTemplateFormatVersion: '2010-09-09'
Resources:
  WebSG:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: web tier
  HttpsIn:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !GetAtt WebSG.GroupId
      IpProtocol: tcp
      FromPort: 443
      ToPort: 443
      CidrIp: 10.0.0.0/8
  DnsOut:
    Type: AWS::EC2::SecurityGroupEgress
    Properties:
      GroupId: !GetAtt WebSG.GroupId
      IpProtocol: udp
      FromPort: 53
      ToPort: 53
      CidrIp: 10.0.0.2/32
  Queue:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: 'on'}
  Logs:
    Type: AWS::Logs::LogGroup
  Bucket:
    Type: AWS::S3::Bucket
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Deny
            Principal: '*'
            Action: 's3:*'
            Resource: !Sub 'arn:aws:s3:::${Bucket}/*'
            Condition: {Bool: {'aws:SecureTransport': 'false'}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: 'sts:AssumeRole'}]
  RolePolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: read-objects
      Roles: [!Ref Role]
      PolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Action: 's3:GetObject', Resource: '*'}]
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: {ZipFile: "def handler(event, context):\n    return 1\n"}
"#;

const CONFIG: &str = "version: 1\ndefaults:\n  region: us-east-1\nstacks:\n  - name: all\n    template: stacks/all.yaml\n";

/// Every resource type the test bed reads through Cloud Control.
const TYPES: &[&str] = &[
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::SSM::Parameter",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::DynamoDB::Table",
    "AWS::IAM::Role",
    "AWS::Lambda::Function",
];

fn deployed() -> (Account, TestRepo) {
    let account = emulator().new_account();
    let repo = TestRepo::new();
    repo.write("driftsync.yaml", CONFIG)
        .write("stacks/all.yaml", ALL_TYPES);
    repo.commit("every type");
    deploy_stack(&account, "all", ALL_TYPES, &[]);
    (account, repo)
}

fn deep(account: &Account, repo: &TestRepo) -> (Value, String, i32) {
    let (out, err, code) = driftsync_as(
        account,
        repo.path(),
        &["check", "--deep", "--show-ignored", "-o", "json"],
    );
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (v, out, code)
}

/// `logical id path` of every difference that counts as drift.
fn drift(v: &Value) -> Vec<String> {
    v["stacks"][0]["drift"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let id = r["logical_id"].as_str().unwrap().to_string();
            r["differences"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["ignored_by"].is_null())
                .map(move |d| format!("{id} {}", d["property_path"].as_str().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn deep_check_of_an_untouched_stack_of_every_type_reports_no_drift() {
    let (account, repo) = deployed();
    let (v, out, code) = deep(&account, &repo);
    assert_eq!(drift(&v), Vec::<String>::new(), "{out}");
    assert_eq!(code, 0, "{out}");
    // An IN_SYNC resource with nothing to show is left out of the report;
    // every one was read (the test bed's Cloud Control cannot read
    // AWS::IAM::Policy, which CloudFormation reports as NOT_CHECKED too).
    for r in v["stacks"][0]["drift"].as_array().unwrap() {
        let want = if r["type"] == "AWS::IAM::Policy" {
            "NOT_CHECKED"
        } else {
            "IN_SYNC"
        };
        assert_eq!(r["status"], want, "{r}");
    }
    let reads = v["stats"]["api_calls"]["GetResource"]
        .as_u64()
        .unwrap_or_default();
    assert!(reads as usize > TYPES.len(), "{out}");
}

/// Each resource's physical id, by logical id.
fn physical_ids(account: &Account) -> std::collections::HashMap<String, String> {
    let v = emulator().boto3(
        account,
        "cloudformation",
        "list_stack_resources",
        json!({"StackName": "all"}),
    );
    v["StackResourceSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["LogicalResourceId"].as_str().unwrap().to_string(),
                r["PhysicalResourceId"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_real_out_of_band_change_on_each_type_is_still_reported() {
    let (account, repo) = deployed();
    let id = physical_ids(&account);
    let ssh = json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]);
    let open_read = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{}/*", id["Bucket"])}]});
    let changes = [
        (
            "HttpsIn",
            "ec2",
            "revoke_security_group_ingress",
            json!({"GroupId": id["WebSG"], "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]}),
        ),
        (
            "DnsOut",
            "ec2",
            "revoke_security_group_egress",
            json!({"GroupId": id["WebSG"], "IpPermissions": [{"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "10.0.0.2/32"}]}]}),
        ),
        (
            "WebSG",
            "ec2",
            "authorize_security_group_ingress",
            json!({"GroupId": id["WebSG"], "IpPermissions": ssh}),
        ),
        (
            "Queue",
            "sqs",
            "set_queue_attributes",
            json!({"QueueUrl": id["Queue"], "Attributes": {"VisibilityTimeout": "120"}}),
        ),
        (
            "Topic",
            "sns",
            "set_topic_attributes",
            json!({"TopicArn": id["Topic"], "AttributeName": "DisplayName", "AttributeValue": "paged"}),
        ),
        (
            "Param",
            "ssm",
            "put_parameter",
            json!({"Name": id["Param"], "Value": "off", "Overwrite": true}),
        ),
        (
            "Logs",
            "logs",
            "put_retention_policy",
            json!({"logGroupName": id["Logs"], "retentionInDays": 30}),
        ),
        (
            "Bucket",
            "s3",
            "put_bucket_versioning",
            json!({"Bucket": id["Bucket"], "VersioningConfiguration": {"Status": "Enabled"}}),
        ),
        (
            "BucketPolicy",
            "s3",
            "put_bucket_policy",
            json!({"Bucket": id["Bucket"], "Policy": open_read.to_string()}),
        ),
        (
            "Table",
            "dynamodb",
            "update_table",
            json!({"TableName": id["Table"], "BillingMode": "PROVISIONED", "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}),
        ),
        (
            "Role",
            "iam",
            "update_role",
            json!({"RoleName": id["Role"], "MaxSessionDuration": 7200}),
        ),
        (
            "Fn",
            "lambda",
            "update_function_configuration",
            json!({"FunctionName": id["Fn"], "Timeout": 30}),
        ),
    ];
    for (_, service, operation, params) in &changes {
        emulator().boto3(&account, service, operation, params.clone());
    }
    let (v, out, code) = deep(&account, &repo);
    assert_eq!(code, 2, "{out}");
    let mut found = drift(&v);
    found.extend(
        v["stacks"][0]["drift"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "DELETED")
            .map(|r| format!("{} DELETED", r["logical_id"].as_str().unwrap())),
    );
    for (logical_id, ..) in &changes {
        assert!(
            found
                .iter()
                .any(|d| d.split(' ').next() == Some(*logical_id)),
            "{logical_id} not reported: {found:?}"
        );
    }
}

#[test]
fn after_a_sync_no_deep_drift_persists_and_plan_words_agree_with_its_exit_code() {
    let (account, repo) = deployed();
    let changed = ALL_TYPES.replace(
        "  Queue:\n    Type: AWS::SQS::Queue\n",
        "  Queue:\n    Type: AWS::SQS::Queue\n    Properties: {VisibilityTimeout: 120}\n",
    );
    assert_ne!(changed, ALL_TYPES);
    repo.write("stacks/all.yaml", &changed);
    repo.commit("a longer visibility timeout");
    let (out, err, code) = driftsync_as(&account, repo.path(), &["sync", "--deep", "--apply"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("Changed: 1 step applied in 1 stack (all)."),
        "{out}\n{err}"
    );

    let (v, out, code) = deep(&account, &repo);
    assert_eq!(drift(&v), Vec::<String>::new(), "{out}");
    assert_eq!(code, 0, "{out}");
    let (out, err, code) = driftsync_as(&account, repo.path(), &["plan", "--deep"]);
    assert!(out.contains("Nothing to do."), "{out}\n{err}");
    assert_eq!(code, 0, "{out}\n{err}");

    // Drift the policy only reports: not "Nothing to do.", and exit 2.
    let id = physical_ids(&account);
    emulator().boto3(
        &account,
        "sqs",
        "set_queue_attributes",
        json!({"QueueUrl": id["Queue"], "Attributes": {"DelaySeconds": "5"}}),
    );
    let (out, err, code) = driftsync_as(&account, repo.path(), &["plan", "--deep"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(!out.contains("Nothing to do."), "{out}");
    assert!(
        out.contains("No steps: 1 difference left as they are by the policy"),
        "{out}"
    );
}

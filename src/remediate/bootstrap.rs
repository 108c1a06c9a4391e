//! `driftsync bootstrap`: the AWS-native half of the design, as one
//! CloudFormation stack per region. It holds the SSM runbooks driftsync
//! reverts with, their role, the managed Config rule
//! CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK (with a role that can detect
//! drift on exactly the types in the config), a process-check rule that
//! `sync` publishes its verdicts to, and optionally an automatic Config
//! remediation. This file only builds the template; deploying it is a change
//! set like any other.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::template::schema::SchemaFacts;

/// The bootstrap stack's name.
pub const STACK_NAME: &str = "driftsync-bootstrap";
/// The Config rule that runs CloudFormation drift detection.
pub use crate::live::DRIFT_RULE;
/// The process-check rule `sync` publishes its verdicts to.
pub const VERDICT_RULE: &str = "driftsync-in-sync";
/// The runbook that reverts one stack's drift with a REVERT_DRIFT change set.
pub const STACK_RUNBOOK_NAME: &str = "driftsync-RevertStackDrift";

/// What to put in the bootstrap stack.
#[derive(Debug, Clone, Default)]
pub struct BootstrapOptions {
    /// Resource types of the stacks in the config: their permissions (from
    /// the resource schemas) go into the roles, and nothing else does.
    pub resource_types: BTreeSet<String>,
    /// Limit the drift rule to stacks with this tag (key, value).
    pub scope_tag: Option<(String, String)>,
    /// Let Config revert drifted stacks automatically (REVERT_DRIFT).
    pub auto_remediate: bool,
}

/// The runbook that reverts a whole stack's drift through a REVERT_DRIFT
/// change set: what Config's automatic remediation runs.
pub const STACK_RUNBOOK: &str = r#"schemaVersion: '0.3'
description: >-
  driftsync: revert a stack's drift with a REVERT_DRIFT change set on its deployed template
  (resources keep their identity; replacements are refused by CloudFormation's REVERT_DRIFT rules).
assumeRole: '{{ AutomationAssumeRole }}'
parameters:
  AutomationAssumeRole:
    type: String
    default: ''
  StackId:
    type: String
    description: The stack's ARN (Config passes RESOURCE_ID).
mainSteps:
  - name: CreateChangeSet
    action: aws:executeAwsApi
    inputs:
      Service: cloudformation
      Api: CreateChangeSet
      StackName: '{{ StackId }}'
      ChangeSetName: 'driftsync-revert-{{ automation:EXECUTION_ID }}'
      UsePreviousTemplate: true
      DeploymentMode: REVERT_DRIFT
      Capabilities: [CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND]
    outputs:
      - Name: ChangeSetId
        Selector: $.Id
        Type: String
  - name: WaitForChangeSet
    action: aws:waitForAwsResourceProperty
    timeoutSeconds: 600
    inputs:
      Service: cloudformation
      Api: DescribeChangeSet
      ChangeSetName: '{{ CreateChangeSet.ChangeSetId }}'
      PropertySelector: $.Status
      DesiredValues: [CREATE_COMPLETE]
  - name: Execute
    action: aws:executeAwsApi
    inputs:
      Service: cloudformation
      Api: ExecuteChangeSet
      ChangeSetName: '{{ CreateChangeSet.ChangeSetId }}'
  - name: WaitForStack
    action: aws:waitForAwsResourceProperty
    timeoutSeconds: 3600
    inputs:
      Service: cloudformation
      Api: DescribeStacks
      StackName: '{{ StackId }}'
      PropertySelector: $.Stacks[0].StackStatus
      DesiredValues: [UPDATE_COMPLETE]
    isEnd: true
"#;

fn document(yaml: &str) -> Value {
    crate::doc::parse(yaml, crate::doc::Format::Yaml)
        .map(|n| n.to_json())
        .unwrap_or(Value::Null)
}

fn trust(service: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
}

/// The permissions the schemas list for these handlers of these types.
fn handler_permissions(types: &BTreeSet<String>, handlers: &[&str]) -> Vec<String> {
    SchemaFacts::embedded()
        .handler_permissions(types, handlers)
        .into_iter()
        .collect()
}

/// The bootstrap template (JSON).
pub fn template(opts: &BootstrapOptions) -> Value {
    let read = handler_permissions(&opts.resource_types, &["read"]);
    let update = handler_permissions(&opts.resource_types, &["read", "update"]);
    let mut automation_actions = vec![
        "cloudformation:UpdateResource",
        "cloudformation:GetResource",
        "cloudformation:GetResourceRequestStatus",
        "cloudformation:CreateChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DescribeStackResourceDrifts",
        "cloudformation:GetTemplate",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    automation_actions.extend(update);
    let mut detect_actions = vec![
        "cloudformation:DetectStackDrift",
        "cloudformation:DetectStackResourceDrift",
        "cloudformation:DescribeStackDriftDetectionStatus",
        "cloudformation:DescribeStackResourceDrifts",
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackResources",
        "cloudformation:ListStackResources",
        "cloudformation:GetTemplate",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    detect_actions.extend(read);
    let mut scope = json!({"ComplianceResourceTypes": ["AWS::CloudFormation::Stack"]});
    if let Some((k, v)) = &opts.scope_tag {
        scope["TagKey"] = json!(k);
        scope["TagValue"] = json!(v);
    }
    let mut resources = json!({
        "RevertPropertiesRunbook": {"Type": "AWS::SSM::Document", "Properties": {
            "Name": super::RUNBOOK_NAME, "DocumentType": "Automation", "DocumentFormat": "YAML",
            "UpdateMethod": "NewVersion", "Content": document(super::RUNBOOK)}},
        "RevertStackDriftRunbook": {"Type": "AWS::SSM::Document", "Properties": {
            "Name": STACK_RUNBOOK_NAME, "DocumentType": "Automation", "DocumentFormat": "YAML",
            "UpdateMethod": "NewVersion", "Content": document(STACK_RUNBOOK)}},
        "AutomationRole": {"Type": "AWS::IAM::Role", "Properties": {
            "Description": "driftsync runbooks: patch drifted properties through Cloud Control, or revert a stack's drift",
            "AssumeRolePolicyDocument": trust("ssm.amazonaws.com"),
            "Policies": [{"PolicyName": "driftsync-revert", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": automation_actions, "Resource": "*"}]}}]}},
        "DriftDetectionRole": {"Type": "AWS::IAM::Role", "Properties": {
            "Description": "AWS Config runs CloudFormation drift detection as this role",
            "AssumeRolePolicyDocument": trust("config.amazonaws.com"),
            "Policies": [{"PolicyName": "driftsync-detect", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": detect_actions, "Resource": "*"}]}}]}},
        "StackDriftRule": {"Type": "AWS::Config::ConfigRule", "Properties": {
            "ConfigRuleName": DRIFT_RULE,
            "Description": "CloudFormation drift detection on the stacks driftsync keeps in sync",
            "Source": {"Owner": "AWS", "SourceIdentifier": "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK"},
            "InputParameters": {"cloudformationRoleArn": {"Fn::GetAtt": ["DriftDetectionRole", "Arn"]}},
            "Scope": scope,
            "MaximumExecutionFrequency": "One_Hour"}},
        "VerdictRule": {"Type": "AWS::Config::ConfigRule", "Properties": {
            "ConfigRuleName": VERDICT_RULE,
            "Description": "driftsync's verdict per stack, published by `driftsync sync` (PutExternalEvaluation)",
            "Source": {"Owner": "AWS", "SourceIdentifier": "AWS_CONFIG_PROCESS_CHECK"},
            "Scope": {"ComplianceResourceTypes": ["AWS::CloudFormation::Stack"]}}},
    });
    if opts.auto_remediate {
        resources["AutoRemediation"] = json!({"Type": "AWS::Config::RemediationConfiguration", "Properties": {
            "ConfigRuleName": {"Ref": "StackDriftRule"},
            "TargetType": "SSM_DOCUMENT",
            "TargetId": {"Ref": "RevertStackDriftRunbook"},
            "Automatic": true,
            "MaximumAutomaticAttempts": 3,
            "RetryAttemptSeconds": 600,
            "Parameters": {
                "AutomationAssumeRole": {"StaticValue": {"Values": [{"Fn::GetAtt": ["AutomationRole", "Arn"]}]}},
                "StackId": {"ResourceValue": {"Value": "RESOURCE_ID"}}}}});
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "driftsync bootstrap: SSM runbooks, their role, and AWS Config drift detection for the stacks in driftsync.yaml",
        "Resources": resources,
        "Outputs": {
            "AutomationRoleArn": {"Value": {"Fn::GetAtt": ["AutomationRole", "Arn"]}},
            "DriftRule": {"Value": {"Ref": "StackDriftRule"}},
            "VerdictRule": {"Value": {"Ref": "VerdictRule"}},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Template;

    #[test]
    fn the_template_is_a_valid_cloudformation_template_with_both_runbooks() {
        let opts = BootstrapOptions {
            resource_types: ["AWS::EC2::SecurityGroup".to_string()].into(),
            ..Default::default()
        };
        let t = template(&opts);
        let parsed = Template::parse(&serde_json::to_string(&t).unwrap()).unwrap();
        let findings = crate::template::validate::check_template(&parsed, SchemaFacts::embedded());
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(
            t["Resources"]["RevertPropertiesRunbook"]["Properties"]["Content"]["mainSteps"][0]["inputs"]
                ["Api"],
            "UpdateResource"
        );
        assert!(t["Resources"].get("AutoRemediation").is_none());
    }

    #[test]
    fn roles_get_the_permissions_of_exactly_the_types_in_the_config() {
        let opts = BootstrapOptions {
            resource_types: ["AWS::EC2::SecurityGroup".to_string()].into(),
            ..Default::default()
        };
        let t = template(&opts);
        let actions = t["Resources"]["AutomationRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"].to_string();
        assert!(
            actions.contains("ec2:AuthorizeSecurityGroupIngress"),
            "{actions}"
        );
        assert!(!actions.contains("s3:PutBucketPolicy"), "{actions}");
    }

    #[test]
    fn automatic_remediation_and_a_tag_scope_are_optional() {
        let opts = BootstrapOptions {
            auto_remediate: true,
            scope_tag: Some(("managed-by".into(), "driftsync".into())),
            ..Default::default()
        };
        let t = template(&opts);
        assert_eq!(
            t["Resources"]["AutoRemediation"]["Properties"]["TargetId"],
            json!({"Ref": "RevertStackDriftRunbook"})
        );
        assert_eq!(
            t["Resources"]["StackDriftRule"]["Properties"]["Scope"]["TagKey"],
            "managed-by"
        );
    }
}

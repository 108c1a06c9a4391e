"""The design's Config + SSM loop, end to end through boto3.

A stack's security group allows 443 from 10.0.0.0/8. Out of band, an IAM user
(mallory, her own access key) opens 22 to the world. The managed rule
CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK evaluates the stack NON_COMPLIANT;
its automatic RemediationConfiguration runs an SSM Automation document that
reads the drift, branches on it, and removes exactly the added rule with a
Cloud Control RFC 6902 patch; the automation succeeds; re-evaluation is
COMPLIANT; the group keeps its id and its other rule; CloudTrail names mallory
as the one who opened the port, and the remediation role as the one who closed it."""

from __future__ import annotations

import json

from .conftest import physical_ids, wait_for
from .templates import SEED

TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"%s"},"Action":"sts:AssumeRole"}]}'
OPEN_SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}

REVERT_DOCUMENT = """
description: Revert an added security group rule that drift detection reported, through Cloud Control.
schemaVersion: '0.3'
assumeRole: '{{ AutomationAssumeRole }}'
parameters:
  AutomationAssumeRole: {type: String}
  StackId: {type: String}
outputs: [Revert.RequestToken, GetDrift.Path]
mainSteps:
- name: GetDrift
  action: aws:executeAwsApi
  inputs:
    Service: cloudformation
    Api: DescribeStackResourceDrifts
    StackName: '{{ StackId }}'
    StackResourceDriftStatusFilters: [MODIFIED]
  outputs:
  - {Name: GroupId, Selector: '$.StackResourceDrifts[0].PhysicalResourceId', Type: String}
  - {Name: ResourceType, Selector: '$.StackResourceDrifts[0].ResourceType', Type: String}
  - {Name: Path, Selector: '$.StackResourceDrifts[0].PropertyDifferences[0].PropertyPath', Type: String}
  - {Name: Difference, Selector: '$.StackResourceDrifts[0].PropertyDifferences[0].DifferenceType', Type: String}
- name: Choose
  action: aws:branch
  inputs:
    Choices:
    - NextStep: Revert
      And:
      - {Variable: '{{ GetDrift.ResourceType }}', StringEquals: 'AWS::EC2::SecurityGroup'}
      - {Variable: '{{ GetDrift.Difference }}', StringEquals: ADD}
    Default: Unsupported
- name: Revert
  action: aws:executeAwsApi
  inputs:
    Service: cloudcontrol
    Api: UpdateResource
    TypeName: 'AWS::EC2::SecurityGroup'
    Identifier: '{{ GetDrift.GroupId }}'
    PatchDocument: '[{"op": "remove", "path": "{{ GetDrift.Path }}"}]'
  outputs:
  - {Name: RequestToken, Selector: $.ProgressEvent.RequestToken, Type: String}
  - {Name: Status, Selector: $.ProgressEvent.OperationStatus, Type: String}
- name: Settle
  action: aws:sleep
  inputs: {Duration: PT5S}
- name: Verify
  action: aws:waitForAwsResourceProperty
  timeoutSeconds: 600
  inputs:
    Service: cloudcontrol
    Api: GetResourceRequestStatus
    RequestToken: '{{ Revert.RequestToken }}'
    PropertySelector: $.ProgressEvent.OperationStatus
    DesiredValues: [SUCCESS]
  isEnd: true
- name: Unsupported
  action: aws:assertAwsResourceProperty
  inputs:
    Service: cloudformation
    Api: DescribeStackResourceDrifts
    StackName: '{{ StackId }}'
    PropertySelector: '$.StackResourceDrifts[0].StackResourceDriftStatus'
    DesiredValues: [IN_SYNC]
"""


def ingress(ec2, group_id):
    perms = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]
    return sorted((p["IpProtocol"], p["FromPort"], r["CidrIp"]) for p in perms for r in p["IpRanges"])


def evaluate(config, rule, stack_id):
    """StartConfigRulesEvaluation, then wait for this evaluation's result for the stack."""
    before = config.describe_config_rule_evaluation_status(ConfigRuleNames=[rule])["ConfigRulesEvaluationStatus"][0]
    config.start_config_rules_evaluation(ConfigRuleNames=[rule])

    def finished():
        st = config.describe_config_rule_evaluation_status(ConfigRuleNames=[rule])["ConfigRulesEvaluationStatus"][0]
        return st.get("LastSuccessfulEvaluationTime") not in (None, before.get("LastSuccessfulEvaluationTime"))

    wait_for(finished)
    [result] = config.get_compliance_details_by_config_rule(ConfigRuleName=rule)["EvaluationResults"]
    assert result["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"] == stack_id
    return result["ComplianceType"]


def test_config_rule_and_automatic_ssm_remediation_revert_out_of_band_ingress(fast):
    aws = fast
    cf, ec2, iam = aws.client("cloudformation"), aws.client("ec2"), aws.client("iam")
    ssm, config, trail = aws.client("ssm"), aws.client("config"), aws.client("cloudtrail")
    stack_id = cf.create_stack(StackName="web", TemplateBody=SEED, Tags=[{"Key": "team", "Value": "web"}])["StackId"]
    cf.create_stack(StackName="other", TemplateBody=SEED)  # outside the rule's tag scope
    group_id = physical_ids(cf, "web")["WebSG"]

    # Someone with their own IAM user and access key opens SSH to the world.
    iam.create_user(UserName="mallory")
    key = iam.create_access_key(UserName="mallory")["AccessKey"]
    mallory = aws.client("ec2", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                         aws_session_token=None)
    mallory.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[OPEN_SSH])
    assert ingress(ec2, group_id) == [("tcp", 22, "0.0.0.0/0"), ("tcp", 443, "10.0.0.0/8")]

    # The rule, its role, the remediation document and an automatic remediation.
    detect_role = iam.create_role(RoleName="ConfigDriftDetection",
                                  AssumeRolePolicyDocument=TRUST % "config.amazonaws.com")["Role"]["Arn"]
    fix_role = iam.create_role(RoleName="DriftRemediation",
                               AssumeRolePolicyDocument=TRUST % "ssm.amazonaws.com")["Role"]["Arn"]
    ssm.create_document(Name="Driftsync-RevertIngress", Content=REVERT_DOCUMENT, DocumentType="Automation",
                        DocumentFormat="YAML")
    config.put_config_rule(ConfigRule={
        "ConfigRuleName": "stack-drift",
        "Source": {"Owner": "AWS", "SourceIdentifier": "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK"},
        "InputParameters": json.dumps({"cloudformationRoleArn": detect_role}),
        "Scope": {"TagKey": "team", "TagValue": "web"},
    })
    failed = config.put_remediation_configurations(RemediationConfigurations=[{
        "ConfigRuleName": "stack-drift", "TargetType": "SSM_DOCUMENT", "TargetId": "Driftsync-RevertIngress",
        "ResourceType": "AWS::CloudFormation::Stack", "Automatic": True,
        "MaximumAutomaticAttempts": 2, "RetryAttemptSeconds": 60,
        "Parameters": {"AutomationAssumeRole": {"StaticValue": {"Values": [fix_role]}},
                       "StackId": {"ResourceValue": {"Value": "RESOURCE_ID"}}},
    }])["FailedBatches"]
    assert failed == []

    # Detection: NON_COMPLIANT, and only the tagged stack is in scope.
    assert evaluate(config, "stack-drift", stack_id) == "NON_COMPLIANT"
    [by_rule] = config.describe_compliance_by_config_rule(ConfigRuleNames=["stack-drift"])["ComplianceByConfigRules"]
    assert by_rule["Compliance"]["ComplianceType"] == "NON_COMPLIANT"

    # Automatic remediation runs the document to success.
    def remediated():
        [st] = config.describe_remediation_execution_status(ConfigRuleName="stack-drift")["RemediationExecutionStatuses"]
        return st if st["State"] in ("SUCCEEDED", "FAILED") else None

    status = wait_for(remediated)
    assert status["State"] == "SUCCEEDED", status
    assert status["ResourceKey"] == {"resourceType": "AWS::CloudFormation::Stack", "resourceId": stack_id}
    assert [s["Name"] for s in status["StepDetails"]] == ["GetDrift", "Choose", "Revert", "Settle", "Verify"]
    [run] = ssm.describe_automation_executions(
        Filters=[{"Key": "DocumentNamePrefix", "Values": ["Driftsync-"]}])["AutomationExecutionMetadataList"]
    execution = ssm.get_automation_execution(AutomationExecutionId=run["AutomationExecutionId"])["AutomationExecution"]
    assert execution["AutomationExecutionStatus"] == "Success"
    assert execution["Parameters"] == {"AutomationAssumeRole": [fix_role], "StackId": [stack_id]}
    assert execution["Outputs"]["GetDrift.Path"] == ["/SecurityGroupIngress/1"]
    assert "AWSServiceRoleForConfigRemediation" in execution["ExecutedBy"]

    # The group kept its id and its other rule; the stack is back in compliance.
    assert physical_ids(cf, "web")["WebSG"] == group_id
    assert ingress(ec2, group_id) == [("tcp", 443, "10.0.0.0/8")]
    assert evaluate(config, "stack-drift", stack_id) == "COMPLIANT"
    assert len(ssm.describe_automation_executions()["AutomationExecutionMetadataList"]) == 1  # no second run

    # CloudTrail: who opened the port, who closed it.
    [opened] = trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "AuthorizeSecurityGroupIngress"}])["Events"]
    assert opened["Username"] == "mallory" and opened["AccessKeyId"] == key["AccessKeyId"]
    assert opened["EventSource"] == "ec2.amazonaws.com" and opened["ReadOnly"] == "false"
    assert {"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": group_id} in opened["Resources"]
    detail = json.loads(opened["CloudTrailEvent"])
    assert detail["userIdentity"]["type"] == "IAMUser" and detail["userIdentity"]["userName"] == "mallory"
    assert detail["requestParameters"]["groupId"] == group_id
    [closed] = trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "UpdateResource"}])["Events"]
    assert closed["EventSource"] == "cloudcontrolapi.amazonaws.com"
    assert closed["Resources"] == [{"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": group_id}]
    identity = json.loads(closed["CloudTrailEvent"])["userIdentity"]
    assert identity["type"] == "AssumedRole" and identity["sessionContext"]["sessionIssuer"]["userName"] == "DriftRemediation"
    assert closed["Username"] == run["AutomationExecutionId"]

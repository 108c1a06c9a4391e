"""What `driftsync bootstrap` deploys, through CloudFormation: IAM roles, the SSM
runbook (Content as an object), the managed drift rule scoped by tag, a process
check, and a RemediationConfiguration; all visible through the services' own APIs,
the runbook runnable, updates in place, deletion with the stack. Then what `check`
and `sync` read and write in Config: compliance with timestamps, PutExternalEvaluation."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import yaml
from botocore.exceptions import ClientError

from .conftest import physical_ids, wait_for
from .templates import SEED
from .test_config_ssm_loop import evaluate

BOOTSTRAP = """
Resources:
  DetectRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: config.amazonaws.com}, Action: 'sts:AssumeRole'}]
      Policies:
        - PolicyName: detect-drift
          PolicyDocument:
            Version: '2012-10-17'
            Statement: [{Effect: Allow, Action: ['cloudformation:Detect*', 'cloudformation:Describe*'], Resource: '*'}]
  RevertRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: ssm.amazonaws.com}, Action: 'sts:AssumeRole'}]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
  Runbook:
    Type: AWS::SSM::Document
    Properties:
      DocumentType: Automation
      DocumentFormat: YAML
      UpdateMethod: NewVersion
      Content:
        schemaVersion: '0.3'
        description: Apply an RFC 6902 patch to one resource through Cloud Control.
        assumeRole: '{{ AutomationAssumeRole }}'
        parameters:
          AutomationAssumeRole: {type: String}
          TypeName: {type: String}
          Identifier: {type: String}
          Patch: {type: String}
        outputs: [Apply.RequestToken]
        mainSteps:
          - name: Apply
            action: aws:executeAwsApi
            inputs: {Service: cloudcontrol, Api: UpdateResource, TypeName: '{{ TypeName }}',
                     Identifier: '{{ Identifier }}', PatchDocument: '{{ Patch }}'}
            outputs:
              - {Name: RequestToken, Selector: $.ProgressEvent.RequestToken, Type: String}
          - name: Wait
            action: aws:waitForAwsResourceProperty
            timeoutSeconds: 60
            inputs: {Service: cloudcontrol, Api: GetResourceRequestStatus, RequestToken: '{{ Apply.RequestToken }}',
                     PropertySelector: $.ProgressEvent.OperationStatus, DesiredValues: [SUCCESS]}
  DriftRule:
    Type: AWS::Config::ConfigRule
    Properties:
      ConfigRuleName: driftsync-stack-drift
      Source: {Owner: AWS, SourceIdentifier: CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK}
      InputParameters: {cloudformationRoleArn: !GetAtt DetectRole.Arn}
      Scope: {TagKey: driftsync, TagValue: managed}
  Verdicts:
    Type: AWS::Config::ConfigRule
    Properties:
      ConfigRuleName: driftsync-verdicts
      Description: driftsync's last sync verdict for this account
      Source: {Owner: AWS, SourceIdentifier: AWS_CONFIG_PROCESS_CHECK}
  Remediation:
    Type: AWS::Config::RemediationConfiguration
    Properties:
      ConfigRuleName: !Ref DriftRule
      TargetType: SSM_DOCUMENT
      TargetId: !Ref Runbook
      Automatic: false
      MaximumAutomaticAttempts: 3
      RetryAttemptSeconds: 60
      Parameters:
        AutomationAssumeRole: {StaticValue: {Values: [!GetAtt RevertRole.Arn]}}
        TypeName: {StaticValue: {Values: ['AWS::CloudFormation::Stack']}}
        Identifier: {ResourceValue: {Value: RESOURCE_ID}}
        Patch: {StaticValue: {Values: ['[]']}}
Outputs:
  RunbookName: {Value: !Ref Runbook}
  RevertRoleArn: {Value: !GetAtt RevertRole.Arn}
"""
OPEN_SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def bootstrap(aws):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="driftsync", TemplateBody=BOOTSTRAP, Capabilities=["CAPABILITY_IAM"])
    stack = cf.describe_stacks(StackName="driftsync")["Stacks"][0]
    return stack, {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_bootstrap_stack_deploys_real_resources(fast):
    aws = fast
    cf, config, ssm, iam = (aws.client(s) for s in ("cloudformation", "config", "ssm", "iam"))
    stack, out = bootstrap(aws)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    ids = physical_ids(cf, "driftsync")
    assert set(ids) == {"DetectRole", "RevertRole", "Runbook", "DriftRule", "Verdicts", "Remediation"}

    rules = {r["ConfigRuleName"]: r for r in config.describe_config_rules()["ConfigRules"]}
    drift = rules["driftsync-stack-drift"]
    assert drift["Source"] == {"Owner": "AWS", "SourceIdentifier": "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK"}
    assert json.loads(drift["InputParameters"]) == {"cloudformationRoleArn": iam.get_role(
        RoleName=ids["DetectRole"])["Role"]["Arn"]}
    assert drift["Scope"] == {"TagKey": "driftsync", "TagValue": "managed"}
    assert rules["driftsync-verdicts"]["Source"]["SourceIdentifier"] == "AWS_CONFIG_PROCESS_CHECK"
    [remediation] = config.describe_remediation_configurations(
        ConfigRuleNames=["driftsync-stack-drift"])["RemediationConfigurations"]
    assert (remediation["TargetId"], remediation["Automatic"], remediation["MaximumAutomaticAttempts"]) == \
        (out["RunbookName"], False, 3)
    assert remediation["Parameters"]["AutomationAssumeRole"] == {"StaticValue": {"Values": [out["RevertRoleArn"]]}}

    doc = ssm.describe_document(Name=out["RunbookName"])["Document"]
    assert (doc["DocumentType"], doc["DocumentFormat"], doc["DocumentVersion"]) == ("Automation", "YAML", "1")
    content = yaml.safe_load(ssm.get_document(Name=out["RunbookName"])["Content"])
    assert [s["name"] for s in content["mainSteps"]] == ["Apply", "Wait"]
    assert iam.list_role_policies(RoleName=ids["DetectRole"])["PolicyNames"] == ["detect-drift"]
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=ids["RevertRole"])["AttachedPolicies"]] \
        == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]

    # The runbook reverts one property of a live resource, as the assumed role.
    cf.create_stack(StackName="app", TemplateBody=SEED)
    group_id = physical_ids(cf, "app")["WebSG"]
    aws.client("ec2").authorize_security_group_ingress(GroupId=group_id, IpPermissions=[OPEN_SSH])
    run = ssm.start_automation_execution(DocumentName=out["RunbookName"], Parameters={
        "AutomationAssumeRole": [out["RevertRoleArn"]], "TypeName": ["AWS::EC2::SecurityGroup"],
        "Identifier": [group_id], "Patch": [json.dumps([{"op": "remove", "path": "/SecurityGroupIngress/1"}])]})

    def finished():
        ex = ssm.get_automation_execution(AutomationExecutionId=run["AutomationExecutionId"])["AutomationExecution"]
        return ex if ex["AutomationExecutionStatus"] not in ("Pending", "InProgress") else None

    assert wait_for(finished)["AutomationExecutionStatus"] == "Success"
    perms = aws.client("ec2").describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]
    assert [p["FromPort"] for p in perms] == [443]

    # Re-running bootstrap unchanged is a no-op; a changed runbook becomes version 2 in place.
    with pytest.raises(ClientError) as err:
        cf.update_stack(StackName="driftsync", TemplateBody=BOOTSTRAP, Capabilities=["CAPABILITY_IAM"])
    assert err.value.response["Error"]["Message"] == "No updates are to be performed."
    cf.update_stack(StackName="driftsync", TemplateBody=BOOTSTRAP.replace("timeoutSeconds: 60", "timeoutSeconds: 120"))
    assert cf.describe_stacks(StackName="driftsync")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    assert physical_ids(cf, "driftsync") == ids
    doc = ssm.describe_document(Name=out["RunbookName"])["Document"]
    assert (doc["DocumentVersion"], doc["DefaultVersion"], doc["LatestVersion"]) == ("2", "2", "2")

    cf.delete_stack(StackName="driftsync")
    assert [r["ConfigRuleName"] for r in config.describe_config_rules()["ConfigRules"]] == []
    assert ssm.list_documents(Filters=[{"Key": "Owner", "Values": ["Self"]}])["DocumentIdentifiers"] == []
    assert [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("driftsync")] == []


def test_drift_rule_results_let_check_skip_compliant_stacks(aws):
    cf, config = aws.client("cloudformation"), aws.client("config")
    bootstrap(aws)
    managed = cf.create_stack(StackName="app", TemplateBody=SEED, Tags=[{"Key": "driftsync", "Value": "managed"}])
    cf.create_stack(StackName="unmanaged", TemplateBody=SEED)
    before = datetime.now(timezone.utc)
    assert evaluate(config, "driftsync-stack-drift", managed["StackId"]) == "COMPLIANT"
    [result] = config.get_compliance_details_by_config_rule(
        ConfigRuleName="driftsync-stack-drift", ComplianceTypes=["COMPLIANT"])["EvaluationResults"]
    ident = result["EvaluationResultIdentifier"]
    assert ident["EvaluationResultQualifier"]["ResourceType"] == "AWS::CloudFormation::Stack"
    assert before <= ident["OrderingTimestamp"] <= result["ResultRecordedTime"] <= datetime.now(timezone.utc)

    group_id = physical_ids(cf, "app")["WebSG"]
    aws.client("ec2").authorize_security_group_ingress(GroupId=group_id, IpPermissions=[OPEN_SSH])
    assert evaluate(config, "driftsync-stack-drift", managed["StackId"]) == "NON_COMPLIANT"
    assert config.get_compliance_details_by_config_rule(
        ConfigRuleName="driftsync-stack-drift", ComplianceTypes=["COMPLIANT"])["EvaluationResults"] == []


def test_process_check_takes_external_evaluations_for_the_account_only(aws):
    config = aws.client("config")
    stack, _ = bootstrap(aws)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    config.put_external_evaluation(ConfigRuleName="driftsync-verdicts", ExternalEvaluation={
        "ComplianceResourceType": "AWS::::Account", "ComplianceResourceId": aws.account_id,
        "ComplianceType": "NON_COMPLIANT", "Annotation": "2 stacks drifted: app, web", "OrderingTimestamp": at})
    [result] = config.get_compliance_details_by_config_rule(ConfigRuleName="driftsync-verdicts")["EvaluationResults"]
    qualifier = result["EvaluationResultIdentifier"]["EvaluationResultQualifier"]
    assert (qualifier["ResourceType"], qualifier["ResourceId"], result["ComplianceType"], result["Annotation"]) == \
        ("AWS::::Account", aws.account_id, "NON_COMPLIANT", "2 stacks drifted: app, web")
    assert result["EvaluationResultIdentifier"]["OrderingTimestamp"] == at
    [by_rule] = config.describe_compliance_by_config_rule(ConfigRuleNames=["driftsync-verdicts"])["ComplianceByConfigRules"]
    assert by_rule["Compliance"]["ComplianceType"] == "NON_COMPLIANT"
    [by_resource] = config.describe_compliance_by_resource(ResourceType="AWS::::Account")["ComplianceByResources"]
    assert (by_resource["ResourceId"], by_resource["Compliance"]["ComplianceType"]) == (aws.account_id, "NON_COMPLIANT")
    config.put_external_evaluation(ConfigRuleName="driftsync-verdicts", ExternalEvaluation={
        "ComplianceResourceType": "AWS::::Account", "ComplianceResourceId": aws.account_id,
        "ComplianceType": "COMPLIANT", "OrderingTimestamp": datetime.now(timezone.utc)})
    [result] = config.get_compliance_details_by_config_rule(ConfigRuleName="driftsync-verdicts")["EvaluationResults"]
    assert result["ComplianceType"] == "COMPLIANT"
    config.start_config_rules_evaluation()  # process checks are not evaluated by Config: no error

    def refused(**changes):
        ev = {"ComplianceResourceType": "AWS::::Account", "ComplianceResourceId": aws.account_id,
              "ComplianceType": "COMPLIANT", "OrderingTimestamp": at, **changes}
        rule = ev.pop("rule", "driftsync-verdicts")
        with pytest.raises(ClientError) as err:
            config.put_external_evaluation(ConfigRuleName=rule, ExternalEvaluation=ev)
        return err.value.response["Error"]["Code"]

    # "Config accepts AWS::::Account resource type" and "only Amazon Web Services account ID".
    assert refused(ComplianceResourceType="AWS::CloudFormation::Stack",
                   ComplianceResourceId=stack["StackId"]) == "InvalidParameterValueException"
    assert refused(ComplianceResourceId="111111111111") == "InvalidParameterValueException"
    assert refused(ComplianceType="INSUFFICIENT_DATA") == "InvalidParameterValueException"
    assert refused(rule="driftsync-stack-drift") == "NoSuchConfigRuleException"
    assert refused(rule="missing") == "NoSuchConfigRuleException"


def test_invalid_remediation_configuration_fails_the_stack(aws):
    cf = aws.client("cloudformation")
    broken = BOOTSTRAP.replace("TargetId: !Ref Runbook", "TargetId: NoSuchDocument")
    cf.create_stack(StackName="broken", TemplateBody=broken)
    assert cf.describe_stacks(StackName="broken")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = [e for e in cf.describe_stack_events(StackName="broken")["StackEvents"]
                if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["LogicalResourceId"] == "Remediation"
    assert "NoSuchDocument does not exist" in failed["ResourceStatusReason"]
    assert aws.client("config").describe_config_rules()["ConfigRules"] == []  # rolled back


def test_document_content_as_string_or_object(aws):
    cf, ssm = aws.client("cloudformation"), aws.client("ssm")
    steps = [{"name": "Nap", "action": "aws:sleep", "inputs": {"Duration": "PT0S"}}]
    as_text = json.dumps({"schemaVersion": "0.3", "mainSteps": steps})
    template = {"Resources": {
        "FromText": {"Type": "AWS::SSM::Document",
                     "Properties": {"Name": "from-text", "DocumentType": "Automation", "Content": as_text}},
        "FromObject": {"Type": "AWS::SSM::Document",  # DocumentFormat defaults to JSON
                       "Properties": {"DocumentType": "Automation", "Content": json.loads(as_text),
                                      "Tags": [{"Key": "owner", "Value": "driftsync"}]}}}}
    cf.create_stack(StackName="docs", TemplateBody=json.dumps(template))
    ids = physical_ids(cf, "docs")
    assert ids["FromText"] == "from-text" and ids["FromObject"].startswith("docs-FromObject-")
    for name in ids.values():
        doc = ssm.get_document(Name=name)
        assert (doc["DocumentFormat"], json.loads(doc["Content"])["mainSteps"]) == ("JSON", steps)
    tags = ssm.list_tags_for_resource(ResourceType="Document", ResourceId=ids["FromObject"])["TagList"]
    assert {"Key": "owner", "Value": "driftsync"} in tags
    run = ssm.start_automation_execution(DocumentName=ids["FromObject"])["AutomationExecutionId"]
    assert wait_for(lambda: ssm.get_automation_execution(AutomationExecutionId=run)["AutomationExecution"]
                    ["AutomationExecutionStatus"] == "Success")

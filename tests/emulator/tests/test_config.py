"""AWS Config on top of moto's rules: custom-rule evaluations through
PutEvaluations, compliance queries, the drift managed rule's scope and failure
modes, remediation configurations, manual remediation, and the automatic
remediation loop guard (MaximumAutomaticAttempts)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from .conftest import wait_for
from .templates import SEED

TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"%s"},"Action":"sts:AssumeRole"}]}'


def code(call):
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def custom_rule(aws, name="sg-open-ports"):
    iam, lam, config = aws.client("iam"), aws.client("lambda"), aws.client("config")
    role = iam.create_role(RoleName=f"{name}-fn", AssumeRolePolicyDocument=TRUST % "lambda.amazonaws.com")["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return None\n")
    fn = lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
                             Code={"ZipFile": buf.getvalue()})["FunctionArn"]
    config.put_config_rule(ConfigRule={"ConfigRuleName": name, "Source": {
        "Owner": "CUSTOM_LAMBDA", "SourceIdentifier": fn,
        "SourceDetails": [{"EventSource": "aws.config", "MessageType": "ScheduledNotification"}]}})
    return config


def invoke(aws, config, rule):
    """What Config's call to the rule's function carries: a resultToken for PutEvaluations."""
    config.start_config_rules_evaluation(ConfigRuleNames=[rule])
    found = aws.control("GET", f"/_emulator/config-invocations?account={aws.account_id}")["invocations"]
    return [i for i in found if i["configRuleName"] == rule][-1]["resultToken"]


def evaluation(rid, compliance, annotation=None):
    out = {"ComplianceResourceType": "AWS::EC2::SecurityGroup", "ComplianceResourceId": rid,
           "ComplianceType": compliance, "OrderingTimestamp": datetime.now(timezone.utc)}
    return {**out, "Annotation": annotation} if annotation else out


def test_put_evaluations_and_compliance_queries(aws):
    config = custom_rule(aws)
    token = invoke(aws, config, "sg-open-ports")
    assert code(lambda: config.put_evaluations(Evaluations=[evaluation("sg-1", "COMPLIANT")], ResultToken="forged")) \
        == "InvalidResultTokenException"
    config.put_evaluations(Evaluations=[evaluation("sg-1", "NON_COMPLIANT")], ResultToken=token, TestMode=True)
    assert config.get_compliance_details_by_config_rule(ConfigRuleName="sg-open-ports")["EvaluationResults"] == []
    config.put_evaluations(ResultToken=token, Evaluations=[
        evaluation("sg-1", "NON_COMPLIANT", "22 open to 0.0.0.0/0"), evaluation("sg-2", "COMPLIANT"),
        evaluation("sg-3", "NOT_APPLICABLE")])

    results = config.get_compliance_details_by_config_rule(ConfigRuleName="sg-open-ports",
                                                           ComplianceTypes=["NON_COMPLIANT"])["EvaluationResults"]
    assert [(r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"], r["Annotation"])
            for r in results] == [("sg-1", "22 open to 0.0.0.0/0")]
    page = config.get_compliance_details_by_config_rule(ConfigRuleName="sg-open-ports", Limit=2)
    rest = config.get_compliance_details_by_config_rule(ConfigRuleName="sg-open-ports", Limit=2,
                                                        NextToken=page["NextToken"])
    assert len(page["EvaluationResults"]) == 2 and len(rest["EvaluationResults"]) == 1
    [by_rule] = config.describe_compliance_by_config_rule(ConfigRuleNames=["sg-open-ports"])["ComplianceByConfigRules"]
    assert by_rule["Compliance"] == {"ComplianceType": "NON_COMPLIANT",
                                     "ComplianceContributorCount": {"CappedCount": 1, "CapExceeded": False}}
    by_resource = config.describe_compliance_by_resource(ResourceType="AWS::EC2::SecurityGroup")["ComplianceByResources"]
    assert [(r["ResourceId"], r["Compliance"]["ComplianceType"]) for r in by_resource] == \
        [("sg-1", "NON_COMPLIANT"), ("sg-2", "COMPLIANT")]  # NOT_APPLICABLE resources aren't listed
    [detail] = config.get_compliance_details_by_resource(ResourceType="AWS::EC2::SecurityGroup",
                                                         ResourceId="sg-2")["EvaluationResults"]
    assert detail["ComplianceType"] == "COMPLIANT"

    config.put_evaluations(Evaluations=[evaluation("sg-1", "COMPLIANT")], ResultToken=invoke(aws, config, "sg-open-ports"))
    [by_rule] = config.describe_compliance_by_config_rule(ConfigRuleNames=["sg-open-ports"])["ComplianceByConfigRules"]
    assert by_rule["Compliance"]["ComplianceType"] == "COMPLIANT"
    assert code(lambda: config.get_compliance_details_by_config_rule(ConfigRuleName="nope")) == "NoSuchConfigRuleException"


def drift_rule(aws, name, scope, role_arn=None):
    iam, config = aws.client("iam"), aws.client("config")
    if role_arn is None:
        role_arn = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=TRUST % "config.amazonaws.com")[
            "Role"]["Arn"]
    config.put_config_rule(ConfigRule={
        "ConfigRuleName": name, "Scope": scope, "InputParameters": json.dumps({"cloudformationRoleArn": role_arn}),
        "Source": {"Owner": "AWS", "SourceIdentifier": "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK"}})
    return config


def evaluated(config, rule):
    """Run an evaluation and wait for it to end (a new success or failure time)."""
    def times(st):
        return st.get("LastSuccessfulEvaluationTime"), st.get("LastFailedInvocationTime")

    before = times(config.describe_config_rule_evaluation_status(ConfigRuleNames=[rule])["ConfigRulesEvaluationStatus"][0])
    config.start_config_rules_evaluation(ConfigRuleNames=[rule])

    def done():
        st = config.describe_config_rule_evaluation_status(ConfigRuleNames=[rule])["ConfigRulesEvaluationStatus"][0]
        return st if times(st) != before else None

    return wait_for(done)


def test_drift_rule_scope_failures_and_errors(aws):
    cf = aws.client("cloudformation")
    a = cf.create_stack(StackName="a", TemplateBody=SEED)["StackId"]
    b = cf.create_stack(StackName="b", TemplateBody=SEED)["StackId"]
    config = drift_rule(aws, "by-type", {"ComplianceResourceTypes": ["AWS::CloudFormation::Stack"]})
    assert "LastSuccessfulEvaluationTime" in evaluated(config, "by-type")
    results = config.get_compliance_details_by_config_rule(ConfigRuleName="by-type")["EvaluationResults"]
    assert sorted((r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"], r["ComplianceType"])
                  for r in results) == sorted([(a, "COMPLIANT"), (b, "COMPLIANT")])

    drift_rule(aws, "one-stack", {"ComplianceResourceTypes": ["AWS::CloudFormation::Stack"],
                                  "ComplianceResourceId": b})
    evaluated(config, "one-stack")
    [only] = config.get_compliance_details_by_config_rule(ConfigRuleName="one-stack")["EvaluationResults"]
    assert only["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"] == b

    aws.control("POST", "/_emulator/config", {"drift_detection_fail": True})
    try:
        evaluated(config, "one-stack")
    finally:
        aws.control("POST", "/_emulator/config", {"drift_detection_fail": False})
    [failed] = config.get_compliance_details_by_config_rule(ConfigRuleName="one-stack")["EvaluationResults"]
    assert failed["ComplianceType"] == "NON_COMPLIANT" and failed["Annotation"].startswith("Drift detection failed")

    drift_rule(aws, "no-role", {}, role_arn=f"arn:aws:iam::{aws.account_id}:role/missing")
    status = evaluated(config, "no-role")
    assert status["LastErrorCode"] == "AccessDenied" and "missing" in status["LastErrorMessage"]
    assert config.get_compliance_details_by_config_rule(ConfigRuleName="no-role")["EvaluationResults"] == []

    config.start_config_rules_evaluation(ConfigRuleNames=["by-type"])
    assert code(lambda: config.start_config_rules_evaluation(ConfigRuleNames=["by-type"])) == "LimitExceededException"
    config.put_config_rule(ConfigRule={"ConfigRuleName": "other-managed", "Source": {
        "Owner": "AWS", "SourceIdentifier": "CLOUDFORMATION_STACK_SERVICE_ROLE_CHECK"}})
    assert code(lambda: config.start_config_rules_evaluation(ConfigRuleNames=["other-managed"])) == \
        "InvalidParameterValueException"
    assert code(lambda: config.start_config_rules_evaluation(ConfigRuleNames=["nope"])) == "NoSuchConfigRuleException"


FAILING_DOC = {"schemaVersion": "0.3", "parameters": {"Id": {"type": "String"}}, "mainSteps": [
    {"name": "Inspect", "action": "aws:executeAwsApi",
     "inputs": {"Service": "ec2", "Api": "DescribeSecurityGroups", "GroupIds": ["{{ Id }}"]}}]}
TAG_DOC = {"schemaVersion": "0.3", "parameters": {"Id": {"type": "String"}, "Marker": {"type": "String"}},
           "mainSteps": [{"name": "Mark", "action": "aws:executeAwsApi", "inputs": {
               "Service": "ssm", "Api": "PutParameter", "Name": "/remediated/{{ Id }}", "Value": "{{ Marker }}",
               "Type": "String", "Overwrite": True}}]}


def remediation(name, doc, automatic, **extra):
    return {"ConfigRuleName": name, "TargetType": "SSM_DOCUMENT", "TargetId": doc, "Automatic": automatic,
            "Parameters": {"Id": {"ResourceValue": {"Value": "RESOURCE_ID"}},
                           **({"Marker": {"StaticValue": {"Values": ["fixed"]}}} if doc == "Tag" else {})}, **extra}


def test_remediation_configurations_and_manual_execution(aws):
    config, ssm = custom_rule(aws), aws.client("ssm")
    ssm.create_document(Name="Tag", Content=json.dumps(TAG_DOC), DocumentType="Automation", DocumentFormat="JSON")
    failed = config.put_remediation_configurations(RemediationConfigurations=[
        remediation("sg-open-ports", "Tag", False), remediation("sg-open-ports", "NoSuchDoc", False)])["FailedBatches"]
    assert len(failed) == 1 and "NoSuchDoc" in failed[0]["FailureMessage"]
    [conf] = config.describe_remediation_configurations(ConfigRuleNames=["sg-open-ports"])["RemediationConfigurations"]
    assert conf["TargetId"] == "Tag" and conf["Arn"].startswith("arn:aws:config:us-east-1:")
    assert code(lambda: config.delete_config_rule(ConfigRuleName="sg-open-ports")) == "ResourceInUseException"

    config.put_evaluations(ResultToken=invoke(aws, config, "sg-open-ports"),
                           Evaluations=[evaluation("sg-1", "NON_COMPLIANT"), evaluation("sg-2", "COMPLIANT")])
    out = config.start_remediation_execution(ConfigRuleName="sg-open-ports", ResourceKeys=[
        {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": "sg-1"},
        {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": "sg-2"}])
    assert out["FailedItems"] == [{"resourceType": "AWS::EC2::SecurityGroup", "resourceId": "sg-2"}]

    def done():
        [st] = config.describe_remediation_execution_status(ConfigRuleName="sg-open-ports")[
            "RemediationExecutionStatuses"]
        return st if st["State"] in ("SUCCEEDED", "FAILED") else None

    status = wait_for(done)
    assert status["State"] == "SUCCEEDED" and [s["State"] for s in status["StepDetails"]] == ["SUCCEEDED"]
    assert ssm.get_parameter(Name="/remediated/sg-1")["Parameter"]["Value"] == "fixed"
    config.delete_remediation_configuration(ConfigRuleName="sg-open-ports")
    assert code(lambda: config.delete_remediation_configuration(ConfigRuleName="sg-open-ports")) == \
        "NoSuchRemediationConfigurationException"
    assert code(lambda: config.describe_remediation_execution_status(ConfigRuleName="sg-open-ports")) == \
        "NoSuchRemediationConfigurationException"
    config.delete_config_rule(ConfigRuleName="sg-open-ports")


def test_automatic_remediation_stops_after_maximum_attempts(fast):
    aws = fast
    config, ssm = custom_rule(aws), aws.client("ssm")
    ssm.create_document(Name="Fails", Content=json.dumps(FAILING_DOC), DocumentType="Automation",
                        DocumentFormat="JSON")
    config.put_remediation_configurations(RemediationConfigurations=[
        remediation("sg-open-ports", "Fails", True, MaximumAutomaticAttempts=3, RetryAttemptSeconds=60)])
    config.put_evaluations(ResultToken=invoke(aws, config, "sg-open-ports"),
                           Evaluations=[evaluation("sg-404", "NON_COMPLIANT")])
    exceptions = wait_for(lambda: config.describe_remediation_exceptions(ConfigRuleName="sg-open-ports")[
        "RemediationExceptions"])
    assert [(e["ResourceType"], e["ResourceId"]) for e in exceptions] == [("AWS::EC2::SecurityGroup", "sg-404")]
    runs = ssm.describe_automation_executions()["AutomationExecutionMetadataList"]
    assert len(runs) == 3 and {r["AutomationExecutionStatus"] for r in runs} == {"Failed"}
    [status] = config.describe_remediation_execution_status(ConfigRuleName="sg-open-ports")[
        "RemediationExecutionStatuses"]
    assert status["State"] == "FAILED" and "InvalidGroup" in status["StepDetails"][0]["ErrorMessage"]
    # A new NON_COMPLIANT evaluation doesn't start it again: the loop guard holds.
    config.put_evaluations(ResultToken=invoke(aws, config, "sg-open-ports"),
                           Evaluations=[evaluation("sg-404", "NON_COMPLIANT")])
    assert len(ssm.describe_automation_executions()["AutomationExecutionMetadataList"]) == 3

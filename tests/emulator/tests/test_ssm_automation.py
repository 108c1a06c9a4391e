"""SSM Automation executions that really run: parameters, interpolation,
outputs, branching, failure handling, retries, timeouts, cancellation, pause
and resume, assumeRole, filters and errors."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .conftest import wait_for

TERMINAL = ("Success", "Failed", "TimedOut", "Cancelled")


def create(ssm, name, body):
    ssm.create_document(Name=name, Content=json.dumps(body), DocumentType="Automation", DocumentFormat="JSON")


def doc(steps, parameters=None, outputs=None, **extra):
    return {"schemaVersion": "0.3", "parameters": parameters or {}, "outputs": outputs or [], "mainSteps": steps,
            **extra}


def finish(ssm, execution_id, timeout=20.0):
    def done():
        ex = ssm.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
        return ex if ex["AutomationExecutionStatus"] in TERMINAL else None

    return wait_for(done, timeout)


def run(ssm, name, parameters=None):
    eid = ssm.start_automation_execution(DocumentName=name, Parameters=parameters or {})["AutomationExecutionId"]
    return finish(ssm, eid)


def steps(ex):
    return [(s["StepName"], s["StepStatus"]) for s in ex["StepExecutions"]]


def code(call):
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def test_parameters_outputs_and_branching(fast):
    ssm = fast.client("ssm")
    ssm.put_parameter(Name="/app/replicas", Value="3", Type="String")
    create(ssm, "Typed", doc(parameters={
        "Name": {"type": "String", "allowedPattern": "^/app/.*$"},
        "Expected": {"type": "Integer", "default": 3},
        "Strict": {"type": "Boolean", "default": False},
        "Tags": {"type": "StringList", "default": ["a"]},
        "Rules": {"type": "MapList", "default": []},
    }, outputs=["Read.Replicas", "Read.Version", "Tag.Written", "Skipped.Never"], steps=[
        {"name": "Read", "action": "aws:executeAwsApi",
         "inputs": {"Service": "ssm", "Api": "GetParameter", "Name": "{{ Name }}"},
         "outputs": [{"Name": "Replicas", "Selector": "$.Parameter.Value", "Type": "Integer"},
                     {"Name": "Version", "Selector": "$.Parameter.Version", "Type": "String"}]},
        {"name": "Decide", "action": "aws:branch", "inputs": {"Choices": [
            {"NextStep": "Skipped", "Not": {"Variable": "{{ Read.Replicas }}", "NumericEquals": "{{ Expected }}"}},
            {"NextStep": "Tag", "Or": [{"Variable": "{{ Strict }}", "BooleanEquals": True},
                                       {"Variable": "{{ Read.Replicas }}", "NumericEquals": 3}]}],
            "Default": "Skipped"}},
        {"name": "Skipped", "action": "aws:sleep", "inputs": {"Duration": "PT1S"}, "isEnd": True},
        {"name": "Tag", "action": "aws:executeAwsApi", "inputs": {
            "Service": "ssm", "Api": "put_parameter", "Type": "String", "Overwrite": True,
            "Name": "/runs/{{ automation:EXECUTION_ID }}",
            "Value": "{{ global:ACCOUNT_ID }}/{{ global:REGION }}: {{ Tags }} {{ Rules }} {{ ssm:/app/replicas }}"},
         "outputs": [{"Name": "Written", "Selector": "$.Version", "Type": "Integer"}]},
    ]))
    ex = run(ssm, "Typed", {"Name": ["/app/replicas"], "Tags": ["x", "y"], "Rules": ['{"port": 22}']})
    assert ex["AutomationExecutionStatus"] == "Success", ex.get("FailureMessage")
    assert steps(ex) == [("Read", "Success"), ("Decide", "Success"), ("Tag", "Success")]
    assert ex["Parameters"] == {"Name": ["/app/replicas"], "Expected": ["3"], "Strict": ["false"],
                                "Tags": ["x", "y"], "Rules": ['{"port": 22}']}
    assert ex["Outputs"] == {"Read.Replicas": ["3"], "Read.Version": ["1"], "Tag.Written": ["1"],
                             "Skipped.Never": ["No output available yet because the step is not successfully executed"]}
    read = ex["StepExecutions"][0]
    assert read["Inputs"] == {"Service": '"ssm"', "Api": '"GetParameter"', "Name": '"/app/replicas"'}
    assert read["Outputs"] == {"Replicas": ["3"], "Version": ["1"]}
    written = ssm.get_parameter(Name=f"/runs/{ex['AutomationExecutionId']}")["Parameter"]["Value"]
    account = ex["ExecutedBy"].split(":")[4]
    assert written == f'{account}/us-east-1: ["x", "y"] [{{"port": 22}}] 3'
    assert ex["ExecutedBy"].endswith(":assumed-role/emulator/emulator")  # the caller, as STS shows it


def test_parameter_and_lookup_errors(aws):
    ssm = aws.client("ssm")
    create(ssm, "Params", doc(parameters={"Name": {"type": "String"},
                                          "Mode": {"type": "String", "allowedValues": ["fast", "safe"], "default": "safe"},
                                          "Count": {"type": "Integer", "default": 1}},
                              steps=[{"name": "Nap", "action": "aws:sleep", "inputs": {"Duration": "PT0S"}}]))
    start = ssm.start_automation_execution
    assert code(lambda: start(DocumentName="Missing")) == "AutomationDefinitionNotFoundException"
    assert code(lambda: start(DocumentName="Params", DocumentVersion="9", Parameters={"Name": ["a"]})) == \
        "AutomationDefinitionVersionNotFoundException"
    invalid = "InvalidAutomationExecutionParametersException"
    assert code(lambda: start(DocumentName="Params")) == invalid  # Name is required
    assert code(lambda: start(DocumentName="Params", Parameters={"Name": ["a"], "Other": ["b"]})) == invalid
    assert code(lambda: start(DocumentName="Params", Parameters={"Name": ["a", "b"]})) == invalid
    assert code(lambda: start(DocumentName="Params", Parameters={"Name": ["a"], "Mode": ["yolo"]})) == invalid
    assert code(lambda: start(DocumentName="Params", Parameters={"Name": ["a"], "Count": ["many"]})) == invalid
    ssm.create_document(Name="Cmd", DocumentType="Command", Content=json.dumps(
        {"schemaVersion": "2.2", "mainSteps": [{"action": "aws:runShellScript", "name": "x",
                                                 "inputs": {"runCommand": ["true"]}}]}))
    assert code(lambda: start(DocumentName="Cmd")) == "AutomationDefinitionNotFoundException"
    missing = "AutomationExecutionNotFoundException"
    assert code(lambda: ssm.get_automation_execution(AutomationExecutionId="0" * 36)) == missing
    assert code(lambda: ssm.stop_automation_execution(AutomationExecutionId="0" * 36)) == missing
    token = "1" * 8 + "-1111-1111-1111-" + "1" * 12  # the API wants a UUID
    once = [ssm.start_automation_execution(DocumentName="Params", Parameters={"Name": ["a"]}, ClientToken=token)
            ["AutomationExecutionId"] for _ in range(2)]
    assert once[0] == once[1]  # ClientToken makes the start idempotent


def test_failure_handling_retries_and_criticality(fast):
    ssm = fast.client("ssm")
    failing = {"Service": "ssm", "Api": "GetParameter", "Name": "/does/not/exist"}
    ok = {"Duration": "PT1S"}
    create(ssm, "Abort", doc([{"name": "Broken", "action": "aws:executeAwsApi", "inputs": failing},
                              {"name": "After", "action": "aws:sleep", "inputs": ok}]))
    ex = run(ssm, "Abort")
    assert ex["AutomationExecutionStatus"] == "Failed" and steps(ex) == [("Broken", "Failed")]
    broken = ex["StepExecutions"][0]
    assert "ParameterNotFound" in broken["FailureMessage"] and "GetParameter" in broken["FailureMessage"]
    assert broken["FailureDetails"]["Details"]["ErrorCode"] == ["ParameterNotFound"]
    assert ex["FailureMessage"] == broken["FailureMessage"]

    create(ssm, "Continue", doc([{"name": "Broken", "action": "aws:executeAwsApi", "inputs": failing,
                                  "onFailure": "Continue"},
                                 {"name": "After", "action": "aws:sleep", "inputs": ok}]))
    ex = run(ssm, "Continue")
    assert ex["AutomationExecutionStatus"] == "Success"  # Continue makes the step non-critical
    assert steps(ex) == [("Broken", "Failed"), ("After", "Success")]

    create(ssm, "Jump", doc([{"name": "First", "action": "aws:sleep", "inputs": ok, "nextStep": "Third"},
                             {"name": "Second", "action": "aws:sleep", "inputs": ok},
                             {"name": "Third", "action": "aws:sleep", "inputs": ok, "isEnd": True},
                             {"name": "Fourth", "action": "aws:sleep", "inputs": ok}]))
    ex = run(ssm, "Jump")
    assert steps(ex) == [("First", "Success"), ("Third", "Success")] and ex["AutomationExecutionStatus"] == "Success"

    create(ssm, "Recover", doc([{"name": "Broken", "action": "aws:executeAwsApi", "inputs": failing,
                                 "onFailure": "step:Cleanup"},
                                {"name": "Skipped", "action": "aws:sleep", "inputs": ok},
                                {"name": "Cleanup", "action": "aws:sleep", "inputs": ok}]))
    ex = run(ssm, "Recover")
    assert steps(ex) == [("Broken", "Failed"), ("Cleanup", "Success")]
    assert ex["AutomationExecutionStatus"] == "Failed"  # a critical step failed, even though cleanup ran

    ssm.put_parameter(Name="/flaky", Value="v", Type="String")
    fast.control("POST", "/_emulator/faults", {"kind": "error", "status": 400, "code": "ValidationException",
                                               "service": "ssm", "operation": "GetParameter", "count": 2})
    try:
        create(ssm, "Retry", doc([{"name": "Flaky", "action": "aws:executeAwsApi", "maxAttempts": 3,
                                   "inputs": {"Service": "ssm", "Api": "GetParameter", "Name": "/flaky"}}]))
        ex = run(ssm, "Retry")
        assert ex["AutomationExecutionStatus"] == "Success" and ex["StepExecutions"][0]["MaxAttempts"] == 3
        [rule] = fast.control("GET", "/_emulator/faults")["faults"]
        assert rule["hits"] == 2
    finally:
        fast.control("DELETE", "/_emulator/faults")

    create(ssm, "Assert", doc([{"name": "Check", "action": "aws:assertAwsResourceProperty", "inputs": {
        "Service": "ssm", "Api": "GetParameter", "Name": "/flaky", "PropertySelector": "$.Parameter.Value",
        "DesiredValues": ["other"]}}]))
    ex = run(ssm, "Assert")
    assert ex["AutomationExecutionStatus"] == "Failed"
    assert ex["StepExecutions"][0]["FailureDetails"]["FailureType"] == "Verification"
    assert "['other']" in ex["StepExecutions"][0]["FailureMessage"]


def test_timeouts_cancellation_and_pause(fast):
    ssm = fast.client("ssm")
    create(ssm, "Slow", doc([{"name": "Long", "action": "aws:sleep", "inputs": {"Duration": "PT10M"},
                              "timeoutSeconds": 30}]))
    ex = run(ssm, "Slow")  # 30 s of document time: 0.6 s at time_scale 0.02
    assert ex["AutomationExecutionStatus"] == "TimedOut" and steps(ex) == [("Long", "TimedOut")]

    create(ssm, "Forever", doc([{"name": "Long", "action": "aws:sleep", "inputs": {"Duration": "P7D"}},
                                {"name": "Never", "action": "aws:sleep", "inputs": {"Duration": "PT1S"}}]))
    eid = ssm.start_automation_execution(DocumentName="Forever")["AutomationExecutionId"]
    wait_for(lambda: ssm.get_automation_execution(AutomationExecutionId=eid)["AutomationExecution"]
             ["AutomationExecutionStatus"] == "InProgress")
    running = ssm.describe_automation_executions(Filters=[{"Key": "ExecutionId", "Values": [eid]}])
    assert running["AutomationExecutionMetadataList"][0]["CurrentStepName"] == "Long"
    assert running["AutomationExecutionMetadataList"][0]["CurrentAction"] == "aws:sleep"
    ssm.stop_automation_execution(AutomationExecutionId=eid)
    ex = finish(ssm, eid)
    assert ex["AutomationExecutionStatus"] == "Cancelled" and steps(ex) == [("Long", "Cancelled")]
    assert code(lambda: ssm.stop_automation_execution(AutomationExecutionId=eid)) == \
        "InvalidAutomationStatusUpdateException"

    create(ssm, "Paused", doc([{"name": "Hold", "action": "aws:pause", "inputs": {}},
                               {"name": "Go", "action": "aws:sleep", "inputs": {"Duration": "PT1S"}}]))
    eid = ssm.start_automation_execution(DocumentName="Paused")["AutomationExecutionId"]
    wait_for(lambda: ssm.get_automation_execution(AutomationExecutionId=eid)["AutomationExecution"]
             ["AutomationExecutionStatus"] == "Waiting")
    ssm.send_automation_signal(AutomationExecutionId=eid, SignalType="Resume")
    assert steps(finish(ssm, eid)) == [("Hold", "Success"), ("Go", "Success")]


def test_assume_role_is_the_principal_of_step_calls(fast):
    ssm, iam, trail = fast.client("ssm"), fast.client("iam"), fast.client("cloudtrail")
    role = iam.create_role(RoleName="Runner", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ssm.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    create(ssm, "AsRole", doc([{"name": "Write", "action": "aws:executeAwsApi", "inputs": {
        "Service": "ssm", "Api": "PutParameter", "Name": "/written", "Value": "x", "Type": "String"}}],
        parameters={"AutomationAssumeRole": {"type": "String", "default": ""}},
        assumeRole="{{ AutomationAssumeRole }}"))
    ex = run(ssm, "AsRole", {"AutomationAssumeRole": [role]})
    assert ex["AutomationExecutionStatus"] == "Success"
    [event] = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutParameter"}])[
        "Events"]
    assert event["Username"] == ex["AutomationExecutionId"]  # the role session is named after the execution
    assert event["Resources"] == [{"ResourceType": "AWS::SSM::Parameter", "ResourceName": "/written"}]
    identity = json.loads(event["CloudTrailEvent"])["userIdentity"]
    assert identity["type"] == "AssumedRole" and identity["sessionContext"]["sessionIssuer"]["arn"] == role

    ex = run(ssm, "AsRole", {"AutomationAssumeRole": [role.replace("Runner", "Nobody")]})
    assert ex["AutomationExecutionStatus"] == "Failed" and ex["StepExecutions"] == []
    assert ex["FailureMessage"] == "The defined assume role is unable to be assumed."


def test_describe_filters_and_pagination(fast):
    ssm = fast.client("ssm")
    create(ssm, "Quick-One", doc([{"name": "Nap", "action": "aws:sleep", "inputs": {"Duration": "PT0S"}}]))
    create(ssm, "Other", doc([{"name": "Bad", "action": "aws:executeScript", "inputs": {}}]))
    ids = [run(ssm, "Quick-One")["AutomationExecutionId"] for _ in range(3)]
    bad = run(ssm, "Other")
    assert bad["AutomationExecutionStatus"] == "Failed"
    assert "aws:executeScript is not supported" in bad["StepExecutions"][0]["FailureMessage"]

    def listed(*filters, **kw):
        out = ssm.describe_automation_executions(Filters=list(filters), **kw)
        return [m["AutomationExecutionId"] for m in out["AutomationExecutionMetadataList"]], out.get("NextToken")

    assert listed({"Key": "DocumentNamePrefix", "Values": ["Quick"]})[0] == ids[::-1]  # newest first
    assert listed({"Key": "ExecutionStatus", "Values": ["Failed"]})[0] == [bad["AutomationExecutionId"]]
    first, token = listed({"Key": "DocumentNamePrefix", "Values": ["Quick"]}, MaxResults=2)
    rest, end = listed({"Key": "DocumentNamePrefix", "Values": ["Quick"]}, MaxResults=2, NextToken=token)
    assert first + rest == ids[::-1] and end is None
    step_list = ssm.describe_automation_step_executions(AutomationExecutionId=ids[0])["StepExecutions"]
    assert [s["StepName"] for s in step_list] == ["Nap"]

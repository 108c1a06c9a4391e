"""Idempotency tokens as AWS documents them: CloudFormation ClientRequestToken and
CreateChangeSet names/ClientToken, Cloud Control ClientToken, SSM Automation
ClientToken; and the state checks a retrying client runs into."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from .conftest import physical_ids, wait_for
from .templates import SEED
from .test_stack_events import events, trail


def code(call):
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def test_repeated_stack_operations_run_once(aws):
    cf = aws.client("cloudformation")
    first = cf.create_stack(StackName="idem", TemplateBody=SEED, ClientRequestToken="create-1")["StackId"]
    assert cf.create_stack(StackName="idem", TemplateBody=SEED, ClientRequestToken="create-1")["StackId"] == first
    assert code(lambda: cf.create_stack(StackName="idem", TemplateBody=SEED))[0] == "AlreadyExistsException"

    new = SEED.replace("443", "8443")
    cf.update_stack(StackName="idem", TemplateBody=new, ClientRequestToken="update-1")
    updated = cf.describe_stacks(StackName="idem")["Stacks"][0]["LastUpdatedTime"]
    assert cf.update_stack(StackName="idem", TemplateBody=new, ClientRequestToken="update-1")["StackId"] == first
    assert cf.describe_stacks(StackName="idem")["Stacks"][0]["LastUpdatedTime"] == updated
    assert [s for _, s, r in trail(events(cf, "idem")) if r == "User Initiated"] == ["CREATE_IN_PROGRESS",
                                                                                      "UPDATE_IN_PROGRESS"]
    assert code(lambda: cf.update_stack(StackName="idem", TemplateBody=new)) == \
        ("ValidationError", "No updates are to be performed.")
    assert code(lambda: cf.update_stack(StackName="idem", TemplateBody=SEED, ClientRequestToken="create-1"))[0] == \
        "TokenAlreadyExistsException"
    assert code(lambda: cf.update_stack(StackName="idem", TemplateBody=SEED, ClientRequestToken="bad token"))[0] == \
        "ValidationError"


def test_repeated_change_set_execution_runs_once(aws):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="cs", TemplateBody=SEED)
    cs = cf.create_change_set(StackName="cs", ChangeSetName="driftsync-abc123", TemplateBody=SEED.replace("443", "444"),
                              ClientToken="create-abc123")
    again = cf.create_change_set(StackName="cs", ChangeSetName="driftsync-abc123", TemplateBody=SEED.replace("443", "444"),
                                 ClientToken="create-abc123")
    assert (again["Id"], again["StackId"]) == (cs["Id"], cs["StackId"])
    err = code(lambda: cf.create_change_set(StackName="cs", ChangeSetName="driftsync-abc123", TemplateBody=SEED))
    assert err == ("AlreadyExistsException",
                   "ChangeSet driftsync-abc123 cannot be created due to a mismatch with existing attribute ClientToken")
    assert code(lambda: cf.create_change_set(StackName="cs", ChangeSetName="new", TemplateBody=SEED,
                                             ChangeSetType="CREATE"))[0] == "ValidationError"
    cf.create_stack(StackName="elsewhere", TemplateBody=SEED)
    cf.create_change_set(StackName="elsewhere", ChangeSetName="driftsync-abc123", TemplateBody=SEED.replace("443", "1"))
    [summary] = cf.list_change_sets(StackName="cs")["Summaries"]  # a crashed run finds its change set
    assert (summary["ChangeSetName"], summary["ExecutionStatus"], summary["Status"]) == \
        ("driftsync-abc123", "AVAILABLE", "CREATE_COMPLETE")

    cf.execute_change_set(ChangeSetName="driftsync-abc123", StackName="cs", ClientRequestToken="exec-abc123")
    cf.execute_change_set(ChangeSetName="driftsync-abc123", StackName="cs", ClientRequestToken="exec-abc123")
    assert [s for _, s, r in trail(events(cf, "cs"), "exec-abc123") if r == "User Initiated"] == ["UPDATE_IN_PROGRESS"]
    assert cf.describe_change_set(ChangeSetName=cs["Id"])["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert code(lambda: cf.execute_change_set(ChangeSetName=cs["Id"]))[0] == "InvalidChangeSetStatus"
    assert code(lambda: cf.execute_change_set(ChangeSetName="nope", StackName="cs"))[0] == "ChangeSetNotFound"


def test_cloud_control_client_token(aws, fault):
    cf, cc, ec2 = aws.client("cloudformation"), aws.client("cloudcontrol"), aws.client("ec2")
    cf.create_stack(StackName="cc", TemplateBody=SEED)
    group_id = physical_ids(cf, "cc")["WebSG"]
    patch = json.dumps([{"op": "add", "path": "/Tags/-", "value": {"Key": "owner", "Value": "driftsync"}}])
    args = {"TypeName": "AWS::EC2::SecurityGroup", "Identifier": group_id, "PatchDocument": patch,
            "ClientToken": "revert-sg-1"}
    first = cc.update_resource(**args)["ProgressEvent"]
    second = cc.update_resource(**args)["ProgressEvent"]
    assert second["RequestToken"] == first["RequestToken"]
    tags = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["Tags"]
    assert sorted(t["Key"] for t in tags if not t["Key"].startswith("aws:")) == ["app", "owner"]  # applied once
    other = dict(args, PatchDocument=json.dumps([{"op": "remove", "path": "/Tags/0"}]))
    assert code(lambda: cc.update_resource(**other))[0] == "ClientTokenConflictException"

    # A handler that fails: the request ends FAILED and nothing changes.
    fault(kind="resource_failure", identifier=group_id, reason="Rate exceeded for ec2:RevokeSecurityGroupIngress",
          code="Throttling")
    time.sleep(0.25)  # the first request is no longer in progress
    failed = cc.update_resource(TypeName="AWS::EC2::SecurityGroup", Identifier=group_id,
                                PatchDocument=json.dumps([{"op": "remove", "path": "/SecurityGroupIngress/0"}]))
    token = failed["ProgressEvent"]["RequestToken"]
    event = wait_for(lambda: (lambda e: e if e["OperationStatus"] != "IN_PROGRESS" else None)(
        cc.get_resource_request_status(RequestToken=token)["ProgressEvent"]))
    assert (event["OperationStatus"], event["ErrorCode"], event["StatusMessage"]) == \
        ("FAILED", "Throttling", "Rate exceeded for ec2:RevokeSecurityGroupIngress")
    assert len(ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]) == 1


def test_automation_client_token(aws):
    ssm = aws.client("ssm")
    doc = {"schemaVersion": "0.3", "parameters": {"Target": {"type": "String"}},
           "mainSteps": [{"name": "Nap", "action": "aws:sleep", "inputs": {"Duration": "PT0S"}}]}
    ssm.create_document(Name="Revert", Content=json.dumps(doc), DocumentType="Automation")
    token = str(uuid.uuid4())
    start = ssm.start_automation_execution
    first = start(DocumentName="Revert", Parameters={"Target": ["sg-1"]}, ClientToken=token)["AutomationExecutionId"]
    again = start(DocumentName="Revert", Parameters={"Target": ["sg-1"]}, ClientToken=token.upper())
    assert again["AutomationExecutionId"] == first  # case-insensitive
    assert len(ssm.describe_automation_executions()["AutomationExecutionMetadataList"]) == 1
    assert code(lambda: start(DocumentName="Revert", Parameters={"Target": ["sg-2"]}, ClientToken=token))[0] == \
        "IdempotentParameterMismatch"
    assert code(lambda: start(DocumentName="Revert", Parameters={"Target": ["sg-1"]}, ClientToken="x" * 36))[0] == \
        "ValidationException"


@pytest.fixture
def paced(aws):
    aws.control("POST", "/_emulator/config", {"stack_operation_seconds": 0.6})
    yield aws
    aws.control("POST", "/_emulator/config", {"stack_operation_seconds": 0})


def test_a_run_killed_while_waiting_finds_the_operation_in_progress(paced):
    cf = paced.client("cloudformation")
    cf.create_stack(StackName="slow", TemplateBody=SEED, ClientRequestToken="create-1")
    assert cf.describe_stacks(StackName="slow")["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
    assert code(lambda: cf.update_stack(StackName="slow", TemplateBody=SEED.replace("443", "1"))) == \
        ("ValidationError", f"Stack:{cf.describe_stacks(StackName='slow')['Stacks'][0]['StackId']} is in "
                            "CREATE_IN_PROGRESS state and can not be updated.")
    wait_for(lambda: cf.describe_stacks(StackName="slow")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE", 5)
    created = events(cf, "slow")
    assert created[-1]["ResourceStatus"] == "CREATE_COMPLETE"
    assert 0.5 <= (created[-1]["Timestamp"] - created[0]["Timestamp"]).total_seconds() <= 0.7

    cs = cf.create_change_set(StackName="slow", ChangeSetName="next", TemplateBody=SEED.replace("443", "444"))
    cf.execute_change_set(ChangeSetName=cs["Id"], ClientRequestToken="exec-1")
    # The first run is killed here; the second one looks before it acts.
    assert cf.describe_change_set(ChangeSetName=cs["Id"])["ExecutionStatus"] == "EXECUTE_IN_PROGRESS"
    assert cf.describe_stacks(StackName="slow")["Stacks"][0]["StackStatus"] == "UPDATE_IN_PROGRESS"
    cf.execute_change_set(ChangeSetName=cs["Id"], ClientRequestToken="exec-1")  # a retry: accepted, not re-run
    assert code(lambda: cf.execute_change_set(ChangeSetName=cs["Id"]))[0] == "InvalidChangeSetStatus"
    assert code(lambda: cf.create_change_set(StackName="slow", ChangeSetName="other", TemplateBody=SEED))[0] == \
        "ValidationError"
    wait_for(lambda: cf.describe_stacks(StackName="slow")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE", 5)
    assert cf.describe_change_set(ChangeSetName=cs["Id"])["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert [s for _, s, r in trail(events(cf, "slow"), "exec-1") if r == "User Initiated"] == ["UPDATE_IN_PROGRESS"]

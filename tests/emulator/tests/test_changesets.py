"""Change sets: Replacement and Details from the resource schemas, and updates
that keep physical ids when no createOnly property changed."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .conftest import physical_ids
from .templates import SEED


def changes_by_id(cf, cs_id):
    return {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
            for c in cf.describe_change_set(ChangeSetName=cs_id)["Changes"]}


def test_port_only_update_keeps_the_group(aws):
    cf, ec2 = aws.client("cloudformation"), aws.client("ec2")
    cf.create_stack(StackName="ports", TemplateBody=SEED)
    before = physical_ids(cf, "ports")["WebSG"]
    cs = cf.create_change_set(StackName="ports", ChangeSetName="port", TemplateBody=SEED.replace("443", "8443"))
    rc = changes_by_id(cf, cs["Id"])["WebSG"]
    assert (rc["Action"], rc["Replacement"], rc["PhysicalResourceId"], rc["Scope"]) == ("Modify", "False", before, ["Properties"])
    assert rc["Details"] == [{"Target": {"Attribute": "Properties", "Name": "SecurityGroupIngress",
                                         "RequiresRecreation": "Never"},
                              "Evaluation": "Static", "ChangeSource": "DirectModification"}]
    cf.execute_change_set(ChangeSetName=cs["Id"])
    assert physical_ids(cf, "ports")["WebSG"] == before
    perms = ec2.describe_security_groups(GroupIds=[before])["SecurityGroups"][0]["IpPermissions"]
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in perms] == [(8443, "10.0.0.0/8")]
    # UpdateStack takes the same path
    cf.update_stack(StackName="ports", TemplateBody=SEED.replace("443", "444"))
    assert physical_ids(cf, "ports")["WebSG"] == before


def test_create_only_change_replaces_and_parameter_changes_are_attributed(aws):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="repl", TemplateBody=SEED)
    cs = cf.create_change_set(StackName="repl", ChangeSetName="desc",
                              TemplateBody=SEED.replace("web tier", "web tier v2"))
    rc = changes_by_id(cf, cs["Id"])["WebSG"]
    assert rc["Replacement"] == "True"
    assert rc["Details"][0]["Target"] == {"Attribute": "Properties", "Name": "GroupDescription", "RequiresRecreation": "Always"}
    cs = cf.create_change_set(StackName="repl", ChangeSetName="param", UsePreviousTemplate=True,
                              Parameters=[{"ParameterKey": "AllowedCidr", "ParameterValue": "192.168.0.0/16"}])
    [detail] = changes_by_id(cf, cs["Id"])["WebSG"]["Details"]
    assert (detail["ChangeSource"], detail["CausingEntity"], detail["Target"]["Name"]) == \
        ("ParameterReference", "AllowedCidr", "SecurityGroupIngress")


def test_added_and_removed_resources(aws):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="addrm", TemplateBody=SEED)
    template = SEED.replace("  WebSG:", "  Logs:\n    Type: AWS::Logs::LogGroup\n    Properties: {RetentionInDays: 1}\n  OtherSG:")
    cs = cf.create_change_set(StackName="addrm", ChangeSetName="swap", TemplateBody=template)
    changes = changes_by_id(cf, cs["Id"])
    assert changes["Logs"]["Action"] == "Add" and changes["OtherSG"]["Action"] == "Add"
    assert changes["WebSG"]["Action"] == "Remove" and changes["WebSG"]["PolicyAction"] == "Delete"


def test_revert_drift_without_drift_has_no_changes_and_cannot_execute(aws):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="clean", TemplateBody=SEED)
    cs = cf.create_change_set(StackName="clean", ChangeSetName="noop", TemplateBody=SEED, DeploymentMode="REVERT_DRIFT")
    described = cf.describe_change_set(ChangeSetName=cs["Id"])
    assert described["Status"] == "FAILED" and described["ExecutionStatus"] == "UNAVAILABLE"
    assert described["Changes"] == []
    with pytest.raises(ClientError) as err:
        cf.execute_change_set(ChangeSetName=cs["Id"])
    assert err.value.response["Error"]["Code"] == "InvalidChangeSetStatus"


def test_revert_drift_restores_tags_and_scalars(aws):
    cf, sqs = aws.client("cloudformation"), aws.client("sqs")
    template = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {VisibilityTimeout: 60, Tags: [{Key: env, Value: dev}]}\n"
    cf.create_stack(StackName="q", TemplateBody=template)
    url = physical_ids(cf, "q")["Q"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})
    sqs.tag_queue(QueueUrl=url, Tags={"extra": "1"})
    cs = cf.create_change_set(StackName="q", ChangeSetName="r", TemplateBody=template, DeploymentMode="REVERT_DRIFT")
    details = changes_by_id(cf, cs["Id"])["Q"]["Details"]
    assert {(d["Target"]["Path"], d["Target"]["AttributeChangeType"]) for d in details} == \
        {("/VisibilityTimeout", "Modify"), ("/Tags/1", "Remove")}
    cf.execute_change_set(ChangeSetName=cs["Id"])
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "60"
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}

"""The seed scenario, end to end through boto3: a security group allowing 443
from 10.0.0.0/8; someone opens 22 to the world out of band; drift detection
reports exactly that; REVERT_DRIFT, or Cloud Control UpdateResource, removes
it; the group keeps its id and its other rules."""

from __future__ import annotations

import json
import time

from .conftest import physical_ids, wait_for_detection
from .templates import SEED

OPEN_SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def deploy_and_break(aws):
    cf, ec2 = aws.client("cloudformation"), aws.client("ec2")
    cf.create_stack(StackName="seed", TemplateBody=SEED)
    group_id = physical_ids(cf, "seed")["WebSG"]
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[OPEN_SSH])
    return cf, ec2, group_id


def ingress(ec2, group_id):
    perms = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]
    return sorted((p["IpProtocol"], p["FromPort"], r["CidrIp"]) for p in perms for r in p["IpRanges"])


def test_detection_reports_exactly_the_added_rule(aws):
    cf, _, group_id = deploy_and_break(aws)
    det = cf.detect_stack_drift(StackName="seed")["StackDriftDetectionId"]
    status = wait_for_detection(cf, det)
    assert (status["DetectionStatus"], status["StackDriftStatus"], status["DriftedStackResourceCount"]) == \
        ("DETECTION_COMPLETE", "DRIFTED", 1)
    [drift] = cf.describe_stack_resource_drifts(StackName="seed")["StackResourceDrifts"]
    assert drift["PhysicalResourceId"] == group_id
    assert drift["StackResourceDriftStatus"] == "MODIFIED"
    assert drift["PropertyDifferences"] == [{
        "PropertyPath": "/SecurityGroupIngress/1",
        "ExpectedValue": "null",
        "ActualValue": json.dumps({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"},
                                  separators=(",", ":")),
        "DifferenceType": "ADD",
    }]
    expected = json.loads(drift["ExpectedProperties"])
    assert expected["SecurityGroupIngress"] == [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                                 "CidrIp": "10.0.0.0/8"}]
    assert len(json.loads(drift["ActualProperties"])["SecurityGroupIngress"]) == 2


def test_revert_drift_change_set_removes_the_rule_and_keeps_the_group(aws):
    cf, ec2, group_id = deploy_and_break(aws)
    cs = cf.create_change_set(StackName="seed", ChangeSetName="revert", TemplateBody=SEED,
                              DeploymentMode="REVERT_DRIFT")
    described = cf.describe_change_set(ChangeSetName=cs["Id"])
    assert described["Status"] == "CREATE_COMPLETE" and described["DeploymentMode"] == "REVERT_DRIFT"
    [change] = described["Changes"]
    rc = change["ResourceChange"]
    assert (rc["Action"], rc["LogicalResourceId"], rc["PhysicalResourceId"], rc["Replacement"]) == \
        ("Modify", "WebSG", group_id, "False")
    assert rc["ResourceDriftStatus"] == "MODIFIED"
    [detail] = rc["Details"]
    assert detail["Target"]["Name"] == "SecurityGroupIngress"
    assert detail["Target"]["RequiresRecreation"] == "Never"
    assert detail["Target"]["AttributeChangeType"] == "Remove"
    assert json.loads(detail["Target"]["Drift"]["ActualValue"])["FromPort"] == 22
    cf.execute_change_set(ChangeSetName=cs["Id"])
    assert physical_ids(cf, "seed")["WebSG"] == group_id
    assert ingress(ec2, group_id) == [("tcp", 443, "10.0.0.0/8")]
    det = cf.detect_stack_drift(StackName="seed")["StackDriftDetectionId"]
    assert wait_for_detection(cf, det)["StackDriftStatus"] == "IN_SYNC"


def test_cloud_control_patch_removes_the_rule_and_keeps_the_group(aws):
    _, ec2, group_id = deploy_and_break(aws)
    cc = aws.client("cloudcontrol")
    props = json.loads(cc.get_resource(TypeName="AWS::EC2::SecurityGroup", Identifier=group_id)
                       ["ResourceDescription"]["Properties"])
    index = next(i for i, r in enumerate(props["SecurityGroupIngress"]) if r["FromPort"] == 22)
    patch = [{"op": "remove", "path": f"/SecurityGroupIngress/{index}"}]
    event = cc.update_resource(TypeName="AWS::EC2::SecurityGroup", Identifier=group_id,
                               PatchDocument=json.dumps(patch))["ProgressEvent"]
    assert event["Operation"] == "UPDATE" and event["OperationStatus"] in ("IN_PROGRESS", "SUCCESS")
    deadline = time.monotonic() + 5
    while event["OperationStatus"] == "IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.05)
        event = cc.get_resource_request_status(RequestToken=event["RequestToken"])["ProgressEvent"]
    assert event["OperationStatus"] == "SUCCESS"
    assert ingress(ec2, group_id) == [("tcp", 443, "10.0.0.0/8")]
    assert ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["GroupId"] == group_id

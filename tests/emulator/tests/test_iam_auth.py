"""IAM enforcement after POST /moto-api/reset-auth, on the operations the
emulator answers itself and on stack-scoped CloudFormation policies. Auth is
process-wide, so these tests start their own emulator (the launcher's)."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from .test_launcher import start

TEMPLATE = (Path(__file__).resolve().parents[3] / "examples" / "infra" / "stacks" / "web-sg.yaml").read_text()


def _post(url: str, path: str, body: bytes, ctype: str = "application/json") -> Any:
    req = urllib.request.Request(url + path, data=body, method="POST", headers={"Content-Type": ctype})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"null")


@pytest.fixture(scope="module")
def enforced() -> Any:
    """A stack `web-sg` and an IAM user whose policy allows stack reads on
    web-sg only, drift detection but not the security group's read handler."""
    proc, url = start()
    creds = _post(url, "/_emulator/accounts", b"{}")
    kw = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": creds["access_key_id"],
          "aws_secret_access_key": creds["secret_access_key"], "aws_session_token": creds["session_token"]}
    cf = boto3.client("cloudformation", **kw)
    cf.create_stack(StackName="web-sg", TemplateBody=TEMPLATE, Parameters=[
        {"ParameterKey": "Env", "ParameterValue": "prod"}, {"ParameterKey": "OfficeCidr", "ParameterValue": "10.0.0.0/8"}])
    while cf.describe_stacks(StackName="web-sg")["Stacks"][0]["StackStatus"].endswith("IN_PROGRESS"):
        time.sleep(0.1)
    cf.create_stack(StackName="other", TemplateBody=TEMPLATE, Parameters=[
        {"ParameterKey": "Env", "ParameterValue": "dev"}, {"ParameterKey": "OfficeCidr", "ParameterValue": "10.0.0.0/8"}])
    iam = boto3.client("iam", **kw)
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["cloudformation:GetTemplate", "cloudformation:DetectStackDrift",
                                       "cloudformation:CreateChangeSet"],
         "Resource": "arn:aws:cloudformation:us-east-1:*:stack/web-sg/*"},
        {"Effect": "Allow", "Action": ["cloudformation:GetResource"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    _post(url, "/moto-api/reset-auth", b"0", "text/plain")
    user = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"]}
    yield user
    proc.stdin.close()
    proc.wait(timeout=10)


def _code(call: Any) -> str:
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response["Error"]["Code"]


def test_a_policy_scoped_to_a_stack_arn_allows_that_stack_only(enforced):
    cf = boto3.client("cloudformation", **enforced)
    assert cf.get_template(StackName="web-sg")["TemplateBody"]
    assert _code(lambda: cf.get_template(StackName="other")) == "AccessDenied"


def test_emulated_operations_are_authorised(enforced):
    assert _code(lambda: boto3.client("cloudtrail", **enforced).lookup_events()) == "AccessDenied"
    cf = boto3.client("cloudformation", **enforced)
    assert _code(lambda: cf.describe_stack_resource_drifts(StackName="web-sg")) == "AccessDenied"


def test_drift_detection_needs_the_types_read_handler_permissions(enforced):
    cf = boto3.client("cloudformation", **enforced)
    with pytest.raises(ClientError) as e:
        cf.detect_stack_drift(StackName="web-sg")
    assert "ec2:DescribeSecurityGroups" in e.value.response["Error"]["Message"]


def test_cloud_control_reads_need_the_types_read_handler_permissions(enforced):
    cc = boto3.client("cloudcontrol", **enforced)
    with pytest.raises(ClientError) as e:
        cc.get_resource(TypeName="AWS::EC2::SecurityGroup", Identifier="sg-12345678")
    assert "ec2:DescribeSecurityGroups" in e.value.response["Error"]["Message"]


def test_a_request_a_hook_rewrites_keeps_its_signature_checked(enforced):
    # No ChangeSetType: the emulator rewrites it to UPDATE before moto sees it.
    def create(**creds: Any) -> Any:
        cf = boto3.client("cloudformation", **{**enforced, **creds})
        return cf.create_change_set(StackName="web-sg", ChangeSetName=f"c{time.time_ns()}",
                                    TemplateBody=TEMPLATE.replace("web tier (", "web tier v2 ("),
                                    Parameters=[{"ParameterKey": "Env", "UsePreviousValue": True},
                                                {"ParameterKey": "OfficeCidr", "UsePreviousValue": True}])

    assert create()["Id"].startswith("arn:aws:cloudformation:")
    assert _code(lambda: create(aws_secret_access_key="wrong")) == "SignatureDoesNotMatch"

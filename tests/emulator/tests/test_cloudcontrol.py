"""Cloud Control API over the emulated types."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .conftest import physical_ids
from .templates import ALL_TYPES


@pytest.fixture
def cc(aws):
    return aws.client("cloudcontrol")


def error_code(call):
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def test_get_and_list_read_live_state(aws, cc):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="cc", TemplateBody=ALL_TYPES, Capabilities=["CAPABILITY_IAM"])
    ids = physical_ids(cf, "cc")
    bucket = json.loads(cc.get_resource(TypeName="AWS::S3::Bucket", Identifier=ids["Bucket"])
                        ["ResourceDescription"]["Properties"])
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"} and bucket["BucketName"] == ids["Bucket"]
    role = json.loads(cc.get_resource(TypeName="AWS::IAM::Role", Identifier=ids["Role"])["ResourceDescription"]["Properties"])
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    listed = cc.list_resources(TypeName="AWS::SQS::Queue")["ResourceDescriptions"]
    assert [d["Identifier"] for d in listed] == [ids["Queue"]]
    aws.client("sqs").create_queue(QueueName="second")
    page = cc.list_resources(TypeName="AWS::SQS::Queue", MaxResults=1)
    assert len(page["ResourceDescriptions"]) == 1 and page["NextToken"]
    rest = cc.list_resources(TypeName="AWS::SQS::Queue", MaxResults=1, NextToken=page["NextToken"])
    assert {d["Identifier"] for d in page["ResourceDescriptions"] + rest["ResourceDescriptions"]} == \
        {ids["Queue"], ids["Queue"].rsplit("/", 1)[0] + "/second"}


def test_update_applies_patch_in_cloudformation_names(aws, cc):
    ssm = aws.client("ssm")
    ssm.put_parameter(Name="/p", Value="a", Type="String", Tags=[{"Key": "k", "Value": "v"}])
    patch = [{"op": "replace", "path": "/Value", "value": "b"}, {"op": "add", "path": "/Tags/k2", "value": "v2"}]
    cc.update_resource(TypeName="AWS::SSM::Parameter", Identifier="/p", PatchDocument=json.dumps(patch))
    assert ssm.get_parameter(Name="/p")["Parameter"]["Value"] == "b"
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/p")["TagList"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("k", "v"), ("k2", "v2")]


def test_errors_follow_cloud_control(aws, cc):
    aws.client("logs").create_log_group(logGroupName="g")
    assert error_code(lambda: cc.update_resource(TypeName="AWS::Logs::LogGroup", Identifier="g", PatchDocument=json.dumps(
        [{"op": "replace", "path": "/LogGroupName", "value": "h"}]))) == "NotUpdatableException"
    assert error_code(lambda: cc.get_resource(TypeName="AWS::Logs::LogGroup", Identifier="nope")) == "ResourceNotFoundException"
    assert error_code(lambda: cc.get_resource(TypeName="AWS::Not::AType", Identifier="x")) == "TypeNotFoundException"
    assert error_code(lambda: cc.get_resource_request_status(RequestToken="missing")) == "RequestTokenNotFoundException"
    assert error_code(lambda: cc.update_resource(TypeName="AWS::Logs::LogGroup", Identifier="g", PatchDocument=json.dumps(
        [{"op": "remove", "path": "/NoSuchProperty"}]))) == "InvalidRequestException"
    assert error_code(lambda: cc.delete_resource(TypeName="AWS::Logs::LogGroup", Identifier="g")) == "UnknownOperationException"


def test_concurrent_update_is_refused_until_the_first_finishes(aws, cc):
    aws.client("logs").create_log_group(logGroupName="busy")
    aws.control("POST", "/_emulator/config", {"cloudcontrol_seconds": 5})
    try:
        patch = json.dumps([{"op": "add", "path": "/RetentionInDays", "value": 3}])
        event = cc.update_resource(TypeName="AWS::Logs::LogGroup", Identifier="busy", PatchDocument=patch)["ProgressEvent"]
        assert event["OperationStatus"] == "IN_PROGRESS"
        assert error_code(lambda: cc.update_resource(TypeName="AWS::Logs::LogGroup", Identifier="busy",
                                                     PatchDocument=patch)) == "ConcurrentOperationException"
    finally:
        aws.control("POST", "/_emulator/config", {"cloudcontrol_seconds": 0.2})

"""CloudTrail LookupEvents over every call the emulator answered: who (IAM user,
role session, root), what, which resources, filters, time range, pagination."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import REGION


def code(call):
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"]


def lookup(trail, key=None, value=None, **kw):
    attrs = [{"AttributeKey": key, "AttributeValue": value}] if key else []
    return trail.lookup_events(LookupAttributes=attrs, **kw)["Events"]


def test_events_name_the_principal_and_the_resources(aws, emulator):
    iam, trail = aws.client("iam"), aws.client("cloudtrail")
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"],
             "aws_session_token": None}
    aws.client("s3", **alice).create_bucket(Bucket="alices-bucket")
    ssm = aws.client("ssm", **alice)
    ssm.put_parameter(Name="/alice/flag", Value="1", Type="String")
    with pytest.raises(ClientError):
        ssm.put_parameter(Name="/alice/flag", Value="2", Type="String")  # exists: ParameterAlreadyExists
    ssm.get_parameter(Name="/alice/flag")

    [bucket] = lookup(trail, "EventName", "CreateBucket")
    assert (bucket["Username"], bucket["EventSource"], bucket["AccessKeyId"]) == \
        ("alice", "s3.amazonaws.com", key["AccessKeyId"])
    assert bucket["Resources"] == [{"ResourceType": "AWS::S3::Bucket", "ResourceName": "alices-bucket"}]
    failed, ok = lookup(trail, "ResourceName", "/alice/flag", MaxResults=50)[1:]  # newest first; [0] is the read
    assert json.loads(failed["CloudTrailEvent"])["errorCode"] == "ParameterAlreadyExists"
    record = json.loads(ok["CloudTrailEvent"])
    assert "errorCode" not in record and record["requestParameters"]["name"] == "/alice/flag"
    assert record["userIdentity"]["arn"] == f"arn:aws:iam::{aws.account_id}:user/alice"
    assert record["eventType"] == "AwsApiCall" and record["recipientAccountId"] == aws.account_id

    [created] = lookup(trail, "EventName", "CreateUser")  # made with the fixture's STS session
    assert created["Username"] == "emulator"
    identity = json.loads(created["CloudTrailEvent"])["userIdentity"]
    assert identity["type"] == "AssumedRole" and identity["sessionContext"]["sessionIssuer"]["userName"] == "emulator"
    assert created["Resources"] == [{"ResourceType": "AWS::IAM::User", "ResourceName": "alice"}]

    reads = lookup(trail, "ReadOnly", "true")
    assert reads and all(e["ReadOnly"] == "true" for e in reads)
    assert {e["EventName"] for e in reads} >= {"GetParameter"}
    assert {e["EventName"] for e in lookup(trail, "Username", "alice")} == \
        {"CreateBucket", "PutParameter", "GetParameter"}
    assert {e["EventName"] for e in lookup(trail, "AccessKeyId", key["AccessKeyId"])} == \
        {"CreateBucket", "PutParameter", "GetParameter"}
    assert [e["EventName"] for e in lookup(trail, "EventSource", "s3.amazonaws.com")] == ["CreateBucket"]
    assert [e["EventName"] for e in lookup(trail, "ResourceType", "AWS::S3::Bucket")] == ["CreateBucket"]
    assert lookup(trail, "EventId", bucket["EventId"])[0]["EventName"] == "CreateBucket"

    root = boto3.client("ssm", endpoint_url=emulator.url, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")
    root.put_parameter(Name="/root-made", Value="1", Type="String", Overwrite=True)
    root_trail = boto3.client("cloudtrail", endpoint_url=emulator.url, region_name=REGION,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
    [mine] = lookup(root_trail, "ResourceName", "/root-made")
    assert mine["Username"] == "root"
    assert lookup(trail, "ResourceName", "/root-made") == []  # another account's trail


def test_time_range_pagination_and_errors(aws):
    sqs, trail = aws.client("sqs"), aws.client("cloudtrail")
    urls = [sqs.create_queue(QueueName=f"q{i}")["QueueUrl"] for i in range(5)]
    pages, token = [], None
    while True:
        out = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateQueue"}],
                                  MaxResults=2, **({"NextToken": token} if token else {}))
        pages.append([e["Resources"][0]["ResourceName"] if e["Resources"] else None for e in out["Events"]])
        token = out.get("NextToken")
        if not token:
            break
    assert pages == [["q4", "q3"], ["q2", "q1"], ["q0"]]  # newest first, no overlap
    times = [e["EventTime"] for e in lookup(trail, "EventName", "CreateQueue")]
    assert times == sorted(times, reverse=True)
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert lookup(trail, "EventName", "CreateQueue", StartTime=future, EndTime=future + timedelta(hours=1)) == []
    assert len(lookup(trail, "EventName", "CreateQueue", EndTime=future)) == 5
    assert len(urls) == 5

    two = [{"AttributeKey": "EventName", "AttributeValue": "CreateQueue"},
           {"AttributeKey": "Username", "AttributeValue": "emulator"}]
    assert code(lambda: trail.lookup_events(LookupAttributes=two)) == "InvalidLookupAttributesException"
    assert code(lambda: trail.lookup_events(StartTime=future, EndTime=future - timedelta(days=1))) == \
        "InvalidTimeRangeException"
    assert code(lambda: trail.lookup_events(MaxResults=51)) == "InvalidMaxResultsException"
    assert code(lambda: trail.lookup_events(NextToken="garbage")) == "InvalidNextTokenException"

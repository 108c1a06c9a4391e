"""Wire behaviour: unsupported calls, fault injection, call counting, audit log,
account isolation and reset."""

from __future__ import annotations

import json
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ConnectionClosedError

from .conftest import REGION
from .templates import SEED


@pytest.fixture(autouse=True)
def no_faults(aws):
    yield
    aws.control("DELETE", "/_emulator/faults")


def error(call):
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"]


def raw_post(url, body, headers):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def test_unimplemented_calls_answer_in_aws_error_shape(aws):
    assert error(lambda: aws.client("cloudformation").detect_stack_set_drift(StackSetName="x")) == ("InvalidAction", 400)
    status, ctype, body = raw_post(aws.url, b"Action=NoSuchAction&Version=2010-05-15", {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/cloudformation/aws4_request, SignedHeaders=host, Signature=x"})
    assert status == 400 and b"<Code>InvalidAction</Code>" in body and b"<html" not in body.lower()
    status, ctype, body = raw_post(aws.url, b"{}", {
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.NoSuchThing",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=x"})
    assert status == 400 and json.loads(body)["__type"] == "UnknownOperationException"


def test_throttling_uses_each_protocols_real_shape(aws):
    aws.control("POST", "/_emulator/faults", [{"kind": "throttle", "service": "cloudformation"},
                                              {"kind": "throttle", "operation": "DescribeParameters"}])
    assert error(lambda: aws.client("cloudformation").list_stacks()) == ("Throttling", 400)
    assert error(lambda: aws.client("ssm").describe_parameters()) == ("ThrottlingException", 400)
    aws.client("ssm").put_parameter(Name="/ok", Value="1", Type="String")  # other SSM calls pass


def test_throttling_for_a_fraction_and_count_limited_errors(aws):
    aws.control("POST", "/_emulator/config", {"seed": 42})
    aws.control("POST", "/_emulator/faults", {"kind": "throttle", "service": "sqs", "rate": 0.5})
    sqs = aws.client("sqs")
    outcomes = []
    for _ in range(40):
        try:
            sqs.list_queues()
            outcomes.append("ok")
        except ClientError as e:
            outcomes.append(e.response["Error"]["Code"])
    assert 8 < outcomes.count("RequestThrottled") < 32 and "ok" in outcomes
    aws.control("DELETE", "/_emulator/faults")
    aws.control("POST", "/_emulator/faults", {"kind": "error", "status": 503, "code": "ServiceUnavailable", "count": 2,
                                              "service": "cloudformation"})
    cf = aws.client("cloudformation", config=Config(retries={"max_attempts": 5, "mode": "standard"}))
    cf.list_stacks()  # two 503s, retried by the SDK, then success
    [rule] = aws.control("GET", "/_emulator/faults")["faults"]
    assert rule["hits"] == 2


def test_latency_and_dropped_connections(aws):
    aws.control("POST", "/_emulator/faults", {"kind": "latency", "latency_ms": 300, "service": "sns"})
    started = time.monotonic()
    aws.client("sns").list_topics()
    assert time.monotonic() - started >= 0.3
    aws.control("POST", "/_emulator/faults", {"kind": "drop", "service": "logs", "count": 1})
    with pytest.raises((EndpointConnectionError, ConnectionClosedError)):
        aws.client("logs").describe_log_groups()
    aws.client("logs").describe_log_groups()


def test_call_counts_and_audit_events(aws):
    aws.control("DELETE", "/_emulator/calls")
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="counted", TemplateBody=SEED)
    cf.describe_stacks(StackName="counted")
    cf.describe_stacks(StackName="counted")
    counts = aws.control("GET", "/_emulator/calls")["counts"]
    assert counts["cloudformation:DescribeStacks"] == 2 and counts["cloudformation:CreateStack"] == 1
    detail = aws.control("GET", "/_emulator/calls?detail=1")["calls"]
    assert {c["account_id"] for c in detail} == {aws.account_id}
    events = [e for e in aws.control("GET", "/_emulator/events")["events"] if e["recipientAccountId"] == aws.account_id]
    assert [e["eventName"] for e in events] == ["CreateStack"]
    assert events[0]["eventSource"] == "cloudformation.amazonaws.com"
    assert events[0]["requestParameters"]["StackName"] == "counted"


def test_accounts_are_isolated(aws, emulator):
    aws.client("sqs").create_queue(QueueName="mine")
    default = boto3.client("sqs", endpoint_url=emulator.url, region_name=REGION,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    assert "QueueUrls" not in default.list_queues() or all("mine" not in u for u in default.list_queues()["QueueUrls"])
    assert aws.client("sts").get_caller_identity()["Account"] == aws.account_id

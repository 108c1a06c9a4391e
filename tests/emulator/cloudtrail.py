"""CloudTrail LookupEvents over the emulator's audit log.

Every call the emulator answers is recorded by calls.py; this module adds, at
record time, the identity behind the access key (principals.py), the resources
the call names, and CloudTrail's requestParameters, and serves them through
LookupEvents with AWS's filters, time range and pagination, newest first.
The rest of CloudTrail (trails, event selectors, ...) is moto's."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from . import calls, principals, registry
from .protocol import AwsRequest, ServiceError
from .registry import Context

# Request parameters that name a resource: (service or "*", parameter) -> CloudFormation-style type.
_RESOURCE_PARAMS: dict[tuple[str, str], str] = {
    ("ec2", "GroupId"): "AWS::EC2::SecurityGroup",
    ("ec2", "VpcId"): "AWS::EC2::VPC",
    ("ec2", "SubnetId"): "AWS::EC2::Subnet",
    ("ec2", "InstanceId"): "AWS::EC2::Instance",
    ("ec2", "VolumeId"): "AWS::EC2::Volume",
    ("ec2", "ImageId"): "AWS::EC2::Ami",
    ("ec2", "NetworkInterfaceId"): "AWS::EC2::NetworkInterface",
    ("s3", "Bucket"): "AWS::S3::Bucket",
    ("ssm", "Name"): "AWS::SSM::Parameter",
    ("ssm", "DocumentName"): "AWS::SSM::Document",
    ("ssm", "AutomationExecutionId"): "AWS::SSM::AutomationExecution",
    ("iam", "UserName"): "AWS::IAM::User",
    ("iam", "RoleName"): "AWS::IAM::Role",
    ("iam", "GroupName"): "AWS::IAM::Group",
    ("iam", "PolicyArn"): "AWS::IAM::Policy",
    ("iam", "AccessKeyId"): "AWS::IAM::AccessKey",
    ("sts", "RoleArn"): "AWS::IAM::Role",
    ("cloudformation", "StackName"): "AWS::CloudFormation::Stack",
    ("cloudformation", "ChangeSetName"): "AWS::CloudFormation::ChangeSet",
    ("sqs", "QueueUrl"): "AWS::SQS::Queue",
    ("sqs", "QueueName"): "AWS::SQS::Queue",
    ("sns", "TopicArn"): "AWS::SNS::Topic",
    ("dynamodb", "TableName"): "AWS::DynamoDB::Table",
    ("logs", "logGroupName"): "AWS::Logs::LogGroup",
    ("lambda", "FunctionName"): "AWS::Lambda::Function",
    ("config", "ConfigRuleName"): "AWS::Config::ConfigRule",
    ("events", "Name"): "AWS::Events::Rule",
}
# Operations whose Name is not what the table above says.
_NAME_OVERRIDES = {("ssm", op): "AWS::SSM::Document" for op in (
    "CreateDocument", "UpdateDocument", "DeleteDocument", "GetDocument", "DescribeDocument",
    "UpdateDocumentDefaultVersion", "ModifyDocumentPermission", "DescribeDocumentPermission")}
_REST_PATHS = {"s3": re.compile(r"^/([^/?]+)"), "lambda": re.compile(r"/functions/([^/?]+)")}
_KEYS = {"EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId"}


def _resources(req: AwsRequest, params: dict[str, Any] | None) -> list[dict[str, str]]:
    service = req.service or ""
    out: list[dict[str, str]] = []
    if service == "cloudcontrol" and params and params.get("TypeName"):
        if params.get("Identifier"):
            out.append({"ResourceType": params["TypeName"], "ResourceName": str(params["Identifier"])})
        return out
    for name, value in (params or {}).items():
        rtype = _RESOURCE_PARAMS.get((service, name.split(".")[0]))
        if name == "Name" and (service, req.operation) in _NAME_OVERRIDES:
            rtype = _NAME_OVERRIDES[(service, req.operation or "")]
        if rtype and isinstance(value, str) and value:
            out.append({"ResourceType": rtype, "ResourceName": value})
    if not out and service in _REST_PATHS:
        m = _REST_PATHS[service].search(req.path)
        if m:
            out.append({"ResourceType": "AWS::S3::Bucket" if service == "s3" else "AWS::Lambda::Function",
                        "ResourceName": m.group(1)})
    return out


def _camel(value: Any) -> Any:
    """CloudTrail spells request parameters in lowerCamelCase."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:] if isinstance(k, str) else k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _enrich(req: AwsRequest, event: dict[str, Any]) -> None:
    found = principals.identity(req.access_key)
    event["username"] = found["username"]
    event["userIdentity"] = {k: v for k, v in found.items() if k != "username"}
    event["resources"] = _resources(req, event.get("requestParameters"))
    parsed: Any = None
    if req.protocol in ("query", "ec2", "json") and req.service and req.operation:
        try:
            from .middleware import parse_params

            parsed = json.loads(json.dumps(parse_params(req), default=str))
        except Exception:
            parsed = None
    event["cloudTrailRequestParameters"] = _camel(parsed if parsed is not None else event.get("requestParameters"))


calls.ENRICHERS.append(_enrich)


@registry.on_reset
def _reset() -> None:
    principals.forget()


def _ct_time(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%dT%H:%M:%SZ")


def cloudtrail_event(e: dict[str, Any]) -> dict[str, Any]:
    """The CloudTrailEvent document (record format version 1.08)."""
    doc: dict[str, Any] = {
        "eventVersion": "1.08", "userIdentity": e.get("userIdentity", {}), "eventTime": _ct_time(e["eventTime"]),
        "eventSource": e["eventSource"], "eventName": e["eventName"], "awsRegion": e["awsRegion"],
        "sourceIPAddress": "127.0.0.1", "userAgent": e.get("userAgent", ""),
        "requestParameters": e.get("cloudTrailRequestParameters"), "responseElements": None,
        "requestID": e["requestId"], "eventID": e["eventId"], "readOnly": e["readOnly"],
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": e["recipientAccountId"],
        "eventCategory": "Management",
    }
    if e.get("errorCode"):
        doc["errorCode"] = e["errorCode"]
    if e.get("resources"):
        doc["resources"] = [{"type": r["ResourceType"], "ARN" if r["ResourceName"].startswith("arn:") else "name":
                             r["ResourceName"]} for r in e["resources"]]
    return doc


def _matches(e: dict[str, Any], key: str, value: str) -> bool:
    if key == "EventId":
        return bool(e["eventId"] == value)
    if key == "EventName":
        return bool(e["eventName"] == value)
    if key == "ReadOnly":
        return str(e["readOnly"]).lower() == value.lower()
    if key == "Username":
        return bool(e.get("username") == value)
    if key == "EventSource":
        return bool(e["eventSource"] == value)
    if key == "AccessKeyId":
        return bool(e["accessKeyId"] == value)
    if key == "ResourceType":
        return any(r["ResourceType"] == value for r in e.get("resources", []))
    return any(r["ResourceName"] == value for r in e.get("resources", []))  # ResourceName


def _to_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(value), timezone.utc)


@registry.operation("cloudtrail", "LookupEvents")
def lookup_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    attrs = params.get("LookupAttributes") or []
    if len(attrs) > 1:
        raise ServiceError("InvalidLookupAttributesException",
                           "You cannot specify more than one lookup attribute.")
    for a in attrs:
        if a.get("AttributeKey") not in _KEYS or not a.get("AttributeValue"):
            raise ServiceError("InvalidLookupAttributesException", "Lookup attributes are not valid.")
    if params.get("EventCategory") not in (None, "insight"):
        raise ServiceError("InvalidEventCategoryException", "Event category is not valid.")
    now = datetime.now(timezone.utc)
    start = _to_utc(params["StartTime"]) if params.get("StartTime") is not None else now - timedelta(days=90)
    end = _to_utc(params["EndTime"]) if params.get("EndTime") is not None else now
    if start > end:
        raise ServiceError("InvalidTimeRangeException", "Start time must be before end time.")
    max_results = params.get("MaxResults")
    max_results = 50 if max_results is None else int(max_results)
    if not 1 <= max_results <= 50:
        raise ServiceError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    before = None
    if params.get("NextToken"):
        try:
            before = int(base64.b64decode(params["NextToken"]).decode().split(":", 1)[1])
        except Exception:
            raise ServiceError("InvalidNextTokenException", "Invalid NextToken.") from None
    if params.get("EventCategory") == "insight":  # no Insights here
        return {"Events": []}
    found: list[dict[str, Any]] = []
    more = False
    for e in reversed(calls.events(include_read_only=True)):  # newest first
        if e["recipientAccountId"] != ctx.account_id or e["awsRegion"] != ctx.region:
            continue
        if before is not None and e["seq"] >= before:
            continue
        at = datetime.fromisoformat(e["eventTime"])
        if not start <= at <= end or any(not _matches(e, a["AttributeKey"], a["AttributeValue"]) for a in attrs):
            continue
        if len(found) == max_results:
            more = True
            break
        found.append(e)
    out: dict[str, Any] = {"Events": [{
        "EventId": e["eventId"], "EventName": e["eventName"], "ReadOnly": str(e["readOnly"]).lower(),
        "AccessKeyId": e["accessKeyId"], "EventTime": datetime.fromisoformat(e["eventTime"]),
        "EventSource": e["eventSource"], "Username": e.get("username", ""), "Resources": e.get("resources", []),
        "CloudTrailEvent": json.dumps(cloudtrail_event(e), default=str),
    } for e in found]}
    if more:
        out["NextToken"] = base64.b64encode(f"lookup:{found[-1]['seq']}".encode()).decode()
    return out

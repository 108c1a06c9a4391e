"""Identify an AWS request (service, operation, account, protocol) and render
responses and errors in each protocol's real wire shape.

Successful results are serialised with moto's botocore-model-driven
serializers, so member names, list wrappers and timestamps follow the API
reference exactly; errors are rendered here because they must also work for
operations that have no model (unknown actions)."""

from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from werkzeug.datastructures import MultiDict

# Signing names that differ from botocore service names.
SIGNING_TO_SERVICE = {"cloudcontrolapi": "cloudcontrol", "monitoring": "cloudwatch", "states": "stepfunctions"}
# X-Amz-Target prefixes, for unsigned JSON requests.
TARGET_TO_SERVICE = {
    "CloudApiService": "cloudcontrol",
    "AmazonSSM": "ssm",
    "StarlingDoveService": "config",
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101": "cloudtrail",
    "Logs_20140328": "logs",
    "DynamoDB_20120810": "dynamodb",
    "AmazonSQS": "sqs",
}
CAPITAL_MESSAGE = {"cloudcontrol"}
_CRED_RE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@lru_cache(maxsize=None)
def service_model(service: str):
    from moto.core.utils import get_service_model

    return get_service_model(service)


def model_protocol(service: str) -> str | None:
    try:
        return str(service_model(service).protocol)
    except Exception:  # unknown to botocore
        return None


@dataclass
class AwsRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    service: str | None = None
    region: str = "us-east-1"
    access_key: str = "AKIAEXAMPLE"
    operation: str | None = None
    protocol: str | None = None
    form: MultiDict = field(default_factory=MultiDict)
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def account_id(self) -> str:
        # Same rule as moto: an access key issued by STS/IAM maps to its account.
        from moto.iam.models import get_account_id_from

        return get_account_id_from(self.access_key)

    def json_body(self) -> dict[str, Any]:
        return json.loads(self.body or b"{}")


def parse_request(environ: dict[str, Any], body: bytes) -> AwsRequest:
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    req = AwsRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=environ.get("PATH_INFO", "/"),
        query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        headers=headers,
        body=body,
    )
    m = _CRED_RE.search(headers.get("authorization", ""))
    if m:
        req.access_key, req.region = m.group(1), m.group(2)
        req.service = SIGNING_TO_SERVICE.get(m.group(3), m.group(3))
    target = headers.get("x-amz-target", "")
    if target and not req.service:
        req.service = TARGET_TO_SERVICE.get(target.rsplit(".", 1)[0])
    ctype = headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded") or (req.method == "GET" and "Action" in req.query):
        form = MultiDict(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        for k, vs in req.query.items():
            for v in vs:
                form.add(k, v)
        req.form = form
        req.operation = form.get("Action")
    elif target:
        req.operation = target.rsplit(".", 1)[-1]
    proto = model_protocol(req.service) if req.service else None
    if proto in ("query", "ec2") or (proto is None and req.operation and req.form):
        req.protocol = proto or "query"
    elif target or proto == "json":
        req.protocol = "json"
    else:
        req.protocol = proto
        if req.service and proto in ("rest-json", "rest-xml"):
            req.operation = _rest_operation(req, environ)
    return req


def _rest_operation(req: AwsRequest, environ: dict[str, Any]) -> str:
    """Name a REST call by matching it against the botocore model (as moto does)."""
    try:
        from moto.core.request import Request
        from moto.core.routing import get_service_router

        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(req.body)
        op, _ = get_service_router(req.service).match(Request(env))
        return str(op.name)
    except Exception:
        return f"{req.method} {req.path}"


# ---------------------------------------------------------------- responses

Response = tuple[int, dict[str, str], bytes]


def serialize_result(req: AwsRequest, operation: str, result: Any) -> Response:
    """Serialise a boto3-shaped result dict for `operation` in the request's protocol."""
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class

    model = service_model(req.service)
    protocol = "query-json" if req.protocol == "query" and req.headers.get("content-type", "").startswith("application/json") else req.protocol
    ser_cls = get_serializer_class(model.service_name, protocol)
    serializer = ser_cls(operation_model=model.operation_model(operation), value_picker=XFormedAttributePicker())
    serializer.context.request_id = req.request_id
    out = serializer.serialize(result)
    headers = {str(k): str(v) for k, v in out["headers"].items()}
    headers.setdefault("x-amzn-RequestId", req.request_id)
    body = out["body"]
    return out["status_code"], headers, body.encode("utf-8") if isinstance(body, str) else body


def error_response(req: AwsRequest, code: str, message: str, status: int = 400) -> Response:
    """An AWS error in the wire shape of the request's protocol."""
    rid = req.request_id
    proto = req.protocol or "query"
    fault = "Sender" if status < 500 else "Receiver"
    if proto == "query":
        ns = ""
        try:
            ns = service_model(req.service).metadata.get("xmlNamespace", "") if req.service else ""
        except Exception:
            pass
        ns_attr = f' xmlns="{ns}"' if ns else ""
        body = (
            f"<ErrorResponse{ns_attr}><Error><Type>{fault}</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
        return status, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, body.encode()
    if proto == "ec2":
        body = (
            f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>"
        )
        return status, {"Content-Type": "text/xml"}, body.encode()
    if proto == "rest-xml":
        body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message><RequestId>{rid}</RequestId></Error>"
        return status, {"Content-Type": "application/xml", "x-amz-request-id": rid}, body.encode()
    headers = {"x-amzn-RequestId": rid, "x-amzn-ErrorType": code}
    if proto == "rest-json":
        headers["Content-Type"] = "application/json"
        return status, headers, json.dumps({"message": message}).encode()
    version = "1.0"
    try:
        version = service_model(req.service).metadata.get("jsonVersion", "1.0") if req.service else "1.0"
        if service_model(req.service).metadata.get("awsQueryCompatible") is not None:
            headers["x-amzn-query-error"] = f"{code};{fault}"
    except Exception:
        pass
    headers["Content-Type"] = f"application/x-amz-json-{version}"
    # Services whose exception shapes name the member "Message" (Cloud Control) get that.
    key = "Message" if req.service in CAPITAL_MESSAGE else "message"
    return status, headers, json.dumps({"__type": code, key: message}).encode()


def unknown_operation(req: AwsRequest) -> Response:
    op = req.operation or f"{req.method} {req.path}"
    if req.protocol in ("query", "ec2"):
        return error_response(req, "InvalidAction", f"The action {op} is not valid for this web service.", 400)
    if req.protocol == "rest-xml":
        return error_response(req, "NotImplemented", f"{op} is not implemented by the emulator.", 400)
    return error_response(req, "UnknownOperationException", f"Operation {op} is not supported by the emulator.", 400)


# Throttling error code and HTTP status each service really uses.
THROTTLE_CODES = {
    "cloudformation": ("Throttling", 400), "iam": ("Throttling", 400), "sts": ("Throttling", 400),
    "sns": ("Throttling", 400), "ec2": ("RequestLimitExceeded", 503), "s3": ("SlowDown", 503),
    "lambda": ("TooManyRequestsException", 429), "sqs": ("RequestThrottled", 400),
}


def throttle_response(req: AwsRequest, code: str | None = None) -> Response:
    default_code, status = THROTTLE_CODES.get(req.service or "", ("ThrottlingException", 400))
    return error_response(req, code or default_code, "Rate exceeded", status)


class ServiceError(Exception):
    """Raised by emulated handlers; rendered as an AWS error of the request's protocol."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

"""Where a template comes from, as CloudFormation takes it: `TemplateBody` at most
51,200 bytes, larger templates only through `TemplateURL`, an S3 object of at most
1,000,000 bytes (moto enforced neither limit). `TemplateURL` is read from the test
bed's own S3, path-style on the test bed's host (what a client configured with
`AWS_ENDPOINT_URL` builds, as `aws cloudformation deploy --s3-bucket` does) or an
S3 URL on amazonaws.com (moto took the test bed's `127.0.0.1` as a bucket name).
The template read is handed on as `TemplateBody`, so the other hooks and moto see
one shape."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlparse

from . import registry
from .protocol import ServiceError
from .registry import Context

MAX_BODY = 51_200
MAX_URL_OBJECT = 1_000_000

# s3.amazonaws.com, s3.us-east-1.amazonaws.com, s3-us-west-2.amazonaws.com (path-style),
# and the same with a bucket in front (virtual-hosted).
_S3_HOST = re.compile(r"^(?:(?P<bucket>.+)\.)?s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$")


def _bucket_and_key(ctx: Context, url: str) -> tuple[str, str]:
    u = urlparse(url)
    own = u.netloc and u.netloc == ctx.request.headers.get("host")
    m = _S3_HOST.match(u.hostname or "")
    path = unquote(u.path.lstrip("/"))
    if m and u.scheme == "https" and m.group("bucket"):
        return m.group("bucket"), path
    if (own or (m and u.scheme == "https")) and "/" in path:
        bucket, key = path.split("/", 1)
        return bucket, key
    raise ServiceError("ValidationError", "TemplateURL must be a supported URL.")


def _read(ctx: Context, url: str) -> str:
    from moto.s3.models import s3_backends

    bucket, key = _bucket_and_key(ctx, url)
    try:
        obj = s3_backends[ctx.account_id]["aws"].get_object(bucket, key)
    except Exception:  # moto raises MissingBucket / MissingKey
        obj = None
    if obj is None:
        raise ServiceError("ValidationError", f"S3 error: The specified key does not exist. ({bucket}/{key})")
    data = obj.value
    if len(data) > MAX_URL_OBJECT:
        raise ServiceError("ValidationError", f"Template may not exceed {MAX_URL_OBJECT} bytes in size.")
    return data.decode("utf-8")


def _template_source(ctx: Context, params: dict[str, Any]) -> None:
    body = params.get("TemplateBody")
    if body is not None and len(body.encode("utf-8")) > MAX_BODY:
        raise ServiceError(
            "ValidationError",
            "1 validation error detected: Value '...' at 'templateBody' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_BODY}",
        )
    url = params.get("TemplateURL")
    if url and body is None:
        text = _read(ctx, url)
        params["TemplateBody"] = text
        del params["TemplateURL"]
        ctx.request.form.poplist("TemplateURL")
        ctx.set_form_param("TemplateBody", text)


for _op in ("CreateStack", "UpdateStack", "CreateChangeSet", "ValidateTemplate"):
    registry.before("cloudformation", _op, first=True)(_template_source)

"""IAM enforcement for what moto does not authorise itself, once
`POST /moto-api/reset-auth` has turned moto's enforcement on.

moto checks a caller's IAM policies only for the calls it serves, and for
CloudFormation only against the resource "*", so a policy scoped to stack
ARNs would be refused where AWS allows it. This module closes both gaps:

* the operations this emulator answers itself (drift, Cloud Control,
  CloudTrail, SSM Automation, Config compliance) are authorised as
  `<iam prefix>:<Operation>`; Cloud Control's prefix is `cloudformation`, as
  in AWS;
* CloudFormation calls that name a stack are authorised against the stack's
  ARN (moto's own check included, through `_determine_resource`);
* AWS reads and writes a resource with the caller's credentials in drift
  detection and Cloud Control, so those also need the resource type's
  handler permissions from its schema (`require_handler`). Where AWS would
  fail the detection of that one resource, this refuses the call: simpler,
  and just as loud.

Signatures: moto checks them on the calls it serves, against the body as
the client sent it (`signed_body`), even when a before-hook rewrote the
parameters moto sees. Enforcement is process-wide, like moto's: a test that turns it on should own
its emulator."""

from __future__ import annotations

import threading
from urllib.parse import urlencode
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .registry import Context

_local = threading.local()

# botocore service name -> IAM action prefix, where they differ.
_PREFIX = {"cloudcontrol": "cloudformation"}


def enabled() -> bool:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


def stack_arn(account_id: str, region: str, name: str) -> str:
    """The ARN a CloudFormation call on `name` (a stack name or ARN) is authorised against."""
    if name.startswith("arn:"):
        return name
    from moto.cloudformation.models import cloudformation_backends
    from moto.utilities.utils import get_partition

    backend = cloudformation_backends[account_id][region]
    for stack in list(backend.stacks.values()):
        if stack.name == name and not stack.status.startswith("DELETE_COMPLETE"):
            return stack.stack_id
    return f"arn:{get_partition(region)}:cloudformation:{region}:{account_id}:stack/{name}/*"


def _iam_request(ctx: Context) -> Any:
    from moto.iam.access_control import IAMRequest

    req = ctx.request
    headers = {k: v for k, v in req.headers.items() if k not in ("authorization", "x-amz-date")}
    headers["Authorization"] = req.headers.get("authorization", "")
    headers["X-Amz-Date"] = req.headers.get("x-amz-date", "")
    headers.setdefault("content-length", str(len(req.body)))  # WSGI keeps it out of HTTP_*; some SDKs sign it
    if "Credential=" not in headers["Authorization"]:
        from moto.iam.exceptions import AccessDeniedError

        raise AccessDeniedError(user_arn="anonymous", action=req.operation or "")
    path = req.path + ("?" + urlencode(req.query, doseq=True) if req.query else "")
    return IAMRequest(account_id=ctx.account_id, method=req.method, path=path, data={}, body=req.body,
                      headers=headers, action=req.operation or "")


def _check(ctx: Context, actions: list[str], resource: str) -> None:
    iam = _iam_request(ctx)
    for action in actions:
        iam._action = action  # the request's own name would carry the signing name, not the IAM prefix
        iam.check_action_permitted(resource)


def authorize(ctx: Context, params: dict[str, Any]) -> None:
    """Refuses (AccessDenied) an emulated call its caller's policies do not allow."""
    req = ctx.request
    if not enabled() or not req.service or not req.operation:
        return
    prefix = _PREFIX.get(req.service, req.service)
    resource = "*"
    if req.service == "cloudformation" and params.get("StackName"):
        resource = stack_arn(ctx.account_id, ctx.region, str(params["StackName"]))
    _check(ctx, [f"{prefix}:{req.operation}"], resource)


def require_handler(ctx: Context, type_name: str, handler: str) -> None:
    """Refuses the call unless the caller holds the permissions the type's
    schema lists for `handler` (read, update, ...)."""
    if not enabled():
        return
    from . import schemas

    schema = schemas.get(type_name)
    handlers = (schema.raw.get("handlers") or {}) if schema is not None else {}
    permissions = (handlers.get(handler) or {}).get("permissions") or []
    if permissions:
        _check(ctx, list(permissions), "*")


@contextmanager
def signed_body(ctx: Context) -> Iterator[None]:
    """Around a call moto serves: its signature check gets the body as the
    client signed it. moto's own copy may be empty (a parsed form), and then
    it re-encodes the parsed parameters, dropping empty ones such as
    `Capabilities=`; a hook may also have rewritten the body."""
    _local.signed_body = ctx.request.body
    try:
        yield
    finally:
        _local.signed_body = None


def _check_signature(self: Any) -> None:
    body = getattr(_local, "signed_body", None)
    if body is not None:
        self._body = body
        headers = {k: v for k, v in dict(self._headers).items() if k.lower() != "content-length"}
        self._headers = {**headers, "Content-Length": str(len(body))}
    _original_check_signature(self)


def _determine_resource(self: Any) -> str:
    """moto's CloudFormationResponse hook: the stack's ARN when the call names one."""
    name = self._get_param("StackName")
    if not name:
        return "*"
    return stack_arn(self.current_account, self.region, name)


def _install() -> None:
    global _original_check_signature
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.iam.access_control import IAMRequestBase

    CloudFormationResponse._determine_resource = _determine_resource  # type: ignore[attr-defined]
    _original_check_signature = IAMRequestBase.check_signature
    IAMRequestBase.check_signature = _check_signature  # type: ignore[method-assign]


_install()

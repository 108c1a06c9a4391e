"""Cloud Control API (awsJson1_0, target prefix CloudApiService.): GetResource,
ListResources, UpdateResource and GetResourceRequestStatus for the types that
have an adapter. moto has no Cloud Control at all, so every other operation
answers UnknownOperationException.

UpdateResource applies an RFC 6902 patch (CloudFormation property names) to
the resource's read model and converges the live resource at once; the
request reports IN_PROGRESS for `cloudcontrol_seconds`, then SUCCESS, as AWS's
asynchronous handlers do. A resource_failure fault naming the identifier makes
the request end FAILED (ErrorCode, StatusMessage) without changing anything.
ClientToken: a retry of the same request returns the same request; the token with
a different request -> ClientTokenConflictException."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import jsonpatch

from . import faults, iam_auth, registry, resources, schemas, settings
from .protocol import ServiceError
from .registry import Context
from .resources import NotFound, Where

registry.OWN_SERVICES.add("cloudcontrol")
_lock = threading.Lock()
_requests: dict[str, dict[str, Any]] = {}  # request token -> request record
_client_tokens: dict[tuple[str, str], tuple[str, tuple[str, str, str, str]]] = {}  # (account, token) -> (request, what)


@registry.on_reset
def _reset() -> None:
    with _lock:
        _requests.clear()
        _client_tokens.clear()


def _adapter(type_name: str) -> resources.Adapter:
    if schemas.get(type_name) is None:
        raise ServiceError("TypeNotFoundException", f"The type '{type_name}' cannot be found.")
    adapter = resources.get(type_name)
    if adapter is None:
        raise ServiceError("UnsupportedActionException",
                           f"Resource type {type_name} is not supported by this emulator's Cloud Control API.")
    return adapter


def _not_found(type_name: str, identifier: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException",
                        f"{type_name} Handler returned status FAILED: Resource of type '{type_name}' with identifier "
                        f"'{identifier}' was not found. (HandlerErrorCode: NotFound)")


def _read(ctx: Context, adapter: resources.Adapter, identifier: str) -> dict[str, Any]:
    where = Where(ctx.account_id, ctx.region)
    try:
        return adapter.read(where, adapter.physical_id(where, identifier))
    except NotFound:
        raise _not_found(adapter.type_name, identifier) from None


@registry.operation("cloudcontrol", "GetResource")
def get_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    adapter = _adapter(params["TypeName"])
    iam_auth.require_handler(ctx, adapter.type_name, "read")
    props = _read(ctx, adapter, params["Identifier"])
    return {"TypeName": adapter.type_name,
            "ResourceDescription": {"Identifier": params["Identifier"], "Properties": json.dumps(props)}}


@registry.operation("cloudcontrol", "ListResources")
def list_resources(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    adapter = _adapter(params["TypeName"])
    where = Where(ctx.account_id, ctx.region)
    ids = sorted(adapter.list_ids(where))
    start = int(base64.b64decode(params["NextToken"]).decode()) if params.get("NextToken") else 0
    size = int(params.get("MaxResults") or 100)
    descriptions = []
    for physical_id in ids[start:start + size]:
        try:
            props = adapter.read(where, physical_id)
        except NotFound:
            continue
        descriptions.append({"Identifier": adapter.identifier(where, physical_id), "Properties": json.dumps(props)})
    out: dict[str, Any] = {"TypeName": adapter.type_name, "ResourceDescriptions": descriptions}
    if start + size < len(ids):
        out["NextToken"] = base64.b64encode(str(start + size).encode()).decode()
    return out


def _check_patch(adapter: resources.Adapter, patch: list[dict[str, Any]]) -> None:
    schema = adapter.schema
    touched = {op.get("path", "").split("/")[1] for op in patch if op.get("path", "").count("/") >= 1}
    touched |= {op.get("from", "").split("/")[1] for op in patch if op.get("from", "").count("/") >= 1}
    create_only = sorted(touched & schema.create_only)
    if create_only:
        raise ServiceError("NotUpdatableException", "Invalid patch update: createOnlyProperties "
                           f"[{', '.join('/properties/' + p for p in create_only)}] cannot be updated")
    read_only = sorted(touched & schema.read_only)
    if read_only:
        raise ServiceError("InvalidRequestException", "Invalid patch update: readOnlyProperties "
                           f"[{', '.join('/properties/' + p for p in read_only)}] cannot be updated")


@registry.operation("cloudcontrol", "UpdateResource")
def update_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    adapter = _adapter(params["TypeName"])
    iam_auth.require_handler(ctx, adapter.type_name, "update")
    identifier = params["Identifier"]
    client_token = params.get("ClientToken")
    request = ("UPDATE", adapter.type_name, identifier, params.get("PatchDocument") or "")
    with _lock:
        if client_token and (ctx.account_id, client_token) in _client_tokens:
            token, earlier = _client_tokens[(ctx.account_id, client_token)]
            if earlier != request:
                raise ServiceError("ClientTokenConflictException",
                                   f"The client token {client_token} has already been used in another resource request.")
            return {"ProgressEvent": _event(_requests[token])}
        busy = [r for r in _requests.values() if r["TypeName"] == adapter.type_name and r["Identifier"] == identifier
                and r["account"] == ctx.account_id and time.monotonic() < r["done_at"]]
    if busy:
        raise ServiceError("ConcurrentOperationException",
                           f"Another Operation on resource {identifier} is in progress (RequestToken: {busy[0]['RequestToken']})")
    try:
        patch = json.loads(params.get("PatchDocument") or "[]")
        if not isinstance(patch, list):
            raise ValueError("a patch document is a JSON array")
    except ValueError as e:
        raise ServiceError("InvalidRequestException", f"Invalid patch document: {e}") from None
    _check_patch(adapter, patch)
    current = _read(ctx, adapter, identifier)
    try:
        desired = jsonpatch.apply_patch(current, patch)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
        raise ServiceError("InvalidRequestException", f"Invalid patch update: {e}") from None
    desired = {k: v for k, v in desired.items() if k not in adapter.schema.read_only}
    desired = schemas.coerce_properties(adapter.type_name, desired)
    where = Where(ctx.account_id, ctx.region)
    previous = {k: v for k, v in current.items() if k not in adapter.schema.read_only}
    record = {
        "TypeName": adapter.type_name, "Identifier": identifier, "RequestToken": str(uuid.uuid4()),
        "Operation": "UPDATE", "EventTime": datetime.now(timezone.utc), "account": ctx.account_id,
        "done_at": time.monotonic() + settings.get("cloudcontrol_seconds"),
    }
    failure = faults.take_resource_failure(ctx.access_key, identifier=identifier, type_name=adapter.type_name)
    if failure is not None:  # the handler fails: nothing changes
        record["ErrorCode"], record["StatusMessage"] = failure.code or "GeneralServiceException", failure.reason
    else:
        adapter.apply(where, adapter.physical_id(where, identifier), desired, previous)
        record["ResourceModel"] = json.dumps(_read(ctx, adapter, identifier))
    with _lock:
        _requests[record["RequestToken"]] = record
        if client_token:
            _client_tokens[(ctx.account_id, client_token)] = (record["RequestToken"], request)
    return {"ProgressEvent": _event(record)}


def _event(record: dict[str, Any]) -> dict[str, Any]:
    done = time.monotonic() >= record["done_at"]
    event = {k: record[k] for k in ("TypeName", "Identifier", "RequestToken", "Operation", "EventTime")}
    if not done:
        event["OperationStatus"] = "IN_PROGRESS"
    elif "ErrorCode" in record:
        event.update(OperationStatus="FAILED", ErrorCode=record["ErrorCode"], StatusMessage=record["StatusMessage"])
    else:
        event.update(OperationStatus="SUCCESS", ResourceModel=record["ResourceModel"])
    return event


@registry.operation("cloudcontrol", "GetResourceRequestStatus")
def get_request_status(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    with _lock:
        record = _requests.get(params.get("RequestToken", ""))
    if record is None or record["account"] != ctx.account_id:
        raise ServiceError("RequestTokenNotFoundException",
                           f"Request with token {params.get('RequestToken')} was not found")
    return {"ProgressEvent": _event(record)}

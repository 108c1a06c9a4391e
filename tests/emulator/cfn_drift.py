"""CloudFormation drift detection over moto's live backends.

DetectStackDrift, DescribeStackDriftDetectionStatus, DescribeStackResourceDrifts,
DetectStackResourceDrift, and DriftInformation in DescribeStacks,
ListStackResources, DescribeStackResource(s). A detection reads live state when
it starts, stays DETECTION_IN_PROGRESS for `drift_detection_seconds`, then
publishes its results; only one runs per stack at a time."""

from __future__ import annotations

import base64
import copy
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.models import Stack, cloudformation_backends

from . import drift, iam_auth, registry, resources, settings
from .moto_fixes import desired_properties, stack_tags
from .protocol import ServiceError
from .registry import Context
from .resources import NotFound, Where

_lock = threading.RLock()


@dataclass
class StackDrift:
    """Latest published drift state of one stack."""

    status: str = "NOT_CHECKED"
    last_check: datetime | None = None
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> StackResourceDrift


@dataclass
class Detection:
    id: str
    stack_id: str
    started: datetime
    ends_at: float
    results: dict[str, dict[str, Any]]
    failed_reason: str | None = None
    published: bool = False


_stacks: dict[str, StackDrift] = {}
_detections: dict[str, Detection] = {}


@registry.on_reset
def _reset() -> None:
    with _lock:
        _stacks.clear()
        _detections.clear()


def now() -> datetime:
    return datetime.now(timezone.utc)


# ------------------------------------------------------------ stack helpers

def get_stack(ctx: Context, name: str) -> Stack:
    if not name:
        raise ServiceError("ValidationError", "StackName is required")
    return cloudformation_backends[ctx.account_id][ctx.region].get_stack(name)


def stack_resources(stack: Stack) -> dict[str, Any]:
    """Logical id -> moto model of every created resource, in template order."""
    rmap = stack.resource_map
    return {lid: rmap._parsed_resources[lid] for lid in rmap._resource_json_map
            if lid in rmap._parsed_resources and rmap._parsed_resources[lid] is not None}


def resource_type(stack: Stack, logical_id: str) -> str:
    return stack.resource_map._resource_json_map[logical_id]["Type"]


def expected_properties(stack: Stack, logical_id: str) -> dict[str, Any]:
    """The resource's template properties as deployed: intrinsics resolved with the
    stack's parameters and resources, coerced to schema types, stack tags merged."""
    rmap = stack.resource_map
    raw = copy.deepcopy(rmap._resource_json_map[logical_id].get("Properties", {}))
    props = parsing.clean_json(raw, rmap)
    return desired_properties(resource_type(stack, logical_id), props, stack_tags(stack.account_id, stack.region_name, stack.stack_id))


def check_resource(stack: Stack, logical_id: str, model: Any, at: datetime) -> dict[str, Any] | None:
    """A StackResourceDrift for one resource, or None if its type isn't supported."""
    type_name = resource_type(stack, logical_id)
    adapter = resources.get(type_name)
    if adapter is None:
        return None
    physical_id = model.physical_resource_id
    result: dict[str, Any] = {"StackId": stack.stack_id, "LogicalResourceId": logical_id,
                              "PhysicalResourceId": physical_id, "ResourceType": type_name, "Timestamp": at}
    expected = expected_properties(stack, logical_id)
    try:
        actual = adapter.read(Where(stack.account_id, stack.region_name), physical_id)
    except NotFound:
        result["StackResourceDriftStatus"] = "DELETED"
        return result
    diffs, shown = drift.compare(adapter, expected, actual)
    result["ExpectedProperties"] = drift.to_json(expected)
    result["ActualProperties"] = drift.to_json(shown)
    result["PropertyDifferences"] = diffs
    result["StackResourceDriftStatus"] = "MODIFIED" if diffs else "IN_SYNC"
    return result


def stack_status_of(results: dict[str, dict[str, Any]]) -> str:
    drifted = any(r["StackResourceDriftStatus"] in ("MODIFIED", "DELETED") for r in results.values())
    return "DRIFTED" if drifted else "IN_SYNC"


def _publish_due() -> None:
    """Publish detections whose in-progress window has passed."""
    t = time.monotonic()
    with _lock:
        for det in _detections.values():
            if det.published or t < det.ends_at:
                continue
            det.published = True
            record = _stacks.setdefault(det.stack_id, StackDrift())
            record.resources.update(det.results)
            record.last_check = det.started
            if det.results or not det.failed_reason:
                record.status = stack_status_of(record.resources)


def stack_record(stack_id: str) -> StackDrift:
    _publish_due()
    with _lock:
        return _stacks.get(stack_id) or StackDrift()


def forget_stack(stack_id: str) -> None:
    """After an update or change set execution, drift status starts over."""
    with _lock:
        _stacks.pop(stack_id, None)


# ------------------------------------------------------------------ handlers

@registry.operation("cloudformation", "DetectStackDrift")
def detect_stack_drift(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stack = get_stack(ctx, params.get("StackName", ""))
    _publish_due()
    with _lock:
        if any(d.stack_id == stack.stack_id and not d.published for d in _detections.values()):
            raise ServiceError("ValidationError", f"Drift detection is already in progress for stack [{stack.stack_id}].")
        wanted = params.get("LogicalResourceIds") or None
        found = stack_resources(stack)
        for lid in wanted or []:
            if lid not in found:
                raise ServiceError("ValidationError", f"Resource {lid} does not exist for stack {stack.name}")
        for lid in wanted or found:  # AWS reads each resource with the caller's credentials
            iam_auth.require_handler(ctx, resource_type(stack, lid), "read")
        started = now()
        results: dict[str, dict[str, Any]] = {}
        failed = None
        if settings.get("drift_detection_fail"):
            failed = "Drift detection failed (injected through /_emulator/config drift_detection_fail)."
        else:
            for lid, model in found.items():
                if wanted and lid not in wanted:
                    continue
                try:
                    res = check_resource(stack, lid, model, started)
                except Exception as e:  # a resource we can't read: AWS reports DETECTION_FAILED
                    failed = f"Failed to detect drift on resource [{lid}]: {type(e).__name__}: {e}"
                    continue
                if res is not None:
                    results[lid] = res
        det = Detection(id=str(uuid.uuid4()), stack_id=stack.stack_id, started=started,
                        ends_at=time.monotonic() + settings.get("drift_detection_seconds"),
                        results=results, failed_reason=failed)
        _detections[det.id] = det
    return {"StackDriftDetectionId": det.id}


@registry.operation("cloudformation", "DescribeStackDriftDetectionStatus")
def describe_detection_status(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _publish_due()
    det_id = params.get("StackDriftDetectionId", "")
    with _lock:
        det = _detections.get(det_id)
    if det is None or not det.stack_id.split(":")[4] == ctx.account_id:
        raise ServiceError("ValidationError", f"Drift detection with ID [{det_id}] does not exist")
    out: dict[str, Any] = {"StackId": det.stack_id, "StackDriftDetectionId": det.id, "Timestamp": det.started}
    if not det.published:
        out["DetectionStatus"] = "DETECTION_IN_PROGRESS"
        return out
    out["StackDriftStatus"] = stack_status_of(det.results) if det.results or not det.failed_reason else "UNKNOWN"
    if det.failed_reason:
        out["DetectionStatus"] = "DETECTION_FAILED"
        out["DetectionStatusReason"] = det.failed_reason
    else:
        out["DetectionStatus"] = "DETECTION_COMPLETE"
        out["DetectionStatusReason"] = "Stack drift detection completed successfully"
        out["DriftedStackResourceCount"] = sum(
            r["StackResourceDriftStatus"] in ("MODIFIED", "DELETED") for r in det.results.values())
    return out


@registry.operation("cloudformation", "DescribeStackResourceDrifts")
def describe_resource_drifts(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stack = get_stack(ctx, params.get("StackName", ""))
    max_results = int(params.get("MaxResults") or 100)
    if not 1 <= max_results <= 100:
        raise ServiceError("ValidationError", "1 validation error detected: Value at 'maxResults' failed to satisfy "
                                              "constraint: Member must have value between 1 and 100")
    filters = set(params.get("StackResourceDriftStatusFilters") or [])
    record = stack_record(stack.stack_id)
    items = [record.resources[k] for k in sorted(record.resources)
             if not filters or record.resources[k]["StackResourceDriftStatus"] in filters]
    start = int(base64.b64decode(params["NextToken"]).decode()) if params.get("NextToken") else 0
    page = items[start:start + max_results]
    out: dict[str, Any] = {"StackResourceDrifts": page}
    if start + max_results < len(items):
        out["NextToken"] = base64.b64encode(str(start + max_results).encode()).decode()
    return out


@registry.operation("cloudformation", "DetectStackResourceDrift")
def detect_resource_drift(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stack = get_stack(ctx, params.get("StackName", ""))
    lid = params.get("LogicalResourceId", "")
    found = stack_resources(stack)
    if lid not in found:
        raise ServiceError("ValidationError", f"Resource {lid} does not exist for stack {stack.name}")
    iam_auth.require_handler(ctx, resource_type(stack, lid), "read")
    at = now()
    result = check_resource(stack, lid, found[lid], at)
    if result is None:
        raise ServiceError("ValidationError", f"Drift detection is not supported for resource type "
                                              f"{resource_type(stack, lid)} (resource {lid}).")
    _publish_due()
    with _lock:
        record = _stacks.setdefault(stack.stack_id, StackDrift())
        record.resources[lid] = result
        record.last_check = at
    return {"StackResourceDrift": result}


# ------------------------------------------------- DriftInformation elsewhere

def _stack_drift_information(stack: Stack) -> dict[str, Any]:
    record = stack_record(stack.stack_id)
    info: dict[str, Any] = {"StackDriftStatus": record.status}
    if record.last_check:
        info["LastCheckTimestamp"] = record.last_check
    return info


def resource_drift_information(stack_id: str, logical_id: str) -> dict[str, Any]:
    res = stack_record(stack_id).resources.get(logical_id)
    if res is None:
        return {"StackResourceDriftStatus": "NOT_CHECKED"}
    return {"StackResourceDriftStatus": res["StackResourceDriftStatus"], "LastCheckTimestamp": res["Timestamp"]}


Stack.drift_information = property(_stack_drift_information)  # type: ignore[attr-defined]

_orig_dto_init = cfn_responses.StackResourceDTO.__init__


def _dto_init(self: Any, stack: Stack, resource: Any) -> None:
    _orig_dto_init(self, stack, resource)
    self.drift_information = resource_drift_information(stack.stack_id, self.logical_resource_id or "")


cfn_responses.StackResourceDTO.__init__ = _dto_init  # type: ignore[method-assign]


@registry.operation("cloudformation", "ListStackResources")
def list_stack_resources(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """moto's version, plus DriftInformation, and each resource's status and time from its events."""
    from .cfn_timeline import resource_state

    stack = get_stack(ctx, params.get("StackName", ""))
    summaries = []
    for lid, model in stack_resources(stack).items():
        status, updated = resource_state(stack, lid)
        summaries.append({
            "LogicalResourceId": lid, "PhysicalResourceId": model.physical_resource_id,
            "ResourceType": resource_type(stack, lid), "LastUpdatedTimestamp": updated, "ResourceStatus": status,
            "DriftInformation": resource_drift_information(stack.stack_id, lid)})
    return {"StackResourceSummaries": summaries}


@registry.after("cloudformation", "UpdateStack")
@registry.after("cloudformation", "ExecuteChangeSet")
def _after_update(ctx: Context, params: dict[str, Any], status: int) -> None:
    if status != 200:
        return
    try:
        stack = get_stack(ctx, params.get("StackName") or "")
    except Exception:
        stack = None
    if stack is None and params.get("ChangeSetName"):
        cs = cloudformation_backends[ctx.account_id][ctx.region].change_sets.get(params["ChangeSetName"])
        stack = cs.stack if cs else None
    if stack is not None:
        forget_stack(stack.stack_id)

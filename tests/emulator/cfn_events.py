"""CloudFormation stack events per resource, as AWS records them.

moto records stack-level events only. Here every resource that a stack operation
creates, updates or deletes gets its own events (CREATE_IN_PROGRESS,
"Resource creation Initiated", CREATE_COMPLETE, UPDATE_IN_PROGRESS,
UPDATE_COMPLETE, *_FAILED with the reason, DELETE_*), with the physical id, the
resource type, the properties it was given, and the operation's
ClientRequestToken; a resource that can't be deleted leaves the stack DELETE_FAILED.
cfn_timeline.py serves them (DescribeStackEvents, resource statuses).

The operation in progress (its token, the caller, the fault that will fail one
of its resources) lives in a thread-local set by cfn_tokens.py's hooks: moto
serves a request synchronously in the thread that received it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from moto.cloudformation import exceptions as cfn_exceptions
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.core.utils import utcnow

from . import faults, registry

CREATE_INITIATED = "Resource creation Initiated"
_local = threading.local()
ON_END: list[Callable[[Operation], None]] = []  # called when an operation's call returns
_lock = threading.Lock()
_stacks: dict[str, Any] = {}  # stack id -> moto Stack, including stacks being deleted
_last_time = [datetime.min]


# Template errors: AWS rejects the call (ValidationError) instead of failing a resource.
TEMPLATE_ERRORS = (cfn_exceptions.CloudFormationError, cfn_exceptions.UnformattedGetAttTemplateException)


class ResourceFailed(Exception):
    """A resource failed in a stack operation; the stack fails or rolls back."""

    def __init__(self, logical_id: str, reason: str):
        super().__init__(reason)
        self.logical_id, self.reason = logical_id, reason


@dataclass
class Operation:
    """One stack operation (a CreateStack, UpdateStack, ExecuteChangeSet, DeleteStack ...)."""

    name: str
    access_key: str | None = None
    token: str | None = None
    disable_rollback: bool = False
    on_failure: str = "ROLLBACK"
    fault: Any = None  # faults.Fault (resource_failure) picked for this operation
    rolling_back: bool = False
    done: list[tuple[str, str]] = field(default_factory=list)  # (action, logical id) in order
    events: list[Any] = field(default_factory=list)  # every event it recorded, in order
    change_set: Any = None  # the change set it executes


@registry.on_reset
def _reset() -> None:
    with _lock:
        _stacks.clear()


def begin(op: Operation) -> Operation:
    _local.op = op
    return op


def end() -> None:
    """The operation's call returns (cfn_timeline paces its events, if configured)."""
    op, _local.op = current(), None
    if op is not None:
        for hook in ON_END:
            hook(op)


def advance_clock(t: datetime) -> None:
    """Later events must come after `t` (an event moved into the future)."""
    with _lock:
        _last_time[0] = max(_last_time[0], t)


def current() -> Operation | None:
    return getattr(_local, "op", None)


def _now() -> datetime:
    """moto's naive-UTC now, strictly increasing so events sort by time as they happened."""
    with _lock:
        t = max(utcnow(), _last_time[0] + timedelta(microseconds=1))
        _last_time[0] = t
        return t


# ------------------------------------------------------------------ recording

_orig_event_init = cfn_models.Event.__init__


def _event_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _orig_event_init(self, *args, **kwargs)
    self.timestamp = _now()
    op = current()
    self.client_request_token = op.token if op else None
    if op is not None:
        op.events.append(self)


cfn_models.Event.__init__ = _event_init  # type: ignore[method-assign]

_orig_stack_init = cfn_models.Stack.__init__


def _stack_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _orig_stack_init(self, *args, **kwargs)
    with _lock:
        _stacks[self.stack_id] = self


cfn_models.Stack.__init__ = _stack_init  # type: ignore[method-assign]

_orig_add_stack_event = cfn_models.Stack._add_stack_event


def _add_stack_event(self: Any, resource_status: str, resource_status_reason: str | None = None,
                     resource_properties: str | None = None) -> None:
    _orig_add_stack_event(self, resource_status, resource_status_reason, resource_properties)
    self.stack_status_reason = resource_status_reason if resource_status_reason != "User Initiated" else None


cfn_models.Stack._add_stack_event = _add_stack_event  # type: ignore[method-assign]


def stack_of(rmap: Any) -> Any:
    with _lock:
        return _stacks.get(rmap.stack_id)


def emit(stack: Any, logical_id: str, physical_id: str | None, rtype: str, status: str,
         reason: str | None = None, properties: Any = None) -> None:
    """Record one resource event on the stack."""
    if stack is None:
        return
    props = json.dumps(properties, default=str, separators=(",", ":")) if properties is not None else None
    event = cfn_models.Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
                             physical_resource_id=physical_id or "", resource_type=rtype, resource_status=status,
                             resource_status_reason=reason, resource_properties=props)
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)


def stack_event(stack: Any, status: str, reason: str | None = None) -> None:
    stack._add_stack_event(status, resource_status_reason=reason)
    stack.status = status


def last_event(stack: Any, logical_id: str, seen: Callable[[Any], bool] | None = None) -> Any:
    """The latest event (that `seen` accepts) of one of the stack's resources, not of the stack."""
    for event in reversed(stack.events):
        if event.logical_resource_id == logical_id and event.physical_resource_id != stack.stack_id \
                and (seen is None or seen(event)):
            return event
    return None


# ------------------------------------------------- around moto's provisioning

def _fault_for(op: Operation | None, logical_id: str) -> str | None:
    """The injected failure reason for this resource now (forward, or while rolling back)."""
    if op is None or op.fault is None or op.fault.logical_id != logical_id:
        return None
    return op.fault.rollback_reason if op.rolling_back else op.fault.reason


def _resolved(resource_json: dict[str, Any], rmap: Any) -> Any:
    """The properties as the resource receives them; resolving them first creates the
    resources they reference, so those finish before this one starts (as in AWS)."""
    import copy

    try:
        return parsing.clean_json(copy.deepcopy(resource_json.get("Properties") or {}), rmap)
    except Exception:
        return resource_json.get("Properties")


_orig_create = parsing.parse_and_create_resource
_orig_update = parsing.parse_and_update_resource


def create_resource(logical_id: str, resource_json: dict[str, Any], rmap: Any, account_id: str,
                    region_name: str) -> Any:
    condition = resource_json.get("Condition")
    rtype = resource_json.get("Type", "")
    if (condition and not rmap.lazy_condition_map[condition]) or parsing.resource_class_from_type(rtype) is None:
        return _orig_create(logical_id, resource_json, rmap, account_id, region_name)
    stack, op = stack_of(rmap), current()
    props = _resolved(resource_json, rmap)
    emit(stack, logical_id, None, rtype, "CREATE_IN_PROGRESS", properties=props)
    injected = _fault_for(op, logical_id)
    if injected:
        emit(stack, logical_id, None, rtype, "CREATE_FAILED", injected)
        raise ResourceFailed(logical_id, injected)
    try:
        resource = _orig_create(logical_id, resource_json, rmap, account_id, region_name)
    except (ResourceFailed, *TEMPLATE_ERRORS):
        raise
    except Exception as e:
        reason = f"Resource handler returned message: \"{e}\""
        emit(stack, logical_id, None, rtype, "CREATE_FAILED", reason)
        raise ResourceFailed(logical_id, reason) from e
    physical = getattr(resource, "physical_resource_id", None)
    emit(stack, logical_id, physical, rtype, "CREATE_IN_PROGRESS", CREATE_INITIATED, props)
    emit(stack, logical_id, physical, rtype, "CREATE_COMPLETE")
    if op is not None:
        op.done.append(("Add", logical_id))
    return resource


def update_resource(logical_id: str, resource_json: dict[str, Any], rmap: Any, account_id: str,
                    region_name: str) -> Any:
    rtype = resource_json.get("Type", "")
    old = rmap._parsed_resources.get(logical_id)
    if old is None or parsing.resource_class_from_type(rtype) is None:
        return _orig_update(logical_id, resource_json, rmap, account_id, region_name)
    stack, op = stack_of(rmap), current()
    physical = getattr(old, "physical_resource_id", None)
    emit(stack, logical_id, physical, rtype, "UPDATE_IN_PROGRESS", properties=_resolved(resource_json, rmap))
    injected = _fault_for(op, logical_id)
    if injected:
        emit(stack, logical_id, physical, rtype, "UPDATE_FAILED", injected)
        raise ResourceFailed(logical_id, injected)
    try:
        resource = _orig_update(logical_id, resource_json, rmap, account_id, region_name)
    except TEMPLATE_ERRORS:
        raise
    except Exception as e:
        reason = f"Resource handler returned message: \"{e}\""
        emit(stack, logical_id, physical, rtype, "UPDATE_FAILED", reason)
        raise ResourceFailed(logical_id, reason) from e
    if resource is not None:  # moto's models may return a new object (some replace themselves)
        rmap._parsed_resources[logical_id] = resource
    emit(stack, logical_id, getattr(resource, "physical_resource_id", physical), rtype, "UPDATE_COMPLETE")
    if op is not None and not op.rolling_back:
        op.done.append(("Modify", logical_id))
    return resource


_orig_delete = parsing.ResourceMap._delete_resource


def delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
    stack = stack_of(self)
    lid = getattr(parsed_resource, "logical_resource_id", "")
    physical, rtype = getattr(parsed_resource, "physical_resource_id", None), resource_json.get("Type", "")
    last = last_event(stack, lid) if stack is not None else None
    if last is None or last.resource_status != "DELETE_IN_PROGRESS":  # moto retries dependency failures
        emit(stack, lid, physical, rtype, "DELETE_IN_PROGRESS")
    op = current()
    if op is not None and op.name == "DeleteStack" and op.fault is not None and op.fault.logical_id == lid:
        emit(stack, lid, physical, rtype, "DELETE_FAILED", op.fault.reason)
        raise ResourceFailed(lid, op.fault.reason)
    _orig_delete(self, parsed_resource, resource_json)
    emit(stack, lid, physical, rtype, "DELETE_COMPLETE")


parsing.parse_and_create_resource = create_resource
parsing.parse_and_update_resource = update_resource
parsing.ResourceMap._delete_resource = delete_resource  # type: ignore[method-assign]

def _stack_delete(self: Any) -> None:
    """moto's Stack.delete, with the resources a Retain policy keeps reported DELETE_SKIPPED."""
    self._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
    for lid, res in self.resource_map._resource_json_map.items():
        model = self.resource_map._parsed_resources.get(lid)
        if res.get("DeletionPolicy") == "Retain" and model is not None and not isinstance(model, str):
            emit(self, lid, getattr(model, "physical_resource_id", None), res.get("Type", ""), "DELETE_SKIPPED")
    op = current()
    if op is not None and op.name == "DeleteStack":
        op.fault = faults.take_resource_failure(op.access_key, {self.name, self.stack_id},
                                                list(self.resource_map._resource_json_map))
    try:
        self.resource_map.delete()
    except Exception as e:  # a resource that can't be deleted: the stack stays, DELETE_FAILED
        rmap = self.resource_map
        failed = [lid for lid, res in rmap._resource_json_map.items() if res.get("DeletionPolicy") != "Retain"
                  and not isinstance(rmap._parsed_resources.get(lid), (str, type(None)))]
        for lid in failed:
            last = last_event(self, lid)
            if last is None or last.resource_status != "DELETE_FAILED":
                emit(self, lid, rmap._parsed_resources[lid].physical_resource_id, rmap._resource_json_map[lid]["Type"],
                     "DELETE_FAILED", getattr(e, "reason", None) or f"Resource handler returned message: \"{e}\"")
        stack_event(self, "DELETE_FAILED", f"The following resource(s) failed to delete: [{', '.join(failed)}]. ")
        return
    self._add_stack_event("DELETE_COMPLETE")
    self.status = "DELETE_COMPLETE"


_orig_delete_stack = cfn_models.CloudFormationBackend.delete_stack


def _delete_stack(self: Any, name_or_stack_id: str) -> None:
    """moto moves a stack to deleted_stacks whatever happened; one that failed to delete stays."""
    _orig_delete_stack(self, name_or_stack_id)
    for stack_id, stack in list(self.deleted_stacks.items()):
        if stack.status == "DELETE_FAILED":
            self.stacks[stack_id] = self.deleted_stacks.pop(stack_id)


cfn_models.CloudFormationBackend.delete_stack = _delete_stack  # type: ignore[method-assign]


cfn_models.Stack.delete = _stack_delete  # type: ignore[method-assign]

"""What a client sees of stack operations, and when: DescribeStackEvents, resource
statuses, and operations that take time.

* DescribeStackEvents: the events cfn_events.py records, newest first, PAGE_SIZE per page.
* DescribeStackResource(s) and ListStackResources (cfn_drift.py) take each resource's
  status and time from its latest visible event (moto showed the stack's status and a
  fixed 2010 date).
* Pacing (the `stack_operation_seconds` setting). In AWS, CreateStack, UpdateStack,
  ExecuteChangeSet and ContinueUpdateRollback return at once and the stack is
  *_IN_PROGRESS for minutes; a client waits, streaming the events. moto (and so the
  emulator) does the work inside the call. With stack_operation_seconds > 0 the
  operation's events are spread over that many seconds after the call: each becomes
  visible at its own time, and its Timestamp says so; the stack's StackStatus and
  StackStatusReason are those of its latest visible stack event; an executed change set
  stays EXECUTE_IN_PROGRESS until the last event. Meanwhile UpdateStack, CreateChangeSet
  and ExecuteChangeSet on the stack are refused as for any stack in progress
  (cfn_tokens.py), and a retry with the same ClientRequestToken is still recognised:
  what a client killed while waiting, and run again, must cope with. Live resources change
  at once; DeleteStack is not paced (moto drops the stack from the live list at once).
  0 (the default) keeps every operation complete when its call returns."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timedelta
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses

from . import cfn_events, registry, settings
from .protocol import ServiceError
from .registry import Context

PACED = ("CreateStack", "UpdateStack", "ExecuteChangeSet", "ContinueUpdateRollback")
PAGE_SIZE = 100  # events per DescribeStackEvents page (AWS doesn't document its page size)


def visible(event: Any) -> bool:
    return getattr(event, "visible_at", 0.0) <= time.monotonic()


def _latest_visible(stack: Any) -> Any:
    for event in reversed(stack.events):
        if event.physical_resource_id == stack.stack_id and visible(event):
            return event
    return None


def _pending(stack: Any) -> Any:
    """The latest visible stack event while later ones are still to come, else None."""
    if not stack.events or visible(stack.events[-1]):
        return None
    return _latest_visible(stack)


def _get_status(self: Any) -> Any:
    shown = _pending(self)
    return shown.resource_status if shown is not None else self.__dict__.get("_status")


def _set_status(self: Any, value: Any) -> None:
    self.__dict__["_status"] = value


def _get_reason(self: Any) -> Any:
    shown = _pending(self)
    if shown is not None:
        return shown.resource_status_reason if shown.resource_status_reason != "User Initiated" else None
    return self.__dict__.get("_stack_status_reason")


def _set_reason(self: Any, value: Any) -> None:
    self.__dict__["_stack_status_reason"] = value


def _get_execution_status(self: Any) -> Any:
    if self.__dict__.get("_visible_at", 0.0) > time.monotonic():
        return "EXECUTE_IN_PROGRESS"
    return self.__dict__.get("_execution_status")


def _set_execution_status(self: Any, value: Any) -> None:
    self.__dict__["_execution_status"] = value


cfn_models.Stack.status = property(_get_status, _set_status)  # type: ignore[assignment]
cfn_models.Stack.stack_status_reason = property(_get_reason, _set_reason)  # type: ignore[attr-defined]
cfn_models.ChangeSet.execution_status = property(_get_execution_status, _set_execution_status)  # type: ignore


def settle(op: cfn_events.Operation) -> None:
    """When the call returns: spread the operation's events over stack_operation_seconds."""
    seconds, events = float(settings.get("stack_operation_seconds")), op.events
    if seconds <= 0 or op.name not in PACED or not events:
        return
    start_mono, start = time.monotonic(), events[0].timestamp
    for i, event in enumerate(events):
        offset = seconds * i / max(1, len(events) - 1)
        event.visible_at = start_mono + offset
        event.timestamp = start + timedelta(seconds=offset)
    if op.change_set is not None:
        op.change_set._visible_at = start_mono + seconds
    cfn_events.advance_clock(events[-1].timestamp)


cfn_events.ON_END.append(settle)


# -------------------------------------------------------------------- the API

def event_dict(e: Any) -> dict[str, Any]:
    out = {"StackId": e.stack_id, "EventId": str(e.event_id), "StackName": e.stack_name,
           "LogicalResourceId": e.logical_resource_id, "PhysicalResourceId": e.physical_resource_id,
           "ResourceType": e.resource_type, "Timestamp": e.timestamp, "ResourceStatus": e.resource_status}
    if e.resource_status_reason:
        out["ResourceStatusReason"] = e.resource_status_reason
    if e.resource_properties:
        out["ResourceProperties"] = e.resource_properties
    if e.client_request_token:
        out["ClientRequestToken"] = e.client_request_token
    return out


@registry.operation("cloudformation", "DescribeStackEvents")
def describe_stack_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    from moto.cloudformation.models import cloudformation_backends

    stack = cloudformation_backends[ctx.account_id][ctx.region].get_stack(params.get("StackName") or "")
    events = [e for e in reversed(stack.events) if visible(e)]
    start = 0
    if params.get("NextToken"):  # the last event of the previous page: stable while new events arrive
        try:
            after = base64.b64decode(params["NextToken"]).decode()
        except ValueError:
            after = None
        start = next((i + 1 for i, e in enumerate(events) if str(e.event_id) == after), -1)
        if start < 0:
            raise ServiceError("ValidationError", "Invalid NextToken")
    page = events[start:start + PAGE_SIZE]
    out: dict[str, Any] = {"StackEvents": [event_dict(e) for e in page]}
    if start + PAGE_SIZE < len(events):
        out["NextToken"] = base64.b64encode(str(page[-1].event_id).encode()).decode()
    return out


def resource_state(stack: Any, logical_id: str) -> tuple[str, datetime]:
    """(ResourceStatus, time) of a resource, from its latest event."""
    event = cfn_events.last_event(stack, logical_id, visible)
    if event is None:
        return ("CREATE_IN_PROGRESS", stack.creation_time)
    return event.resource_status, event.timestamp


_orig_dto_init = cfn_responses.StackResourceDTO.__init__


def _dto_init(self: Any, stack: Any, resource: Any) -> None:
    _orig_dto_init(self, stack, resource)
    self.resource_status, self.timestamp = resource_state(stack, self.logical_resource_id or "")
    self.last_updated_timestamp = self.timestamp


cfn_responses.StackResourceDTO.__init__ = _dto_init  # type: ignore[method-assign]

"""Per-operation call counting and an audit log of API calls.

The counter lets tests assert how many API calls an agent made (budgets,
retries). The audit log keeps what CloudTrail records for each call (who, when,
what, with which parameters, and the outcome); cloudtrail.py serves it through
LookupEvents and adds identity and resources through ENRICHERS. Read-only calls
are logged too, flagged readOnly; events() returns the mutating ones unless asked."""

from __future__ import annotations

import itertools
import re
import sys
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .protocol import AwsRequest

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_calls: list[dict[str, Any]] = []
_events: list[dict[str, Any]] = []
MAX_KEPT = 20000
_seq = itertools.count(1)
# fn(request, event) -> None: add fields to an audit event when it is recorded.
ENRICHERS: list[Callable[[AwsRequest, dict[str, Any]], None]] = []

# CloudTrail's read-only test is per operation; these prefixes are its read-only calls.
_READ_ONLY = re.compile(r"^(Describe|Get|List|Lookup|Head|Search|Select|Scan|Query|Batch ?Get|Filter|Validate|Estimate|Preview)")


def is_mutating(operation: str | None) -> bool:
    return bool(operation) and not _READ_ONLY.match(operation) and " " not in operation


def _event_source(service: str | None) -> str:
    names = {"cloudcontrol": "cloudcontrolapi", "cloudwatch": "monitoring", "stepfunctions": "states"}
    return f"{names.get(service or '', service or 'unknown')}.amazonaws.com"


def record(req: AwsRequest, status: int, error_code: str | None, account_id: str) -> None:
    """Called once per AWS API request the emulator answered (faults included)."""
    key = f"{req.service or 'unknown'}:{req.operation or req.method + ' ' + req.path}"
    now = datetime.now(timezone.utc)
    entry = {
        "service": req.service, "operation": req.operation, "status": status, "error_code": error_code,
        "account_id": account_id, "region": req.region, "access_key_id": req.access_key,
        "time": now.isoformat(),
    }
    event = None
    if req.operation and " " not in req.operation:
        event = {
            "eventId": str(uuid.uuid4()),
            "eventTime": now.isoformat(),
            "eventSource": _event_source(req.service),
            "eventName": req.operation,
            "awsRegion": req.region,
            "recipientAccountId": account_id,
            "accessKeyId": req.access_key,
            "errorCode": error_code,
            "requestParameters": _request_parameters(req),
            "requestId": req.request_id,
            "readOnly": not is_mutating(req.operation),
            "userAgent": req.headers.get("user-agent", ""),
        }
        for enrich in ENRICHERS:
            try:
                enrich(req, event)
            except Exception:  # never lose the call over a bookkeeping bug
                traceback.print_exc(file=sys.stderr)
    with _lock:
        _counts[key] += 1
        _calls.append(entry)
        del _calls[:-MAX_KEPT]
        if event is not None:
            event["seq"] = next(_seq)
            _events.append(event)
            del _events[:-MAX_KEPT]


def _request_parameters(req: AwsRequest) -> dict[str, Any] | None:
    """The request's parameters as sent (form fields or JSON body), size-capped."""
    if req.form:
        return {k: v for k, v in req.form.items() if k not in ("Action", "Version")}
    if req.body and req.body[:1] == b"{" and len(req.body) < 65536:
        try:
            return req.json_body()
        except ValueError:
            return None
    return None


def counts() -> dict[str, int]:
    with _lock:
        return dict(_counts)


def calls() -> list[dict[str, Any]]:
    with _lock:
        return list(_calls)


def events(include_read_only: bool = False) -> list[dict[str, Any]]:
    """Audit events, oldest first (mutating calls only unless include_read_only)."""
    with _lock:
        return [e for e in _events if include_read_only or not e["readOnly"]]


def clear(include_events: bool = True) -> None:
    with _lock:
        _counts.clear()
        _calls.clear()
        if include_events:
            _events.clear()

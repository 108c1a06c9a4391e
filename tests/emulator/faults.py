"""Fault injection rules, set through POST /_emulator/faults.

A rule matches calls by service, operation and/or the caller's access key
(`access_key`, so parallel tests in one server leave each other alone; all
optional), applies
with probability `rate` (default 1.0) to at most `count` calls (default
unlimited), and does one of:
  throttle - the service's real throttling error (Throttling, ThrottlingException, ...)
  error    - an HTTP `status` (default 500) error with `code` (default InternalFailure)
  latency  - sleeps `latency_ms`, then serves the call normally
  drop     - closes the connection without an answer
and one kind that is not about a call but about a stack operation:
  resource_failure - the next CloudFormation operation (create, update, change set
             execution) that creates or updates resource `logical_id` (of stack `stack`, a
             name or id, if given) fails on it with `reason`: the stack rolls back
             (cfn_operations.py). `rollback_reason` makes the rollback of that resource fail
             too (UPDATE_ROLLBACK_FAILED). With `identifier` (and optional `type_name`)
             instead, the next Cloud Control UpdateResource of that resource ends FAILED
             with `reason` and `code` (default GeneralServiceException) and changes nothing.
             `count` defaults to 1 for this kind.
Sampling uses one seeded RNG (POST /_emulator/config {"seed": N}) so runs repeat."""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("throttle", "error", "latency", "drop", "resource_failure")


@dataclass
class Fault:
    kind: str
    service: str | None = None
    operation: str | None = None
    rate: float = 1.0
    count: int | None = None
    status: int = 500
    code: str | None = None
    message: str | None = None
    latency_ms: int = 0
    access_key: str | None = None
    logical_id: str | None = None
    stack: str | None = None
    reason: str | None = None
    rollback_reason: str | None = None
    identifier: str | None = None
    type_name: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    hits: int = 0

    def matches(self, service: str | None, operation: str | None, access_key: str | None = None) -> bool:
        if self.access_key and self.access_key != access_key:
            return False
        if self.service and self.service != service:
            return False
        if self.operation and self.operation != operation:
            return False
        return self.count is None or self.hits < self.count


_lock = threading.Lock()
_faults: list[Fault] = []
_rng = random.Random(0)


def add(spec: dict[str, Any]) -> Fault:
    if spec.get("kind") not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    allowed = set(Fault.__dataclass_fields__) - {"id", "hits"}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    fault = Fault(**spec)
    if fault.kind == "resource_failure":
        if not fault.logical_id and not fault.identifier:
            raise ValueError("a resource_failure names logical_id (a stack resource) or identifier (Cloud Control)")
        if "count" not in spec:
            fault.count = 1
        fault.reason = fault.reason or "Injected failure (emulator resource_failure fault)"
    if not 0.0 <= fault.rate <= 1.0:
        raise ValueError("rate must be between 0 and 1")
    with _lock:
        _faults.append(fault)
    return fault


def pick(service: str | None, operation: str | None, access_key: str | None = None) -> list[Fault]:
    """Faults that fire for this call: latency rules stack, at most one failing rule."""
    fired: list[Fault] = []
    failing = False
    with _lock:
        for f in _faults:
            if f.kind == "resource_failure" or not f.matches(service, operation, access_key):
                continue
            if f.kind != "latency" and failing:
                continue
            if _rng.random() >= f.rate:
                continue
            f.hits += 1
            fired.append(f)
            failing = failing or f.kind != "latency"
    return fired


def take_resource_failure(access_key: str | None, stack_keys: set[str] | None = None,
                          logical_ids: Any = (), identifier: str | None = None,
                          type_name: str | None = None) -> Fault | None:
    """The first resource_failure rule for this caller that names one of `logical_ids`
    of a stack known by `stack_keys` (name, id), or the Cloud Control `identifier`;
    counts the hit. None if no rule fires."""
    wanted = set(logical_ids)
    with _lock:
        for f in _faults:
            if f.kind != "resource_failure" or (f.access_key and f.access_key != access_key):
                continue
            if f.count is not None and f.hits >= f.count:
                continue
            if identifier is not None:
                if f.identifier != identifier or (f.type_name and f.type_name != type_name):
                    continue
            elif f.logical_id not in wanted or (f.stack and f.stack not in (stack_keys or set())):
                continue
            if _rng.random() >= f.rate:
                continue
            f.hits += 1
            return f
    return None


def exists(fault_id: str) -> bool:
    with _lock:
        return any(f.id == fault_id for f in _faults)


def listing() -> list[dict[str, Any]]:
    with _lock:
        return [asdict(f) for f in _faults]


def remove(fault_id: str | None = None) -> int:
    with _lock:
        before = len(_faults)
        _faults[:] = [f for f in _faults if fault_id is not None and f.id != fault_id]
        return before - len(_faults)


def seed(value: int) -> None:
    with _lock:
        _rng.seed(value)

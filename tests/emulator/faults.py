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
Sampling uses one seeded RNG (POST /_emulator/config {"seed": N}) so runs repeat."""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("throttle", "error", "latency", "drop")


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
            if not f.matches(service, operation, access_key):
                continue
            if f.kind != "latency" and failing:
                continue
            if _rng.random() >= f.rate:
                continue
            f.hits += 1
            fired.append(f)
            failing = failing or f.kind != "latency"
    return fired


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

"""Run-time knobs, readable and settable through GET/POST /_emulator/config."""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_DEFAULTS: dict[str, Any] = {
    # How long a DetectStackDrift stays DETECTION_IN_PROGRESS (AWS: seconds to minutes).
    "drift_detection_seconds": float(os.environ.get("AWS_EMULATOR_DRIFT_SECONDS", "0.5")),
    # How long a Cloud Control request stays IN_PROGRESS before SUCCESS.
    "cloudcontrol_seconds": float(os.environ.get("AWS_EMULATOR_CLOUDCONTROL_SECONDS", "0.2")),
    # Make every started drift detection end in DETECTION_FAILED (tests the failure path).
    "drift_detection_fail": False,
    # Scales the waits a document or configuration asks for (aws:sleep durations, step
    # timeoutSeconds, retry and poll intervals, remediation RetryAttemptSeconds): 0.01 makes
    # PT10M take 6 s. 1.0 is real time.
    "time_scale": float(os.environ.get("AWS_EMULATOR_TIME_SCALE", "1.0")),
    # How long a stack operation (create, update, change set execution) shows *_IN_PROGRESS
    # after its call returns; its events appear over that time (cfn_timeline.py). 0: at once.
    "stack_operation_seconds": float(os.environ.get("AWS_EMULATOR_STACK_SECONDS", "0")),
}
_values = dict(_DEFAULTS)


def get(name: str) -> Any:
    with _lock:
        return _values[name]


def snapshot() -> dict[str, Any]:
    with _lock:
        return dict(_values)


def update(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    with _lock:
        for k, v in changes.items():
            _values[k] = type(_DEFAULTS[k])(v)
        return dict(_values)


def reset() -> None:
    with _lock:
        _values.clear()
        _values.update(_DEFAULTS)

"""The control endpoint under /_emulator/ (plain JSON over HTTP, unsigned).

  GET    /_emulator/health            {"status": "ok"}
  GET    /_emulator/config            current settings; POST a JSON object to change them
                                      ({"drift_detection_seconds": 0.5, "time_scale": 0.01, "seed": 7, ...})
  POST   /_emulator/faults            add a fault rule (object) or rules (list); returns them with ids
  GET    /_emulator/faults            list rules with their hit counts
  DELETE /_emulator/faults[/ID]       remove all rules, or one
  GET    /_emulator/calls             {"total": N, "counts": {"cloudformation:DetectStackDrift": 2, ...}}
                                      ?detail=1 adds every call (time, account, access key, status)
  DELETE /_emulator/calls             zero the counters
  GET    /_emulator/events            audit log of mutating calls (CloudTrail-like records);
                                      ?read_only=1 adds the read-only calls
  GET    /_emulator/<name>            routes registered by extensions (registry.control_route),
                                      e.g. config-invocations (config_rules.py)
  POST   /_emulator/reset             moto reset + emulator state + counters + faults + settings
  POST   /_emulator/accounts          {"account_id": "111111111111"} -> credentials whose calls
                                      land in that account (STS AssumeRole under the hood)
moto's own /moto-api/ endpoints (reset, recorder, ...) stay available."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from . import calls, faults, registry, settings

Response = tuple[int, dict[str, str], bytes]


def _json(status: int, payload: Any) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(payload, default=str).encode()


def reset_all(include_moto: bool = True) -> None:
    if include_moto:
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
    for cb in registry.RESET_CALLBACKS:
        cb()


def handle(method: str, path: str, query: str, body: bytes) -> Response:
    parts = [p for p in path.split("/") if p][1:]  # drop "_emulator"
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        return _json(400, {"error": "body is not JSON"})
    try:
        return _route(method, parts, parse_qs(query), data)
    except (ValueError, TypeError) as e:
        return _json(400, {"error": str(e)})


def _route(method: str, parts: list[str], query: dict[str, list[str]], data: Any) -> Response:
    head = parts[0] if parts else ""
    if head == "health":
        return _json(200, {"status": "ok"})
    if head == "config":
        if method == "POST":
            data = dict(data or {})
            if "seed" in data:
                faults.seed(int(data.pop("seed")))
            return _json(200, settings.update(data))
        return _json(200, settings.snapshot())
    if head == "faults":
        if method == "POST":
            specs = data if isinstance(data, list) else [data]
            return _json(200, {"faults": [vars(faults.add(s)) for s in specs]})
        if method == "DELETE":
            return _json(200, {"removed": faults.remove(parts[1] if len(parts) > 1 else None)})
        return _json(200, {"faults": faults.listing()})
    if head == "calls":
        if method == "DELETE":
            calls.clear(include_events=False)
            return _json(200, {"status": "ok"})
        counts = calls.counts()
        payload: dict[str, Any] = {"total": sum(counts.values()), "counts": counts}
        if query.get("detail", ["0"])[0] not in ("0", "", "false"):
            payload["calls"] = calls.calls()
        return _json(200, payload)
    if head == "events":
        read_only = query.get("read_only", ["0"])[0] not in ("0", "", "false")
        return _json(200, {"events": calls.events(include_read_only=read_only)})
    if head == "reset" and method == "POST":
        reset_all()
        calls.clear()
        faults.remove()
        settings.reset()
        return _json(200, {"status": "ok"})
    if head == "accounts" and method == "POST":
        return _json(200, _new_account_credentials((data or {}).get("account_id")))
    if head in registry.CONTROL_ROUTES:
        return _json(*registry.CONTROL_ROUTES[head](method, parts[1:], query, data))
    return _json(404, {"error": f"no control endpoint {method} /_emulator/{'/'.join(parts)}"})


def _new_account_credentials(account_id: str | None) -> dict[str, str]:
    """Credentials for another account: moto maps STS-issued access keys to the
    account of the assumed role's ARN, and gives each account separate state."""
    import random

    from moto.sts.models import sts_backends

    account_id = account_id or "".join(random.choice("0123456789") for _ in range(12))
    if len(account_id) != 12 or not account_id.isdigit():
        raise ValueError("account_id must be 12 digits")
    role = sts_backends[account_id]["aws"].assume_role(
        region_name="us-east-1", role_session_name="emulator", role_arn=f"arn:aws:iam::{account_id}:role/emulator",
        policy="", duration=43200, external_id="",
    )
    return {
        "account_id": account_id, "access_key_id": role.access_key_id,
        "secret_access_key": role.secret_access_key, "session_token": role.session_token,
    }

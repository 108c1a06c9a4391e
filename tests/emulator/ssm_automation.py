"""SSM Automation (awsJson1_1, AmazonSSM.): StartAutomationExecution,
GetAutomationExecution, DescribeAutomationExecutions, DescribeAutomationStepExecutions,
StopAutomationExecution and SendAutomationSignal over Automation documents
stored by moto's CreateDocument.

Each execution really runs, in a background thread: steps call the emulator
itself over HTTP (ssm_actions.call_api), as the document's assumeRole (an STS
session named after the execution) or else as the caller, so those calls are
counted, faultable and in CloudTrail. Control flow follows the runbook
reference: nextStep, isEnd, onFailure Abort|Continue|step:NAME, isCritical,
maxAttempts, timeoutSeconds; waits scale with the `time_scale` setting."""

from __future__ import annotations

import base64
import json
import re
import threading
from datetime import datetime, timezone
from typing import Any

from . import principals, registry
from . import ssm_actions as actions
from .protocol import ServiceError
from .registry import Context
from .ssm_runner import TERMINAL, Execution, run

_lock = threading.RLock()
_executions: dict[str, Execution] = {}
_client_tokens: dict[tuple[str, str], tuple[str, str]] = {}  # (account, token) -> (execution id, request)
UUID = re.compile("[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}")


@registry.on_reset
def _reset() -> None:
    with _lock:
        for ex in _executions.values():
            ex.cancel.set()
        _executions.clear()
        _client_tokens.clear()


# ---------------------------------------------------------------------- the API

def start(account: str, region: str, document_name: str, version: str | None, parameters: dict[str, list[str]],
          executed_by: str, creds: principals.Credentials, endpoint: str,
          tags: list[dict[str, str]] | None = None) -> Execution:
    """Validate and start an execution (also used by Config remediation)."""
    from moto.ssm.models import ssm_backends

    backend = ssm_backends[account][region]
    documents = backend._documents.get(document_name) if document_name else None
    if documents is None:
        raise ServiceError("AutomationDefinitionNotFoundException",
                           f"Automation definition {document_name} is not found.")
    document = documents.find(None if version == "$DEFAULT" else version, None, strict=False)
    if document is None:
        raise ServiceError("AutomationDefinitionVersionNotFoundException",
                           f"Automation definition {document_name}:{version} is not found.")
    if document.document_type != "Automation" or str(document.content_json.get("schemaVersion")) != "0.3":
        raise ServiceError("AutomationDefinitionNotFoundException",
                           f"Document {document_name} is not an Automation document (schemaVersion 0.3).")
    params = actions.typed_parameters(document.content_json.get("parameters") or {}, parameters or {})
    ex = Execution(account, region, document, params, executed_by, creds, endpoint, tags or [])
    with _lock:
        _executions[ex.id] = ex
    threading.Thread(target=run, args=(ex,), name=f"automation-{ex.id}", daemon=True).start()
    return ex


def find(ctx_or_account: Any, execution_id: str) -> Execution:
    account = getattr(ctx_or_account, "account_id", ctx_or_account)
    with _lock:
        ex = _executions.get(execution_id or "")
    if ex is None or ex.account != account:
        raise ServiceError("AutomationExecutionNotFoundException",
                           f"Automation Execution with id {execution_id} is not found.")
    return ex


@registry.operation("ssm", "StartAutomationExecution")
def start_automation_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("Targets") or params.get("TargetMaps") or params.get("TargetLocations") or \
            params.get("TargetLocationsURL") or params.get("Mode") == "Interactive":
        raise ServiceError("InvalidAutomationExecutionParametersException",
                           "Rate control (Targets, TargetMaps), multi-account/Region (TargetLocations) and "
                           "Interactive mode are not supported by the emulator.")
    token, request = _client_token(params), json.dumps({k: v for k, v in params.items() if k != "ClientToken"},
                                                       sort_keys=True, default=str)
    with _lock:
        if token and (ctx.account_id, token) in _client_tokens:
            execution_id, earlier = _client_tokens[(ctx.account_id, token)]
            if earlier != request:
                raise ServiceError("IdempotentParameterMismatch",
                                   f"ClientToken {token} was used by an earlier request with other parameters.")
            return {"AutomationExecutionId": execution_id}
    ex = start(ctx.account_id, ctx.region, params.get("DocumentName", ""), params.get("DocumentVersion"),
               params.get("Parameters") or {}, principals.caller_arn(ctx.access_key),
               principals.credentials_of(ctx.access_key), principals.endpoint_of(ctx), params.get("Tags"))
    if token:
        with _lock:
            _client_tokens[(ctx.account_id, token)] = (ex.id, request)
    return {"AutomationExecutionId": ex.id}


def _client_token(params: dict[str, Any]) -> str | None:
    """The idempotency token: a UUID (the API's pattern), case-insensitive."""
    token = params.get("ClientToken")
    if token is None:
        return None
    if not UUID.fullmatch(token):
        raise ServiceError("ValidationException", f"1 validation error detected: Value '{token}' at 'clientToken' "
                                                  "failed to satisfy constraint: Member must satisfy regular expression "
                                                  f"pattern: {UUID.pattern}")
    return token.lower()


@registry.operation("ssm", "GetAutomationExecution")
def get_automation_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ex = find(ctx, params.get("AutomationExecutionId", ""))
    with ex.lock:
        return {"AutomationExecution": ex.describe()}


def _filter(ex: Execution, key: str, values: list[str]) -> bool:
    if key == "DocumentNamePrefix":
        return any(ex.document_name.startswith(v) for v in values)
    if key == "ExecutionStatus":
        return ex.status in values
    if key == "ExecutionId":
        return ex.id in values
    if key == "CurrentAction":
        return ex.current is not None and ex.current["Action"] in values
    if key == "AutomationType":
        return "Local" in values
    if key == "TagKey":
        return any(t.get("Key") in values for t in ex.tags)
    if key in ("StartTimeBefore", "StartTimeAfter"):
        at = datetime.fromisoformat(values[0].replace("Z", "+00:00"))
        at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        return ex.started < at if key == "StartTimeBefore" else ex.started > at
    if key == "ParentExecutionId":
        return False
    raise ServiceError("InvalidFilterKey", f"The filter key {key} is not supported by the emulator.")


def _page(items: list[Any], params: dict[str, Any], default: int) -> tuple[list[Any], str | None]:
    size = int(params.get("MaxResults") or default)
    try:
        start_at = int(base64.b64decode(params["NextToken"]).decode()) if params.get("NextToken") else 0
    except ValueError:
        raise ServiceError("InvalidNextToken", "The specified token isn't valid.") from None
    nxt = base64.b64encode(str(start_at + size).encode()).decode() if start_at + size < len(items) else None
    return items[start_at:start_at + size], nxt


@registry.operation("ssm", "DescribeAutomationExecutions")
def describe_automation_executions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    with _lock:
        found = [ex for ex in _executions.values() if ex.account == ctx.account_id and ex.region == ctx.region]
        for f in params.get("Filters") or []:
            if not f.get("Values"):
                raise ServiceError("InvalidFilterValue", f"The filter {f.get('Key')} needs values.")
            found = [ex for ex in found if _filter(ex, f["Key"], f["Values"])]
        found.sort(key=lambda ex: ex.started, reverse=True)
        page, nxt = _page([ex.metadata() for ex in found], params, 50)
    out: dict[str, Any] = {"AutomationExecutionMetadataList": page}
    if nxt:
        out["NextToken"] = nxt
    return out


@registry.operation("ssm", "DescribeAutomationStepExecutions")
def describe_step_executions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ex = find(ctx, params.get("AutomationExecutionId", ""))
    keys = {"StepName": "StepName", "Action": "Action", "StepExecutionId": "StepExecutionId",
            "StepExecutionStatus": "StepStatus"}
    with ex.lock:
        steps = [dict(s) for s in ex.steps]
    for f in params.get("Filters") or []:
        field = keys.get(f.get("Key"))
        if field is None:
            raise ServiceError("InvalidFilterKey", f"The filter key {f.get('Key')} is not supported by the emulator.")
        steps = [s for s in steps if s.get(field) in f.get("Values", [])]
    if params.get("ReverseOrder"):
        steps.reverse()
    page, nxt = _page(steps, params, 50)
    out: dict[str, Any] = {"StepExecutions": page}
    if nxt:
        out["NextToken"] = nxt
    return out


@registry.operation("ssm", "StopAutomationExecution")
def stop_automation_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ex = find(ctx, params.get("AutomationExecutionId", ""))
    with ex.lock:
        if ex.status in TERMINAL or ex.status == "Cancelling":
            raise ServiceError("InvalidAutomationStatusUpdateException",
                               f"Automation execution {ex.id} is {ex.status} and can't be stopped.")
        ex.stop_type = params.get("Type") or "Cancel"
        if ex.stop_type == "Cancel":
            ex.status = "Cancelling"
            ex.cancel.set()
    return {}


@registry.operation("ssm", "SendAutomationSignal")
def send_automation_signal(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ex = find(ctx, params.get("AutomationExecutionId", ""))
    if params.get("SignalType") != "Resume" or ex.status != "Waiting":
        raise ServiceError("InvalidAutomationSignalException",
                           f"Signal {params.get('SignalType')} is not valid for execution {ex.id} ({ex.status}); "
                           "the emulator supports Resume on a paused (Waiting) execution.")
    ex.resume.set()
    return {}

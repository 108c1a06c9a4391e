"""Runs one SSM Automation execution: the runbook's control flow (nextStep,
isEnd, onFailure Abort|Continue|step:NAME, isCritical, maxAttempts,
timeoutSeconds, cancellation) and the StepExecution records, in a background
thread. What each action does is in ssm_actions.py; the API is ssm_automation.py."""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from typing import Any

from . import principals
from . import ssm_actions as actions
from .ssm_actions import NO_OUTPUT, Cancelled, Scope, StepFailed, as_strings, scaled

TERMINAL = {"Success", "TimedOut", "Cancelled", "Failed"}
DEFAULT_TIMEOUTS = {"aws:assertAwsResourceProperty": 3600, "aws:waitForAwsResourceProperty": 3600}
RETRY_SECONDS = 1.0  # between attempts of a step with maxAttempts > 1 (scaled)
MAX_STEPS = 1000


class StepTimedOut(Exception):
    pass


def now() -> datetime:
    return datetime.now(timezone.utc)


class Execution:
    def __init__(self, account: str, region: str, document: Any, params: dict[str, Any], executed_by: str,
                 creds: principals.Credentials, endpoint: str, tags: list[dict[str, str]]):
        self.id, self.account, self.region = str(uuid.uuid4()), account, region
        self.document_name, self.document_version = document.name, document.document_version
        self.doc = copy.deepcopy(document.content_json)
        self.scope = Scope(self.id, account, region, params)
        self.executed_by, self.creds, self.endpoint, self.tags = executed_by, creds, endpoint, tags
        self.status, self.started, self.ended = "Pending", now(), None
        self.steps: list[dict[str, Any]] = []
        self.failure_message: str | None = None
        self.current: dict[str, Any] | None = None
        self.cancel, self.resume = threading.Event(), threading.Event()
        self.stop_type: str | None = None
        self.deadline: float | None = None
        self._clients: dict[str, Any] = {}
        self.lock = threading.RLock()

    # -- used by actions
    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = principals.client(self.endpoint, self.creds, service, self.region)
        return self._clients[service]

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of document time: scaled, cancellable, bounded by the step's timeout."""
        wait = scaled(seconds)
        if self.deadline is not None and time.monotonic() + wait > self.deadline:
            if self.cancel.wait(max(0.0, self.deadline - time.monotonic())):
                raise Cancelled()
            raise StepTimedOut()
        if self.cancel.wait(wait):
            raise Cancelled()

    # -- API shapes
    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AutomationExecutionId": self.id, "DocumentName": self.document_name,
            "DocumentVersion": self.document_version, "AutomationExecutionStatus": self.status,
            "ExecutionStartTime": self.started, "ExecutedBy": self.executed_by, "LogFile": "",
            "Outputs": self.outputs(), "Mode": "Auto", "AutomationType": "Local",
        }
        if self.ended:
            out["ExecutionEndTime"] = self.ended
        if self.current is not None and self.status not in TERMINAL:
            out["CurrentStepName"], out["CurrentAction"] = self.current["StepName"], self.current["Action"]
        if self.failure_message:
            out["FailureMessage"] = self.failure_message
        return out

    def describe(self) -> dict[str, Any]:
        out = self.metadata()
        for k in ("LogFile", "AutomationType"):
            out.pop(k)
        out["StepExecutions"] = [dict(s) for s in self.steps]
        out["StepExecutionsTruncated"] = False
        out["Parameters"] = {k: as_strings(v) for k, v in self.scope.params.items()}
        return out

    def outputs(self) -> dict[str, list[str]]:
        out = {}
        for ref in self.doc.get("outputs") or []:
            ok, value = self.scope.lookup(str(ref))
            out[str(ref)] = as_strings(value) if ok else [NO_OUTPUT]
        return out


# ----------------------------------------------------------------------- runner

def _is_true(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return value if isinstance(value, bool) else str(value).lower() == "true"


def run(ex: Execution) -> None:
    try:
        _run_steps(ex)
    except Exception as e:  # an emulator bug: fail the execution visibly rather than hang it
        traceback.print_exc(file=sys.stderr)
        _finish(ex, "Failed", f"emulator error: {type(e).__name__}: {e}")


def _finish(ex: Execution, status: str, message: str | None = None) -> None:
    with ex.lock:
        ex.status, ex.ended = status, now()
        if message and not ex.failure_message:
            ex.failure_message = message


def _run_steps(ex: Execution) -> None:
    steps = ex.doc.get("mainSteps") or []
    index = {str(s.get("name")): i for i, s in enumerate(steps)}
    with ex.lock:
        if ex.cancel.is_set():
            return _finish(ex, "Cancelled")
        ex.status = "InProgress"
    role = ex.scope.resolve(ex.doc.get("assumeRole") or "")
    if isinstance(role, str) and role.strip() and not actions.REF.search(role):
        try:
            ex.creds = principals.assume_role(role.strip(), ex.id, ex.region)
        except principals.RoleNotAssumable:
            return _finish(ex, "Failed", "The defined assume role is unable to be assumed.")
    i: int | None = 0
    critical: tuple[str, str] | None = None
    for _ in range(MAX_STEPS):
        if i is None or i >= len(steps):
            break
        step = steps[i]
        if ex.stop_type == "Complete" or ex.cancel.is_set():
            break
        outcome, jump = _run_step(ex, step, index)
        if outcome == "Cancelled":
            return _finish(ex, "Cancelled")
        if outcome == "Success":
            if _is_true(step.get("isEnd"), False):
                break
            target = jump or step.get("nextStep")
        else:
            on_failure = str(step.get("onFailure") or "Abort")
            message = ex.steps[-1].get("FailureMessage", "")
            if _is_true(step.get("isCritical"), on_failure != "Continue"):
                critical = critical or (outcome, message)
            if on_failure == "Abort":
                return _finish(ex, outcome, message)
            if _is_true(step.get("isEnd"), False):
                break
            target = on_failure[5:] if on_failure.startswith("step:") else step.get("nextStep")
        if target:
            if target not in index:
                return _finish(ex, "Failed", f"Step {step.get('name')} names a next step {target} that does not exist.")
            i = index[target]
        else:
            i += 1
    else:
        return _finish(ex, "Failed", f"The execution ran more than {MAX_STEPS} steps (a loop?).")
    if ex.cancel.is_set() and ex.stop_type != "Complete":
        return _finish(ex, "Cancelled")
    if critical:
        return _finish(ex, critical[0], critical[1])
    _finish(ex, "Success")


def _run_step(ex: Execution, step: dict[str, Any], index: dict[str, int]) -> tuple[str, str | None]:
    action = str(step.get("action", ""))
    raw_inputs = step.get("inputs") or {}
    timeout = step.get("timeoutSeconds", DEFAULT_TIMEOUTS.get(action))
    attempts = max(1, int(step.get("maxAttempts") or 1))
    inputs = raw_inputs if action == "aws:branch" else ex.scope.resolve(raw_inputs)
    rec: dict[str, Any] = {
        "StepName": str(step.get("name")), "Action": action, "OnFailure": str(step.get("onFailure") or "Abort"),
        "MaxAttempts": attempts, "ExecutionStartTime": now(), "StepStatus": "InProgress",
        "Inputs": {k: json.dumps(v, default=str) for k, v in inputs.items()}, "StepExecutionId": str(uuid.uuid4()),
        "IsEnd": _is_true(step.get("isEnd"), False),
        "IsCritical": _is_true(step.get("isCritical"), str(step.get("onFailure") or "Abort") != "Continue"),
    }
    if timeout is not None:
        rec["TimeoutSeconds"] = int(timeout)
    if step.get("nextStep"):
        rec["NextStep"] = str(step["nextStep"])
    with ex.lock:
        ex.steps.append(rec)
        ex.current = rec
    jump: str | None = None
    status, failure = "Success", None
    for attempt in range(attempts):
        ex.deadline = time.monotonic() + scaled(float(timeout)) if timeout is not None else None
        try:
            outputs, jump = _act(ex, step, action, inputs, raw_inputs, index)
            with ex.lock:
                for name, value in outputs.items():
                    ex.scope.outputs[f"{rec['StepName']}.{name}"] = value
                if outputs:
                    rec["Outputs"] = {k: as_strings(v) for k, v in outputs.items()}
            status, failure = "Success", None
            if ex.deadline is not None and time.monotonic() > ex.deadline:
                raise StepTimedOut()
            break
        except Cancelled:
            status, failure = "Cancelled", None
            break
        except StepTimedOut:
            status, failure = "TimedOut", StepFailed(f"Step timed out after {int(timeout or 0)} seconds.",
                                                      stage="Invocation", failure_type="Unknown")
        except StepFailed as e:
            status, failure = "Failed", e
        if attempt + 1 < attempts:
            try:
                ex.deadline = None
                ex.sleep(RETRY_SECONDS)
            except Cancelled:
                status, failure = "Cancelled", None
                break
    ex.deadline = None
    with ex.lock:
        rec["StepStatus"], rec["ExecutionEndTime"] = status, now()
        if failure is not None:
            rec["FailureMessage"] = failure.message
            rec["FailureDetails"] = {"FailureStage": failure.stage, "FailureType": failure.failure_type,
                                     "Details": failure.details}
    return status, jump


def _act(ex: Execution, step: dict[str, Any], action: str, inputs: dict[str, Any], raw_inputs: dict[str, Any],
         index: dict[str, int]) -> tuple[dict[str, Any], str | None]:
    if action == "aws:executeAwsApi":
        response = actions.call_api(ex, inputs)
        outputs: dict[str, Any] = {}
        for decl in step.get("outputs") or []:
            found, value = actions.typed_output(str(decl.get("Name")), str(decl.get("Type", "String")),
                                                actions.select(response, str(decl.get("Selector", ""))))
            if found:
                outputs[str(decl.get("Name"))] = value
        return outputs, None
    if action == "aws:sleep":
        return actions.sleep_action(ex, inputs), None
    if action == "aws:assertAwsResourceProperty":
        return actions.assert_property(ex, inputs), None
    if action == "aws:waitForAwsResourceProperty":
        return actions.wait_for_property(ex, inputs), None
    if action == "aws:branch":
        target = actions.branch(ex.scope, raw_inputs)
        if target is not None and target not in index:
            raise StepFailed(f"aws:branch names a step {target} that does not exist.", stage="InputValidation",
                             failure_type="Verification")
        return {}, target
    if action == "aws:pause":
        return _pause(ex), None
    raise StepFailed(f"Automation action {action} is not supported by the emulator.", stage="InputValidation",
                     failure_type="Verification")


def _pause(ex: Execution) -> dict[str, Any]:
    with ex.lock:
        ex.status, ex.steps[-1]["StepStatus"] = "Waiting", "Waiting"
    ex.resume.clear()
    while not ex.resume.wait(0.05):
        if ex.cancel.is_set():
            raise Cancelled()
        if ex.deadline is not None and time.monotonic() > ex.deadline:
            raise StepTimedOut()
    with ex.lock:
        ex.status, ex.steps[-1]["StepStatus"] = "InProgress", "InProgress"
    return {}

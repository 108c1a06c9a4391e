"""AWS Config remediation (awsJson1_1, StarlingDoveService.): Put/Describe/
DeleteRemediationConfigurations, StartRemediationExecution,
DescribeRemediationExecutionStatus and DescribeRemediationExceptions.

A remediation runs the configuration's SSM Automation document
(ssm_automation.start) for one resource key, with Parameters from StaticValue
or ResourceValue RESOURCE_ID, as Config's remediation service-linked role
(unless the document assumes its own role). Its status follows the automation.
Automatic remediation starts when a rule evaluation stores NON_COMPLIANT for a
resource; a failed attempt is retried while the resource stays NON_COMPLIANT,
the MaximumAutomaticAttempts attempts spread over RetryAttemptSeconds; after the
last one the resource gets a remediation exception and is left alone (AWS's
loop guard). Attempts count from the resource's last COMPLIANT result."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from . import config_rules, principals, registry, ssm_automation
from .protocol import ServiceError
from .registry import Context
from .ssm_actions import scaled

SERVICE_ROLE = "aws-service-role/remediation.config.amazonaws.com/AWSServiceRoleForConfigRemediation"
_lock = threading.RLock()
_configs: dict[tuple[str, str, str], dict[str, Any]] = {}  # (account, region, rule) -> RemediationConfiguration
_runs: dict[tuple[str, str, str, str, str], dict[str, Any]] = {}  # (+ resource type, id) -> execution record
_STATE = {"Pending": "QUEUED", "InProgress": "IN_PROGRESS", "Waiting": "IN_PROGRESS", "Cancelling": "IN_PROGRESS",
          "Success": "SUCCEEDED", "Failed": "FAILED", "TimedOut": "FAILED", "Cancelled": "FAILED"}
_STEP_STATE = {"Pending": "PENDING", "InProgress": "IN_PROGRESS", "Waiting": "IN_PROGRESS", "Success": "SUCCEEDED",
               "Failed": "FAILED", "TimedOut": "FAILED", "Cancelled": "FAILED"}


@registry.on_reset
def _reset() -> None:
    with _lock:
        _configs.clear()
        _runs.clear()


def now() -> datetime:
    return datetime.now(timezone.utc)


def _config(account: str, region: str, rule: str) -> dict[str, Any]:
    with _lock:
        found = _configs.get((account, region, rule or ""))
    if found is None:
        raise ServiceError("NoSuchRemediationConfigurationException",
                           f"No RemediationConfiguration for rule exists: {rule}")
    return found


def _validate(account: str, region: str, conf: dict[str, Any]) -> str | None:
    from moto.ssm.models import ssm_backends

    try:
        config_rules.get_rule(account, region, conf.get("ConfigRuleName", ""))
    except ServiceError as e:
        return e.message
    if conf.get("TargetType") != "SSM_DOCUMENT":
        return f"TargetType {conf.get('TargetType')} is not valid; it must be SSM_DOCUMENT."
    if conf.get("TargetId") not in ssm_backends[account][region]._documents:
        return f"The SSM document {conf.get('TargetId')} does not exist."
    for name, value in (conf.get("Parameters") or {}).items():
        if ("ResourceValue" in value) == ("StaticValue" in value):
            return f"Parameter {name} needs exactly one of ResourceValue and StaticValue."
    if not 1 <= int(conf.get("MaximumAutomaticAttempts", 5)) <= 25:
        return "MaximumAutomaticAttempts must be between 1 and 25."
    if not 1 <= int(conf.get("RetryAttemptSeconds", 60)) <= 2678000:
        return "RetryAttemptSeconds must be between 1 and 2678000."
    return None


def put_configuration(account: str, region: str, conf: dict[str, Any]) -> str | None:
    """Store one configuration (replacing the rule's previous one); the problem, if invalid."""
    problem = _validate(account, region, conf)
    if problem:
        return problem
    key = (account, region, conf["ConfigRuleName"])
    with _lock:
        old = _configs.get(key)
        arn = old["Arn"] if old else (f"arn:aws:config:{region}:{account}:remediation-configuration/"
                                      f"{conf['ConfigRuleName']}/{uuid.uuid4()}")
        _configs[key] = {**conf, "Arn": arn}
    return None


def has_configuration(account: str, region: str, rule: str) -> bool:
    with _lock:
        return (account, region, rule) in _configs


@registry.operation("config", "PutRemediationConfigurations")
def put_remediation_configurations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    failed = []
    for conf in params.get("RemediationConfigurations") or []:
        problem = put_configuration(ctx.account_id, ctx.region, conf)
        if problem:
            failed.append({"FailureMessage": problem, "FailedItems": [conf]})
    return {"FailedBatches": failed}


@registry.operation("config", "DescribeRemediationConfigurations")
def describe_remediation_configurations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    with _lock:
        return {"RemediationConfigurations": [
            dict(_configs[(ctx.account_id, ctx.region, n)]) for n in params.get("ConfigRuleNames") or []
            if (ctx.account_id, ctx.region, n) in _configs]}


def _busy(run: dict[str, Any] | None) -> bool:
    return run is not None and _state(run) in ("QUEUED", "IN_PROGRESS")


def delete_configuration(account: str, region: str, rule: str) -> None:
    _config(account, region, rule)
    with _lock:
        mine = [k for k in _runs if k[:3] == (account, region, rule)]
        if any(_busy(_runs[k]) for k in mine):
            raise ServiceError("RemediationInProgressException",
                               f"Remediation is in progress for rule {rule}; try again when it completes.")
        for k in mine:
            del _runs[k]
        del _configs[(account, region, rule)]


@registry.operation("config", "DeleteRemediationConfiguration")
def delete_remediation_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    delete_configuration(ctx.account_id, ctx.region, params.get("ConfigRuleName", ""))
    return {}


@registry.before("config", "DeleteConfigRule")
def _before_delete_rule(ctx: Context, params: dict[str, Any]) -> None:
    with _lock:
        if (ctx.account_id, ctx.region, params.get("ConfigRuleName", "")) in _configs:
            raise ServiceError("ResourceInUseException",
                               "A remediation action is associated with the rule; delete the remediation "
                               "configuration before deleting the rule.")


# --------------------------------------------------------------- executions

def _start(account: str, region: str, conf: dict[str, Any], rtype: str, rid: str, endpoint: str,
           automatic: bool) -> dict[str, Any]:
    """Start the document for one resource; returns the execution record (raises ServiceError)."""
    key = (account, region, conf["ConfigRuleName"], rtype, rid)
    params = {name: ([rid] if "ResourceValue" in v else [str(x) for x in v["StaticValue"].get("Values", [])])
              for name, v in (conf.get("Parameters") or {}).items()}
    session = f"Remediation-{uuid.uuid4().hex[:16]}"
    creds = principals.assume_service_role(account, SERVICE_ROLE, session, region)
    with _lock:
        previous = _runs.get(key)
        if automatic and _busy(previous):  # two evaluations racing: one remediation is enough
            return previous  # type: ignore[return-value]
        run = {"ResourceKey": {"resourceType": rtype, "resourceId": rid}, "InvocationTime": now(),
               "LastUpdatedTime": now(), "execution": None, "automatic": automatic,
               "attempts": (previous or {}).get("attempts", []), "exception": (previous or {}).get("exception")}
        _runs[key] = run
    if automatic:
        run["attempts"] = run["attempts"] + [time.monotonic()]
    try:
        run["execution"] = ssm_automation.start(
            account, region, conf["TargetId"], conf.get("TargetVersion"), params,
            principals.caller_arn(creds.access_key_id), creds, endpoint)
    except ServiceError as e:
        run["start_error"] = f"{e.code}: {e.message}"
        run["LastUpdatedTime"] = now()
        if not automatic:
            raise
    if automatic:
        threading.Thread(target=_watch, args=(key, run, endpoint), daemon=True).start()
    return run


def _retry_window(conf: dict[str, Any]) -> float:
    return float(conf.get("RetryAttemptSeconds") or 60)


def _state(run: dict[str, Any]) -> str:
    ex = run.get("execution")
    if ex is None:
        return "FAILED" if run.get("start_error") else "QUEUED"
    return _STATE.get(ex.status, "UNKNOWN")


def _watch(key: tuple[str, str, str, str, str], run: dict[str, Any], endpoint: str) -> None:
    """Retry a failed automatic remediation while the resource stays NON_COMPLIANT."""
    while _state(run) in ("QUEUED", "IN_PROGRESS"):
        time.sleep(0.05)
    with _lock:
        if _runs.get(key) is not run:
            return
    if _state(run) == "SUCCEEDED":
        return
    conf = _configs.get(key[:3])
    if conf is None or not conf.get("Automatic"):
        return
    max_attempts = int(conf.get("MaximumAutomaticAttempts") or 5)
    if len(run["attempts"]) >= max_attempts:
        run["exception"] = now()
        return
    time.sleep(scaled(_retry_window(conf) / max_attempts))
    result = config_rules.results_of(*key[:3]).get(key[3:])
    with _lock:
        current = _runs.get(key) is run and (key[:3] in _configs)
    if current and result and result["ComplianceType"] == "NON_COMPLIANT":
        _start(key[0], key[1], conf, key[3], key[4], endpoint, automatic=True)


def _on_results(account: str, region: str, rule: str, results: dict[tuple[str, str], dict[str, Any]],
                endpoint: str) -> None:
    """Automatic remediation: NON_COMPLIANT results start the rule's remediation."""
    with _lock:
        conf = _configs.get((account, region, rule))
    if conf is None:
        return
    for (rtype, rid), result in sorted(results.items()):
        if conf.get("ResourceType") and conf["ResourceType"] != rtype:
            continue
        key = (account, region, rule, rtype, rid)
        with _lock:
            run = _runs.get(key)
        if result["ComplianceType"] == "COMPLIANT" and run is not None and not _busy(run):
            run["attempts"], run["exception"] = [], None  # back in compliance: the loop guard starts over
            continue
        if result["ComplianceType"] != "NON_COMPLIANT" or not conf.get("Automatic") or _busy(run):
            continue
        if run is not None and run.get("exception"):
            continue
        max_attempts = int(conf.get("MaximumAutomaticAttempts") or 5)
        if len((run or {}).get("attempts", [])) >= max_attempts:
            if run is not None:
                run["exception"] = now()
            continue
        _start(account, region, conf, rtype, rid, endpoint, automatic=True)


config_rules.ON_RESULTS.append(_on_results)


@registry.operation("config", "StartRemediationExecution")
def start_remediation_execution(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rule = params.get("ConfigRuleName", "")
    conf = _config(ctx.account_id, ctx.region, rule)
    results = config_rules.results_of(ctx.account_id, ctx.region, rule)
    endpoint = principals.endpoint_of(ctx)
    failed, messages = [], []
    for rk in params.get("ResourceKeys") or []:
        key = (rk.get("resourceType", ""), rk.get("resourceId", ""))
        result = results.get(key)
        if result is None or result["ComplianceType"] != "NON_COMPLIANT":
            failed.append(rk)
            messages.append(f"{key[1]} is not NON_COMPLIANT for rule {rule}")
            continue
        with _lock:
            if _busy(_runs.get((ctx.account_id, ctx.region, rule) + key)):
                failed.append(rk)
                messages.append(f"a remediation is already in progress for {key[1]}")
                continue
        try:
            _start(ctx.account_id, ctx.region, conf, key[0], key[1], endpoint, automatic=False)
        except ServiceError as e:
            failed.append(rk)
            messages.append(f"{key[1]}: {e.code}: {e.message}")
    out: dict[str, Any] = {}
    if failed:
        out = {"FailedItems": failed, "FailureMessage": "; ".join(messages)}
    return out


def _status(run: dict[str, Any]) -> dict[str, Any]:
    ex = run.get("execution")
    steps = []
    if ex is not None:
        for s in list(ex.steps):
            step = {"Name": s["StepName"], "State": _STEP_STATE.get(s["StepStatus"], "UNKNOWN"),
                    "StartTime": s["ExecutionStartTime"]}
            if s.get("ExecutionEndTime"):
                step["StopTime"] = s["ExecutionEndTime"]
            if s.get("FailureMessage"):
                step["ErrorMessage"] = s["FailureMessage"]
            steps.append(step)
    elif run.get("start_error"):
        steps.append({"Name": "StartAutomationExecution", "State": "FAILED", "ErrorMessage": run["start_error"],
                      "StartTime": run["InvocationTime"], "StopTime": run["LastUpdatedTime"]})
    updated = max([run["LastUpdatedTime"]] + [s.get("StopTime", s["StartTime"]) for s in steps])
    return {"ResourceKey": run["ResourceKey"], "State": _state(run), "StepDetails": steps,
            "InvocationTime": run["InvocationTime"], "LastUpdatedTime": updated}


@registry.operation("config", "DescribeRemediationExecutionStatus")
def describe_remediation_execution_status(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rule = params.get("ConfigRuleName", "")
    _config(ctx.account_id, ctx.region, rule)
    wanted = {(k.get("resourceType"), k.get("resourceId")) for k in params.get("ResourceKeys") or []}
    with _lock:
        runs = [r for k, r in sorted(_runs.items(), key=lambda kv: kv[0])
                if k[:3] == (ctx.account_id, ctx.region, rule) and (not wanted or k[3:] in wanted)]
    page = config_rules._page([_status(r) for r in runs], params, 100)
    return {"RemediationExecutionStatuses": page.pop("items"), **page}


@registry.operation("config", "DescribeRemediationExceptions")
def describe_remediation_exceptions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rule = params.get("ConfigRuleName", "")
    wanted = {(k.get("ResourceType"), k.get("ResourceId")) for k in params.get("ResourceKeys") or []}
    with _lock:
        found = [{"ConfigRuleName": rule, "ResourceType": k[3], "ResourceId": k[4],
                  "Message": "MaximumAutomaticAttempts automatic remediations failed to make the resource "
                             "COMPLIANT within RetryAttemptSeconds.",
                  }
                 for k, r in sorted(_runs.items(), key=lambda kv: kv[0])
                 if k[:3] == (ctx.account_id, ctx.region, rule) and r.get("exception")
                 and (not wanted or k[3:] in wanted)]
    page = config_rules._page(found, params, 100)
    return {"RemediationExceptions": page.pop("items"), **page}


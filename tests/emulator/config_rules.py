"""AWS Config rule evaluation and compliance (awsJson1_1, StarlingDoveService.),
on top of moto's rules (PutConfigRule, DescribeConfigRules, DeleteConfigRule).

* StartConfigRulesEvaluation runs the managed rule
  CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK for real: it assumes the rule's
  cloudformationRoleArn and calls DetectStackDrift / DescribeStackDriftDetectionStatus
  on the emulator itself for every stack in the rule's Scope (resource types, one
  resource id, or a tag), in a background thread. IN_SYNC -> COMPLIANT, DRIFTED ->
  NON_COMPLIANT, and a detection that fails or can't start -> NON_COMPLIANT with the
  reason as Annotation (AWS Config "defaults the rule to NON_COMPLIANT" then).
* CUSTOM_LAMBDA rules can't be invoked (no Docker): an evaluation records the
  invocation Config would send (GET /_emulator/config-invocations), whose
  resultToken PutEvaluations then accepts, without TestMode, and stores.
* DescribeConfigRuleEvaluationStatus reads the rules' status; the compliance queries
  (config_compliance.py) read the stored results.
New results are handed to ON_RESULTS (automatic remediation, config_remediation.py)."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from moto.config import models as config_models

from . import principals, registry
from .protocol import ServiceError
from .registry import Context

DRIFT_RULE = "CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK"
PROCESS_CHECK = "AWS_CONFIG_PROCESS_CHECK"
STACK = "AWS::CloudFormation::Stack"
_lock = threading.RLock()
_results: dict[tuple[str, str, str], dict[tuple[str, str], dict[str, Any]]] = {}  # (acct, region, rule) -> key -> result
_status: dict[tuple[str, str, str], dict[str, Any]] = {}
_running: set[tuple[str, str, str]] = set()
_invocations: dict[str, dict[str, Any]] = {}  # result token -> invocation
# fn(account, region, rule name, {(type, id): result}, endpoint): called after new results are stored.
ON_RESULTS: list[Callable[[str, str, str, dict[tuple[str, str], dict[str, Any]], str], None]] = []


@registry.on_reset
def _reset() -> None:
    with _lock:
        _results.clear()
        _status.clear()
        _running.clear()
        _invocations.clear()


def now() -> datetime:
    return datetime.now(timezone.utc)


def _scope_to_dict(self: Any) -> dict[str, Any]:
    """moto renders a tag scope as "Tags", which the API doesn't have: DescribeConfigRules
    lost TagKey/TagValue."""
    out = _orig_scope_to_dict(self)
    for key, value in (out.pop("Tags", None) or {}).items():
        out["TagKey"] = key
        if value is not None:
            out["TagValue"] = value
    return out


_orig_scope_to_dict = config_models.Scope.to_dict
config_models.Scope.to_dict = _scope_to_dict  # type: ignore[method-assign]


def get_rule(account: str, region: str, name: str) -> Any:
    from moto.config.models import config_backends

    rule = config_backends[account][region].config_rules.get(name or "")
    if rule is None:
        raise ServiceError("NoSuchConfigRuleException",
                           f"The ConfigRule '{name}' provided in the request is invalid. Please check the configRule name")
    return rule


def results_of(account: str, region: str, rule: str) -> dict[tuple[str, str], dict[str, Any]]:
    with _lock:
        return dict(_results.get((account, region, rule), {}))


def _result(rule: str, rtype: str, rid: str, compliance: str, invoked: datetime, ordering: datetime,
            annotation: str | None = None, token: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "EvaluationResultIdentifier": {
            "EvaluationResultQualifier": {"ConfigRuleName": rule, "ResourceType": rtype, "ResourceId": rid,
                                          "EvaluationMode": "DETECTIVE"},
            "OrderingTimestamp": ordering},
        "ComplianceType": compliance, "ResultRecordedTime": now(), "ConfigRuleInvokedTime": invoked,
    }
    if annotation:
        out["Annotation"] = annotation[:256]
    if token:
        out["ResultToken"] = token
    return out


def _store(account: str, region: str, rule: str, new: dict[tuple[str, str], dict[str, Any]], endpoint: str,
           replace_type: str | None = None) -> None:
    with _lock:
        current = _results.setdefault((account, region, rule), {})
        if replace_type:  # a full evaluation: resources no longer in scope drop out
            for key in [k for k in current if k[0] == replace_type and k not in new]:
                del current[key]
        current.update(new)
    for hook in ON_RESULTS:
        hook(account, region, rule, new, endpoint)


def _set_status(account: str, region: str, rule: Any, **changes: Any) -> None:
    with _lock:
        st = _status.setdefault((account, region, rule.config_rule_name), {
            "ConfigRuleName": rule.config_rule_name, "ConfigRuleArn": rule.config_rule_arn,
            "ConfigRuleId": rule.config_rule_id, "FirstActivatedTime": now(), "FirstEvaluationStarted": False})
        st.update(changes)


# ------------------------------------------------------------ the drift rule

def _in_scope(rule: Any, stack: dict[str, Any]) -> bool:
    scope = rule.scope
    if scope is None:
        return True
    if scope.compliance_resource_types and STACK not in scope.compliance_resource_types:
        return False
    if scope.compliance_resource_id and scope.compliance_resource_id not in (stack["StackId"], stack["StackName"]):
        return False
    if scope.tags:
        tags = {t["Key"]: t["Value"] for t in stack.get("Tags") or []}
        for key, value in scope.tags.items():
            if key not in tags or (value is not None and tags[key] != value):
                return False
    return True


def _evaluate_drift_rule(account: str, region: str, rule: Any, endpoint: str) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    invoked = now()
    name = rule.config_rule_name
    try:
        role = str(rule.input_parameters_dict.get("cloudformationRoleArn", ""))
        try:
            creds = principals.assume_role(role, f"AWSConfig-{rule.config_rule_id}", region)
        except principals.RoleNotAssumable as e:
            _set_status(account, region, rule, LastFailedInvocationTime=now(), LastErrorCode="AccessDenied",
                        LastErrorMessage=f"AWS Config could not assume cloudformationRoleArn: {e}")
            return
        cf = principals.client(endpoint, creds, "cloudformation", region)
        stacks = [s for page in cf.get_paginator("describe_stacks").paginate() for s in page["Stacks"]]
        stacks = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE" and _in_scope(rule, s)]
        pending: dict[str, str] = {}
        new: dict[tuple[str, str], dict[str, Any]] = {}
        for s in stacks:
            try:
                pending[s["StackId"]] = cf.detect_stack_drift(StackName=s["StackId"])["StackDriftDetectionId"]
            except (ClientError, BotoCoreError) as e:
                new[(STACK, s["StackId"])] = _result(name, STACK, s["StackId"], "NON_COMPLIANT", invoked, invoked,
                                                     f"Drift detection could not start: {e}")
        deadline = time.monotonic() + 900  # the rule's maximum run time
        while pending and time.monotonic() < deadline:
            time.sleep(0.1)
            for stack_id, det in list(pending.items()):
                try:
                    st = cf.describe_stack_drift_detection_status(StackDriftDetectionId=det)
                except (ClientError, BotoCoreError) as e:
                    new[(STACK, stack_id)] = _result(name, STACK, stack_id, "NON_COMPLIANT", invoked, invoked,
                                                     f"Drift detection status unavailable: {e}")
                    del pending[stack_id]
                    continue
                if st["DetectionStatus"] == "DETECTION_IN_PROGRESS":
                    continue
                del pending[stack_id]
                if st["DetectionStatus"] == "DETECTION_COMPLETE":
                    compliance = "NON_COMPLIANT" if st.get("StackDriftStatus") == "DRIFTED" else "COMPLIANT"
                    new[(STACK, stack_id)] = _result(name, STACK, stack_id, compliance, invoked, invoked)
                else:
                    new[(STACK, stack_id)] = _result(name, STACK, stack_id, "NON_COMPLIANT", invoked, invoked,
                                                     f"Drift detection failed: {st.get('DetectionStatusReason', '')}")
        for stack_id in pending:
            new[(STACK, stack_id)] = _result(name, STACK, stack_id, "NON_COMPLIANT", invoked, invoked,
                                             "Drift detection did not finish within the rule's 15 minutes.")
        _set_status(account, region, rule, LastSuccessfulInvocationTime=invoked, LastSuccessfulEvaluationTime=now(),
                    LastErrorCode=None, LastErrorMessage=None)
        _store(account, region, name, new, endpoint, replace_type=STACK)
    except Exception as e:  # visible as a failed evaluation, never a hung rule
        _set_status(account, region, rule, LastFailedInvocationTime=now(), LastErrorCode="InternalError",
                    LastErrorMessage=f"{type(e).__name__}: {e}")
    finally:
        with _lock:
            _running.discard((account, region, name))


@registry.operation("config", "StartConfigRulesEvaluation")
def start_config_rules_evaluation(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    from moto.config.models import config_backends

    names = params.get("ConfigRuleNames") or sorted(config_backends[ctx.account_id][ctx.region].config_rules)
    rules = [get_rule(ctx.account_id, ctx.region, n) for n in names]
    # Process checks have no evaluation of their own: PutExternalEvaluation sets their compliance.
    rules = [r for r in rules if not (r.source.owner == "AWS" and r.source.source_identifier == PROCESS_CHECK)]
    for rule in rules:
        if rule.source.owner == "AWS" and rule.source.source_identifier != DRIFT_RULE:
            raise ServiceError("InvalidParameterValueException",
                               f"The managed rule {rule.source.source_identifier} is not evaluated by the emulator "
                               f"(only {DRIFT_RULE} is).")
    with _lock:
        busy = [r.config_rule_name for r in rules if (ctx.account_id, ctx.region, r.config_rule_name) in _running]
        if busy:
            raise ServiceError("LimitExceededException",
                               f"An evaluation is already in progress for the rule {busy[0]}.")
        for rule in rules:
            if rule.source.owner == "AWS":
                _running.add((ctx.account_id, ctx.region, rule.config_rule_name))
    endpoint = principals.endpoint_of(ctx)
    for rule in rules:
        _set_status(ctx.account_id, ctx.region, rule, FirstEvaluationStarted=True)
        if rule.source.owner == "AWS":
            threading.Thread(target=_evaluate_drift_rule, args=(ctx.account_id, ctx.region, rule, endpoint),
                             name=f"config-{rule.config_rule_name}", daemon=True).start()
        else:
            token = base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()
            with _lock:
                _invocations[token] = {
                    "resultToken": token, "configRuleName": rule.config_rule_name, "accountId": ctx.account_id,
                    "region": ctx.region, "configRuleArn": rule.config_rule_arn, "invokedAt": now().isoformat(),
                    "functionArn": rule.source.source_identifier, "ruleParameters": rule.input_parameters or "{}",
                    "eventLeftScope": False, "executionRoleArn": None, "endpoint": endpoint,
                    "invokingEvent": {"messageType": "ScheduledNotification", "awsAccountId": ctx.account_id,
                                      "notificationCreationTime": now().isoformat()},
                }
            _set_status(ctx.account_id, ctx.region, rule, LastSuccessfulInvocationTime=now())
    return {}


@registry.control_route("config-invocations")
def _invocations_route(method: str, parts: list[str], query: dict[str, list[str]], data: Any) -> tuple[int, Any]:
    """The events Config would have sent to CUSTOM_LAMBDA rules' functions (newest last)."""
    account = query.get("account", [None])[0]
    with _lock:
        found = [dict(v) for v in _invocations.values() if account in (None, v["accountId"])]
    for inv in found:
        inv.pop("endpoint", None)
    return 200, {"invocations": found}


@registry.operation("config", "PutEvaluations")
def put_evaluations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    evaluations = params.get("Evaluations") or []
    if not evaluations:
        raise ServiceError("InvalidParameterValueException",
                           "The Evaluations object in your request cannot be null.Add the required parameters and try again.")
    with _lock:
        inv = _invocations.get(params.get("ResultToken") or "")
    if inv is None or inv["accountId"] != ctx.account_id:
        raise ServiceError("InvalidResultTokenException", "The specified ResultToken is not valid.")
    rule = get_rule(ctx.account_id, inv["region"], inv["configRuleName"])
    new: dict[tuple[str, str], dict[str, Any]] = {}
    for ev in evaluations:
        if ev.get("ComplianceType") not in ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"):
            raise ServiceError("InvalidParameterValueException",
                               f"ComplianceType {ev.get('ComplianceType')} is not valid for a custom rule's evaluation.")
        invoked = datetime.fromisoformat(inv["invokedAt"])
        key = (ev["ComplianceResourceType"], ev["ComplianceResourceId"])
        new[key] = _result(rule.config_rule_name, key[0], key[1], ev["ComplianceType"], invoked,
                           ev["OrderingTimestamp"], ev.get("Annotation"), inv["resultToken"])
    if not params.get("TestMode"):
        _store(ctx.account_id, inv["region"], rule.config_rule_name, new, inv["endpoint"])
        _set_status(ctx.account_id, inv["region"], rule, LastSuccessfulEvaluationTime=now())
    return {"FailedEvaluations": []}


# ---------------------------------------------------------------- compliance

def _page(items: list[Any], params: dict[str, Any], default: int, limit_key: str = "Limit") -> dict[str, Any]:
    size = int(params.get(limit_key) or default)
    if not 0 <= size <= 100:
        raise ServiceError("InvalidParameterValueException", f"{limit_key} must be between 0 and 100.")
    size = size or default
    try:
        start = int(base64.b64decode(params["NextToken"]).decode()) if params.get("NextToken") else 0
    except ValueError:
        raise ServiceError("InvalidNextTokenException", "The specified next token is invalid.") from None
    out: dict[str, Any] = {"items": items[start:start + size]}
    if start + size < len(items):
        out["NextToken"] = base64.b64encode(str(start + size).encode()).decode()
    return out


@registry.operation("config", "DescribeConfigRuleEvaluationStatus")
def describe_rule_evaluation_status(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    from moto.config.models import config_backends

    names = params.get("ConfigRuleNames") or sorted(config_backends[ctx.account_id][ctx.region].config_rules)
    out = []
    for name in names:
        rule = get_rule(ctx.account_id, ctx.region, name)
        _set_status(ctx.account_id, ctx.region, rule)
        with _lock:
            out.append({k: v for k, v in _status[(ctx.account_id, ctx.region, name)].items() if v is not None})
    page = _page(out, params, 50)
    return {"ConfigRulesEvaluationStatus": page.pop("items"), **page}


def forget_rule(account: str, region: str, name: str) -> None:
    """A deleted rule's results and status go with it."""
    with _lock:
        _results.pop((account, region, name), None)
        _status.pop((account, region, name), None)


@registry.after("config", "DeleteConfigRule")
def _after_delete_rule(ctx: Context, params: dict[str, Any], status: int) -> None:
    if status == 200:
        forget_rule(ctx.account_id, ctx.region, params.get("ConfigRuleName", ""))

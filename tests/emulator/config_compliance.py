"""AWS Config compliance: the queries over stored evaluation results, and process
checks with PutExternalEvaluation (awsJson1_1, StarlingDoveService.).

Queries: GetComplianceDetailsByConfigRule (ComplianceTypes, Limit default 10,
NextToken), GetComplianceDetailsByResource, DescribeComplianceByConfigRule (a rule is
NON_COMPLIANT with ComplianceContributorCount if any resource is, else COMPLIANT, else
INSUFFICIENT_DATA) and DescribeComplianceByResource (per resource over all rules;
NOT_APPLICABLE results are not listed). Each result carries
EvaluationResultIdentifier.OrderingTimestamp and ResultRecordedTime, which is what a
client needs to skip resources Config reported COMPLIANT recently.

A process check is a rule with Source Owner AWS and SourceIdentifier
AWS_CONFIG_PROCESS_CHECK (moto's list of managed rules lacks it; it's added here).
Config never evaluates it: someone outside Config sets its compliance with
PutExternalEvaluation, following the API reference and the developer guide's
"Process checks" page:

* the rule must exist and be a process check, else NoSuchConfigRuleException
  ("Verify that the rule is an Config Process Check rule");
* ExternalEvaluation.ComplianceResourceType must be AWS::::Account and
  ComplianceResourceId the caller's account id ("Config accepts only Amazon Web
  Services account ID"), else InvalidParameterValueException;
* ComplianceType COMPLIANT, NON_COMPLIANT or NOT_APPLICABLE (INSUFFICIENT_DATA is in the
  enum but not accepted), Annotation 1-256 characters, OrderingTimestamp required;
* the result replaces the rule's previous one and shows in
  GetComplianceDetailsByConfigRule/ByResource and DescribeComplianceByConfigRule/ByResource
  (below), with ResultRecordedTime = when it was put.
StartConfigRulesEvaluation leaves process checks alone."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moto.config.models import MANAGED_RULES_CONSTRAINTS

from . import config_rules, registry
from .config_rules import PROCESS_CHECK
from .protocol import ServiceError
from .registry import Context

ACCOUNT = "AWS::::Account"
ACCEPTED = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE")

# moto validates managed rule identifiers against its copy of AWS's list, which lacks this one.
MANAGED_RULES_CONSTRAINTS.setdefault(PROCESS_CHECK, {
    "AWS Region": "All supported AWS regions", "Parameters": [], "Resource Types": ACCOUNT,
    "Trigger type": "Manual (PutExternalEvaluation)",
})


def is_process_check(rule: Any) -> bool:
    return rule.source.owner == "AWS" and rule.source.source_identifier == PROCESS_CHECK


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValueException", message)


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    raise _invalid("ExternalEvaluation.OrderingTimestamp is not a timestamp.")


@registry.operation("config", "PutExternalEvaluation")
def put_external_evaluation(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("ConfigRuleName") or ""
    try:
        rule = config_rules.get_rule(ctx.account_id, ctx.region, name)
    except ServiceError:
        rule = None
    if rule is None or not is_process_check(rule):
        raise ServiceError("NoSuchConfigRuleException",
                           f"The ConfigRule '{name}' provided in the request is invalid. Verify that the rule is an "
                           "AWS Config Process Check rule, that the rule name is correct, and that valid Amazon "
                           "Resource Names (ARNs) are used before trying again.")
    ev = params.get("ExternalEvaluation") or {}
    for field in ("ComplianceResourceType", "ComplianceResourceId", "ComplianceType", "OrderingTimestamp"):
        if ev.get(field) in (None, ""):
            raise _invalid(f"ExternalEvaluation.{field} is required.")
    if ev["ComplianceResourceType"] != ACCOUNT:
        raise _invalid(f"The resource type {ev['ComplianceResourceType']} is not valid for a process check: "
                       f"AWS Config accepts only {ACCOUNT}.")
    if ev["ComplianceResourceId"] != ctx.account_id:
        raise _invalid(f"The resource id {ev['ComplianceResourceId']} is not valid for a process check: AWS Config "
                       "accepts only your AWS account ID.")
    if ev["ComplianceType"] not in ACCEPTED:
        raise _invalid(f"The compliance type {ev['ComplianceType']} is not valid: use {', '.join(ACCEPTED)}.")
    annotation = ev.get("Annotation")
    if annotation is not None and not 1 <= len(annotation) <= 256:
        raise _invalid("ExternalEvaluation.Annotation must be 1 to 256 characters long.")
    ordering = _timestamp(ev["OrderingTimestamp"])
    key = (ACCOUNT, ctx.account_id)
    result = config_rules._result(name, ACCOUNT, ctx.account_id, ev["ComplianceType"], config_rules.now(), ordering,
                                  annotation)
    config_rules._store(ctx.account_id, ctx.region, name, {key: result}, config_rules.principals.endpoint_of(ctx))
    config_rules._set_status(ctx.account_id, ctx.region, rule, LastSuccessfulEvaluationTime=config_rules.now())
    return {}


# ---------------------------------------------------------------- queries

def _compliance(types: list[str]) -> dict[str, Any]:
    bad = types.count("NON_COMPLIANT")
    if bad:
        return {"ComplianceType": "NON_COMPLIANT",
                "ComplianceContributorCount": {"CappedCount": min(bad, 100), "CapExceeded": bad > 100}}
    return {"ComplianceType": "COMPLIANT" if "COMPLIANT" in types else "INSUFFICIENT_DATA"}


def _details(results: list[dict[str, Any]], params: dict[str, Any], default: int) -> dict[str, Any]:
    wanted = set(params.get("ComplianceTypes") or [])
    found = [r for r in results if not wanted or r["ComplianceType"] in wanted]
    page = config_rules._page(found, params, default)
    return {"EvaluationResults": page.pop("items"), **page}


@registry.operation("config", "GetComplianceDetailsByConfigRule")
def get_compliance_details_by_rule(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    config_rules.get_rule(ctx.account_id, ctx.region, params.get("ConfigRuleName", ""))
    results = config_rules.results_of(ctx.account_id, ctx.region, params["ConfigRuleName"])
    return _details([results[k] for k in sorted(results)], params, 10)


@registry.operation("config", "GetComplianceDetailsByResource")
def get_compliance_details_by_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    key = (params.get("ResourceType"), params.get("ResourceId"))
    with config_rules._lock:
        found = [res[key] for (acct, region, _), res in sorted(config_rules._results.items())
                 if acct == ctx.account_id and region == ctx.region and key in res]
    return _details(found, params, 100)


@registry.operation("config", "DescribeComplianceByConfigRule")
def describe_compliance_by_rule(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    from moto.config.models import config_backends

    names = params.get("ConfigRuleNames") or sorted(config_backends[ctx.account_id][ctx.region].config_rules)
    wanted = set(params.get("ComplianceTypes") or [])
    out = []
    for name in names:
        config_rules.get_rule(ctx.account_id, ctx.region, name)
        compliance = _compliance([r["ComplianceType"] for r in config_rules.results_of(ctx.account_id, ctx.region, name).values()])
        if not wanted or compliance["ComplianceType"] in wanted:
            out.append({"ConfigRuleName": name, "Compliance": compliance})
    page = config_rules._page(out, params, 25)
    return {"ComplianceByConfigRules": page.pop("items"), **page}


@registry.operation("config", "DescribeComplianceByResource")
def describe_compliance_by_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    per_resource: dict[tuple[str, str], list[str]] = {}
    with config_rules._lock:
        for (acct, region, _), res in sorted(config_rules._results.items()):
            if acct != ctx.account_id or region != ctx.region:
                continue
            for key, r in res.items():
                if r["ComplianceType"] != "NOT_APPLICABLE":
                    per_resource.setdefault(key, []).append(r["ComplianceType"])
    wanted = set(params.get("ComplianceTypes") or [])
    out = []
    for (rtype, rid), types in sorted(per_resource.items()):
        if params.get("ResourceType") and rtype != params["ResourceType"]:
            continue
        if params.get("ResourceId") and rid != params["ResourceId"]:
            continue
        compliance = _compliance(types)
        if not wanted or compliance["ComplianceType"] in wanted:
            out.append({"ResourceType": rtype, "ResourceId": rid, "Compliance": compliance})
    page = config_rules._page(out, params, 100)
    return {"ComplianceByResources": page.pop("items"), **page}

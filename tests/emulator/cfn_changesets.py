"""Change sets with AWS's Changes detail, and drift-aware change sets.

moto records only Action/LogicalResourceId/ResourceType. After moto creates an
UPDATE change set, its changes are recomputed here with PhysicalResourceId,
Replacement (from the schema's createOnly properties), Scope and Details
(Target, Evaluation, ChangeSource, CausingEntity).

DeploymentMode=REVERT_DRIFT makes the change set compare the template with the
live state too: drifted properties become Modify changes whose Details carry
Drift (PreviousValue/ActualValue), BeforeValue/AfterValue and their sources;
executing it (cfn_operations.py) converges those resources back to the template."""

from __future__ import annotations

import copy
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.models import ChangeSet, cloudformation_backends

from . import drift, registry, resources
from .cfn_drift import expected_properties, get_stack, now, stack_resources
from .moto_fixes import desired_properties, stack_tags
from .registry import Context
from .resources import NotFound, Where

ATTRIBUTES = ("Metadata", "CreationPolicy", "UpdatePolicy", "DeletionPolicy", "UpdateReplacePolicy")


def _refs(value: Any) -> set[str]:
    """Names a template fragment references through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" and isinstance(v, str):
                found.add(v)
            elif k == "Fn::GetAtt":
                parts = v if isinstance(v, list) else str(v).split(".")
                found.add(f"{parts[0]}.{parts[1]}" if len(parts) > 1 else parts[0])
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                found |= {m.strip() for m in str(text).split("${")[1:] for m in [m.split("}")[0]] if not m.startswith("!")}
            found |= _refs(v)
    elif isinstance(value, list):
        for v in value:
            found |= _refs(v)
    return found


def _detail(schema: Any, name: str | None, attribute: str, source: str, evaluation: str = "Static",
            entity: str | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"Attribute": attribute}
    if name is not None:
        target["Name"] = name
        target["RequiresRecreation"] = schema.requires_recreation(name) if schema else "Never"
    detail: dict[str, Any] = {"Target": target, "Evaluation": evaluation, "ChangeSource": source}
    if entity:
        detail["CausingEntity"] = entity
    return detail


def _replacement(details: list[dict[str, Any]]) -> str:
    levels = [d["Target"].get("RequiresRecreation", "Never") for d in details]
    if any(r == "Always" and d["Evaluation"] == "Static" for r, d in zip(levels, details)):
        return "True"
    if any(r in ("Always", "Conditionally") for r in levels):
        return "Conditional"
    return "False"


def template_changes(stack: Any, change_set: ChangeSet) -> list[dict[str, Any]]:
    old = stack.resource_map._resource_json_map
    new = (change_set.template_dict or {}).get("Resources", {})
    created = stack_resources(stack)
    changed_params = {k for k, v in (change_set.parameters or {}).items()
                      if str(stack.stack_parameters.get(k)) != str(v)}
    changes: dict[str, dict[str, Any]] = {}
    for lid, res in new.items():
        if lid not in old:
            changes[lid] = {"Action": "Add", "LogicalResourceId": lid, "ResourceType": res["Type"], "Scope": [], "Details": []}
            continue
        schema = resources.get(res["Type"]).schema if resources.get(res["Type"]) else None
        details: list[dict[str, Any]] = []
        old_props, new_props = old[lid].get("Properties", {}), res.get("Properties", {})
        for name in sorted(set(old_props) | set(new_props)):
            if old_props.get(name) != new_props.get(name):
                details.append(_detail(schema, name, "Properties", "DirectModification"))
            else:
                for p in sorted(_refs(new_props.get(name)) & changed_params):
                    details.append(_detail(schema, name, "Properties", "ParameterReference", entity=p))
        for attr in ATTRIBUTES:
            if old[lid].get(attr) != res.get(attr):
                details.append(_detail(schema, None, attr, "DirectModification"))
        if old[lid]["Type"] != res["Type"]:
            details.append({"Target": {"Attribute": "Properties", "RequiresRecreation": "Always"},
                            "Evaluation": "Static", "ChangeSource": "DirectModification"})
        if details:
            changes[lid] = {"Action": "Modify", "LogicalResourceId": lid, "ResourceType": res["Type"],
                            "PhysicalResourceId": getattr(created.get(lid), "physical_resource_id", None),
                            "Details": details}
    # Resources referencing a replaced resource get Dynamic details (their input may change).
    replaced = {lid for lid, c in changes.items() if c["Action"] == "Modify" and _replacement(c["Details"]) == "True"}
    for lid, res in new.items():
        if lid not in old or lid in replaced:
            continue
        schema = resources.get(res["Type"]).schema if resources.get(res["Type"]) else None
        for name, value in (res.get("Properties") or {}).items():
            for ref in sorted(_refs(value)):
                if ref.split(".")[0] in replaced:
                    source = "ResourceAttribute" if "." in ref else "ResourceReference"
                    entry = changes.setdefault(lid, {"Action": "Modify", "LogicalResourceId": lid, "ResourceType": res["Type"],
                                                     "PhysicalResourceId": getattr(created.get(lid), "physical_resource_id", None),
                                                     "Details": []})
                    entry["Details"].append(_detail(schema, name, "Properties", source, "Dynamic", ref))
    for lid, res in old.items():
        if lid not in new:
            changes[lid] = {"Action": "Remove", "LogicalResourceId": lid, "ResourceType": res["Type"],
                            "PhysicalResourceId": getattr(created.get(lid), "physical_resource_id", None),
                            "PolicyAction": "Retain" if res.get("DeletionPolicy") == "Retain" else "Delete",
                            "Scope": [], "Details": []}
    for c in changes.values():
        if c["Action"] == "Modify":
            c["Replacement"] = _replacement(c["Details"])
            c["Scope"] = sorted({d["Target"]["Attribute"] for d in c["Details"]})
    return list(changes.values())


def drift_changes(stack: Any, change_set: ChangeSet, changes: list[dict[str, Any]]) -> list[tuple[str, Any, str, dict]]:
    """Add drift-aware details to `changes`; return the (logical id, adapter, physical id,
    desired properties) to converge on execute."""
    by_id = {c["LogicalResourceId"]: c for c in changes}
    new = (change_set.template_dict or {}).get("Resources", {})
    plan = []
    at = now()
    tags = stack_tags(stack.account_id, stack.region_name, stack.stack_id)
    for lid, model in stack_resources(stack).items():
        res = new.get(lid)
        adapter = resources.get(res["Type"]) if res else None
        if adapter is None or res["Type"] != stack.resource_map._resource_json_map[lid]["Type"]:
            continue
        try:
            raw = parsing.clean_json(copy.deepcopy(res.get("Properties", {})), stack.resource_map)
            desired = desired_properties(res["Type"], raw, tags)
            previous = expected_properties(stack, lid)
            actual = adapter.read(Where(stack.account_id, stack.region_name), model.physical_resource_id)
        except (NotFound, KeyError, TypeError):
            continue
        diffs, _ = drift.compare(adapter, desired, actual)
        prev_diffs, _ = drift.compare(adapter, previous, actual)
        drift_status = "MODIFIED" if prev_diffs else "IN_SYNC"
        if not diffs:
            if lid in by_id:
                by_id[lid]["ResourceDriftStatus"] = drift_status
            continue
        entry = by_id.get(lid)
        if entry is None:
            entry = {"Action": "Modify", "LogicalResourceId": lid, "ResourceType": res["Type"],
                     "PhysicalResourceId": model.physical_resource_id, "Details": []}
            changes.append(entry)
            by_id[lid] = entry
        entry["ResourceDriftStatus"] = drift_status
        for d in diffs:
            name = d["PropertyPath"].split("/")[1]
            detail = _detail(adapter.schema, name, "Properties", "DirectModification")
            kind = {"ADD": "Remove", "REMOVE": "Add", "NOT_EQUAL": "Modify"}[d["DifferenceType"]]
            detail["Target"].update({
                "Path": d["PropertyPath"], "BeforeValue": d["ActualValue"], "AfterValue": d["ExpectedValue"],
                "BeforeValueFrom": "ACTUAL_STATE", "AfterValueFrom": "TEMPLATE", "AttributeChangeType": kind,
                "Drift": {"PreviousValue": _value_at(previous, d["PropertyPath"]), "ActualValue": d["ActualValue"],
                          "DriftDetectionTimestamp": at},
            })
            entry["Details"].append(detail)
        entry["Replacement"] = _replacement(entry["Details"])
        entry["Scope"] = sorted({x["Target"]["Attribute"] for x in entry["Details"]})
        plan.append((lid, adapter, model.physical_resource_id, desired))
    return plan


def _value_at(props: dict[str, Any], path: str) -> str:
    node: Any = props
    for tok in path.strip("/").split("/"):
        if isinstance(node, list) and tok.isdigit() and int(tok) < len(node):
            node = node[int(tok)]
        elif isinstance(node, dict) and tok in node:
            node = node[tok]
        else:
            return "null"
    return drift.render(node)


def _find_change_set(ctx: Context, params: dict[str, Any]) -> ChangeSet | None:
    backend = cloudformation_backends[ctx.account_id][ctx.region]
    name, stack_name = params.get("ChangeSetName", ""), params.get("StackName", "")
    if name in backend.change_sets:
        return backend.change_sets[name]
    found = [cs for cs in backend.change_sets.values()
             if cs.change_set_name == name and stack_name in (cs.stack_name, cs.stack_id)]
    return max(found, key=lambda cs: cs.creation_time) if found else None


@registry.before("cloudformation", "CreateChangeSet")
def _before_create(ctx: Context, params: dict[str, Any]) -> None:
    # AWS defaults ChangeSetType to UPDATE; moto to CREATE (which clobbers the stack).
    if not params.get("ChangeSetType"):
        ctx.set_form_param("ChangeSetType", "UPDATE")
        params["ChangeSetType"] = "UPDATE"
    return None


@registry.after("cloudformation", "CreateChangeSet")
def _after_create(ctx: Context, params: dict[str, Any], status: int) -> None:
    if status != 200 or params.get("ChangeSetType", "UPDATE") != "UPDATE":
        return
    change_set = _find_change_set(ctx, params)
    if change_set is None:
        return
    stack = get_stack(ctx, change_set.stack_id)
    changes = template_changes(stack, change_set)
    change_set.revert_plan = []
    if params.get("DeploymentMode") == "REVERT_DRIFT":
        change_set.deployment_mode = "REVERT_DRIFT"
        change_set.revert_plan = drift_changes(stack, change_set, changes)
        needs_replacement = [f"{c['LogicalResourceId']}" for c in changes
                             if c.get("Replacement") == "True" and c.get("ResourceDriftStatus") == "MODIFIED"]
        if needs_replacement:
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.status_reason = ("Drift-aware change sets can't revert drift on properties that require "
                                        f"replacement: {', '.join(needs_replacement)}")
    change_set.changes = changes
    if changes and change_set.status == "FAILED" and not getattr(change_set, "status_reason", "").startswith("Drift"):
        change_set.status, change_set.execution_status, change_set.status_reason = "CREATE_COMPLETE", "AVAILABLE", None


@registry.before("cloudformation", "ExecuteChangeSet")
def _before_execute(ctx: Context, params: dict[str, Any]) -> None:
    change_set = _find_change_set(ctx, params)
    if change_set is not None and change_set.execution_status != "AVAILABLE":
        from .protocol import ServiceError

        raise ServiceError("InvalidChangeSetStatus",
                           f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current status of [{change_set.status}]")
    ctx.change_set = change_set  # type: ignore[attr-defined]
    return None


# Executing the change set (and its revert plan) is cfn_operations.run_update's job.


@registry.before("cloudformation", "DescribeChangeSet")
@registry.before("cloudformation", "DeleteChangeSet")
def _before_lookup(ctx: Context, params: dict[str, Any]) -> None:
    """An unknown change set (or one deleted when another was executed): ChangeSetNotFound, not
    moto's ValidationError (or crash)."""
    if _find_change_set(ctx, params) is None:
        from .protocol import ServiceError

        raise ServiceError("ChangeSetNotFound", f"ChangeSet [{params.get('ChangeSetName')}] does not exist", 404)
    return None


@registry.operation("cloudformation", "ListChangeSets")
def list_change_sets(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """The stack's change sets (moto listed every change set in the Region), oldest first."""
    import base64

    stack = get_stack(ctx, params.get("StackName", ""))
    found = sorted((cs for cs in cloudformation_backends[ctx.account_id][ctx.region].change_sets.values()
                    if cs.stack_id == stack.stack_id), key=lambda cs: cs.creation_time)
    start = int(base64.b64decode(params["NextToken"]).decode()) if params.get("NextToken") else 0
    summaries = [{"StackId": cs.stack_id, "StackName": cs.stack_name, "ChangeSetId": cs.change_set_id,
                  "ChangeSetName": cs.change_set_name, "ExecutionStatus": cs.execution_status, "Status": cs.status,
                  "CreationTime": cs.creation_time, "Description": cs.description,
                  **({"StatusReason": cs.status_reason} if cs.status_reason else {})} for cs in found[start:start + 100]]
    out: dict[str, Any] = {"Summaries": summaries}
    if start + 100 < len(found):
        out["NextToken"] = base64.b64encode(str(start + 100).encode()).decode()
    return out

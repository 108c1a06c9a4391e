"""Stack updates as CloudFormation runs them: in phases, failing, rolling back.

moto applies an update in one go (removed resources first, a replaced resource
deleted before its replacement exists) and can't fail half-way. Here an update
(UpdateStack or ExecuteChangeSet) runs as AWS documents it:

  UPDATE_IN_PROGRESS -> resources created/updated in dependency order (a resource
  whose createOnly property changes gets a new physical resource, the old one
  stays) -> UPDATE_COMPLETE_CLEANUP_IN_PROGRESS (removed and replaced resources
  deleted) -> UPDATE_COMPLETE.

A resource that fails (a resource_failure fault, or moto refusing the change)
gets UPDATE_FAILED/CREATE_FAILED with the reason and the stack rolls back:
UPDATE_ROLLBACK_IN_PROGRESS -> updated resources put back to the previous
template's values (a drift-aware change set puts them back to their actual
pre-deployment state), replaced ones back to the old physical resource ->
UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS (resources the update created are
deleted) -> UPDATE_ROLLBACK_COMPLETE. A rollback that fails leaves the stack
UPDATE_ROLLBACK_FAILED until ContinueUpdateRollback. DisableRollback leaves it
UPDATE_FAILED. A failed create rolls back to ROLLBACK_COMPLETE (OnFailure)."""

from __future__ import annotations

import copy
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.models import CloudFormationBackend, Stack, cloudformation_backends
from moto.core.utils import utcnow

from . import drift, faults, moto_fixes, registry, resources, schemas
from .cfn_events import TEMPLATE_ERRORS, Operation, ResourceFailed, begin, current, emit, end, stack_event, stack_of
from .cfn_events import _orig_create as moto_create_resource
from .cfn_events import update_resource as _update
from .protocol import ServiceError
from .registry import Context
from .resources import NotFound, Where

UPDATABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_FAILED", "IMPORT_COMPLETE",
             "IMPORT_ROLLBACK_COMPLETE"}
NEW_PHYSICAL = "Requested update requires the creation of a new physical resource; hence creating one."


def _op() -> Operation:
    return current() or begin(Operation("internal"))


def _pick_fault(stack: Stack, op: Operation, logical_ids: Any) -> None:
    if op.fault is None:
        op.fault = faults.take_resource_failure(op.access_key, {stack.name, stack.stack_id}, logical_ids)


def _failed(verb: str, logical_ids: list[str]) -> str:
    return f"The following resource(s) failed to {verb}: [{', '.join(logical_ids)}]. "


def _type(rmap: Any, logical_id: str) -> str:
    return rmap._resource_json_map.get(logical_id, {}).get("Type", "")


# --------------------------------------------------------------------- create

_orig_create_resources = Stack.create_resources


def _create_resources(self: Stack) -> None:
    op = _op()
    _pick_fault(self, op, list((self.template_dict.get("Resources") or {}).keys()))
    try:
        _orig_create_resources(self)
    except ResourceFailed as failure:
        reason = _failed("create", [failure.logical_id])
        if op.disable_rollback or op.on_failure == "DO_NOTHING":
            stack_event(self, "CREATE_FAILED", reason)
            return
        stack_event(self, "ROLLBACK_IN_PROGRESS", reason + "Rollback requested by user.")
        _delete_added(self.resource_map, op, self.resource_map._resource_json_map)
        stack_event(self, "ROLLBACK_COMPLETE")
        if op.on_failure == "DELETE":
            cloudformation_backends[self.account_id][self.region_name].delete_stack(self.stack_id)


Stack.create_resources = _create_resources  # type: ignore[method-assign]


def _delete_added(rmap: Any, op: Operation, json_map: dict[str, Any]) -> None:
    for action, lid in reversed(op.done):
        model = rmap._parsed_resources.get(lid) if action == "Add" else None
        if model is None or isinstance(model, str):
            continue
        try:
            rmap._delete_resource(model, json_map[lid])
        except Exception as e:
            emit(stack_of(rmap), lid, model.physical_resource_id, json_map[lid]["Type"], "DELETE_FAILED", str(e))
            continue
        rmap._parsed_resources.pop(lid, None)


def run_create(stack: Stack, change_set: Any) -> bool:
    """Execute a CREATE change set: the stack (REVIEW_IN_PROGRESS) gets its template."""
    stack.template = change_set.template
    stack._parse_template()
    stack.parameters = dict(change_set.parameters or {})
    rmap = stack.resource_map
    rmap._template, rmap.input_parameters = stack.template_dict, stack.parameters
    rmap.load()
    stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.create_resources()
    stack.output_map = stack._create_output_map()
    stack.description = stack.template_dict.get("Description")
    return stack.status == "CREATE_COMPLETE"


# --------------------------------------------------------------------- update

def _switch(rmap: Any, template: dict[str, Any], parameters: dict[str, Any] | None) -> None:
    """Point the resource map at a template (and parameters), as moto's update does."""
    rmap._template = template
    if parameters:
        rmap.input_parameters = parameters
    rmap.load_mapping()
    rmap.load_parameters()
    rmap.load_conditions()
    rmap._resource_json_map = template["Resources"]


def _needs_replacement(rmap: Any, lid: str, old_json: dict[str, Any], previous: dict[str, Any]) -> bool:
    new = rmap._resource_json_map[lid]
    if old_json[lid]["Type"] != new["Type"]:
        return True
    schema = schemas.get(new["Type"])
    if schema is None:
        return False
    try:
        props = parsing.clean_json(copy.deepcopy(new.get("Properties") or {}), rmap)
    except Exception:
        return False
    before = schemas.coerce_properties(new["Type"], previous.get(lid) or {})
    after = schemas.coerce_properties(new["Type"], props or {})
    return any(drift.to_json(before.get(k)) != drift.to_json(after.get(k)) for k in schema.create_only)


def _replace(stack: Stack, rmap: Any, lid: str, op: Operation, replaced: dict[str, Any], old_json: dict[str, Any]) -> None:
    old, rtype = rmap._parsed_resources[lid], _type(rmap, lid)
    emit(stack, lid, old.physical_resource_id, rtype, "UPDATE_IN_PROGRESS", NEW_PHYSICAL)
    if op.fault is not None and op.fault.logical_id == lid:
        emit(stack, lid, old.physical_resource_id, rtype, "UPDATE_FAILED", op.fault.reason)
        raise ResourceFailed(lid, op.fault.reason)
    try:  # moto's own create: the replacement's events are UPDATE_*, not CREATE_*
        new = moto_create_resource(lid, rmap._resource_json_map[lid], rmap, stack.account_id, stack.region_name)
    except Exception as e:
        reason = f"Resource handler returned message: \"{e}\""
        emit(stack, lid, old.physical_resource_id, rtype, "UPDATE_FAILED", reason)
        raise ResourceFailed(lid, reason) from e
    rmap._parsed_resources[lid] = new
    replaced[lid] = (old, old_json[lid])
    emit(stack, lid, new.physical_resource_id, rtype, "UPDATE_IN_PROGRESS", "Resource creation Initiated")
    emit(stack, lid, new.physical_resource_id, rtype, "UPDATE_COMPLETE")
    op.done.append(("Replace", lid))


def _converge(stack: Stack, rmap: Any, lid: str, op: Operation, desired: dict[str, Any],
              events: bool, previous: dict[str, Any] | None = None) -> None:
    """Apply properties to a resource through its adapter (drift-aware change sets)."""
    model, rtype = rmap._parsed_resources[lid], _type(rmap, lid)
    adapter = resources.get(rtype)
    if events:
        emit(stack, lid, model.physical_resource_id, rtype, "UPDATE_IN_PROGRESS", properties=desired)
        failing = op.fault is not None and op.fault.logical_id == lid and \
            (op.fault.rollback_reason if op.rolling_back else op.fault.reason)
        if failing:
            emit(stack, lid, model.physical_resource_id, rtype, "UPDATE_FAILED", failing)
            raise ResourceFailed(lid, failing)
    try:
        adapter.apply(Where(stack.account_id, stack.region_name), model.physical_resource_id, desired, previous)
    except Exception as e:
        reason = f"Resource handler returned message: \"{e}\""
        emit(stack, lid, model.physical_resource_id, rtype, "UPDATE_FAILED", reason)
        raise ResourceFailed(lid, reason) from e
    if events:
        emit(stack, lid, model.physical_resource_id, rtype, "UPDATE_COMPLETE")


def run_update(stack: Stack, template: str, parameters: dict[str, Any] | None, tags: dict[str, str] | None = None,
               role_arn: str | None = None, change_set: Any = None) -> bool:
    op, rmap = _op(), stack.resource_map
    new_template = Stack.parse_template(template) if isinstance(template, str) else template
    saved = {"template": stack.template, "template_dict": stack.template_dict, "parameters": stack.parameters,
             "tags": stack.tags, "output_map": stack.output_map, "map_template": rmap._template,
             "json_map": rmap._resource_json_map, "input_parameters": dict(rmap.input_parameters),
             "events": list(stack.events), "status": stack.status,
             "last_updated_time": getattr(stack, "last_updated_time", None)}
    previous = moto_fixes.deployed_properties(rmap)
    diff = rmap.build_resource_diff(new_template, parameters)
    revert = {lid: desired for lid, _adapter, _pid, desired in getattr(change_set, "revert_plan", None) or []}
    drift_aware = getattr(change_set, "deployment_mode", None) == "REVERT_DRIFT"
    actual: dict[str, dict[str, Any]] = {}
    if drift_aware:  # a failed drift-aware deployment goes back to the actual pre-deployment state
        for lid in set(diff["Modify"]) | set(revert):
            actual.update(_read_actual(stack, rmap, lid))
    _pick_fault(stack, op, diff["Add"] + diff["Modify"] + list(revert))
    stack.last_updated_time = utcnow()
    stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
    if tags is not None:
        stack.tags = tags
    _switch(rmap, new_template, parameters)
    replaced: dict[str, Any] = {}
    stack_tags = moto_fixes.stack_tags(stack.account_id, stack.region_name, stack.stack_id)
    try:
        with moto_fixes.update_context(previous, stack_tags):
            for lid in rmap._ResourceMap__get_resources_in_dependency_order():
                if lid in diff["Add"]:
                    rmap[lid]
                elif lid in diff["Modify"]:
                    if _needs_replacement(rmap, lid, saved["json_map"], previous):
                        _replace(stack, rmap, lid, op, replaced, saved["json_map"])
                    else:
                        _update(lid, rmap._resource_json_map[lid], rmap, stack.account_id, stack.region_name)
                if lid in revert and lid in rmap._parsed_resources:
                    _converge(stack, rmap, lid, op, revert[lid], events=lid not in diff["Modify"])
                    if lid not in diff["Modify"]:
                        op.done.append(("Revert", lid))
    except ResourceFailed as failure:
        return _fail_update(stack, op, failure, saved, previous, replaced, actual, new_template)
    except TEMPLATE_ERRORS:  # AWS validates the template before it starts: the call fails, nothing happened
        _switch(rmap, saved["map_template"], saved["input_parameters"])
        stack.tags, stack.events[:] = saved["tags"], saved["events"]
        stack.status, stack.last_updated_time = saved["status"], saved["last_updated_time"]
        raise
    stack_event(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    # A replaced resource's old physical resource goes as its UpdateReplacePolicy says (default Delete).
    gone = [(old, {**old_json, "DeletionPolicy": old_json.get("UpdateReplacePolicy")}) for old, old_json in
            replaced.values()]
    gone += [(rmap._parsed_resources.pop(lid), saved["json_map"][lid]) for lid in diff["Remove"]
             if lid in rmap._parsed_resources]
    _delete_all(stack, rmap, gone)
    stack.template, stack.template_dict = template, new_template
    if parameters:
        stack.parameters = parameters
    stack.role_arn = role_arn if role_arn is not None else stack.role_arn
    stack.output_map = stack._create_output_map()
    stack.description = new_template.get("Description")
    stack_event(stack, "UPDATE_COMPLETE")
    return True


def _read_actual(stack: Stack, rmap: Any, lid: str) -> dict[str, dict[str, Any]]:
    adapter, model = resources.get(_type(rmap, lid)), rmap._parsed_resources.get(lid)
    if adapter is None or model is None:
        return {}
    try:
        live = adapter.read(Where(stack.account_id, stack.region_name), model.physical_resource_id)
    except NotFound:
        return {}
    return {lid: {k: v for k, v in live.items() if k not in adapter.schema.read_only}}


def _delete_all(stack: Stack, rmap: Any, gone: list[tuple[Any, dict[str, Any]]]) -> None:
    for model, res_json in gone:
        if res_json.get("DeletionPolicy") == "Retain":
            emit(stack, model.logical_resource_id, model.physical_resource_id, res_json["Type"], "DELETE_SKIPPED")
            continue
        try:
            rmap._delete_resource(model, res_json)
        except Exception as e:  # a cleanup failure doesn't fail the stack operation (as in AWS)
            emit(stack, model.logical_resource_id, model.physical_resource_id, res_json["Type"], "DELETE_FAILED",
                 str(e))


def _fail_update(stack: Stack, op: Operation, failure: ResourceFailed, saved: dict[str, Any],
                 previous: dict[str, Any], replaced: dict[str, Any], actual: dict[str, Any],
                 new_template: dict[str, Any]) -> bool:
    rmap = stack.resource_map
    reason = _failed("update", [failure.logical_id])
    if op.disable_rollback:  # resources that were updated keep it; the rest is as before; a retry does the rest
        done = {lid for _a, lid in op.done}
        json_map = {lid: j for lid, j in rmap._resource_json_map.items() if lid in done or lid in saved["json_map"]}
        json_map.update({lid: j for lid, j in saved["json_map"].items() if lid not in done})
        rmap._resource_json_map, rmap._template = json_map, {**new_template, "Resources": json_map}
        stack.template, stack.template_dict = saved["template"], saved["template_dict"]
        stack_event(stack, "UPDATE_FAILED", reason)
        return False
    stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
    new_json, new_props = rmap._resource_json_map, moto_fixes.deployed_properties(rmap)
    failing = [] if failure.logical_id in [lid for a, lid in op.done] or failure.logical_id not in rmap._parsed_resources \
        or failure.logical_id not in saved["json_map"] else [("Modify", failure.logical_id)]
    pending = failing + [(a, lid) for a, lid in reversed(op.done) if a != "Add"]
    stack.tags = saved["tags"]
    _switch(rmap, saved["map_template"], saved["input_parameters"])
    stack.template, stack.template_dict, stack.parameters = saved["template"], saved["template_dict"], saved["parameters"]
    stack.output_map = saved["output_map"]
    stack._rollback = {"pending": pending, "replaced": replaced, "actual": actual, "previous": previous,
                       "new_props": new_props, "new_json": new_json, "fault": op.fault,
                       "added": [lid for a, lid in op.done if a == "Add"]}
    return _continue_rollback(stack, op, skip=set())


def _continue_rollback(stack: Stack, op: Operation, skip: set[str]) -> bool:
    rmap, state = stack.resource_map, stack._rollback
    op.rolling_back = True
    op.fault = state["fault"] if state["fault"] is not None and faults.exists(state["fault"].id) else None
    new_props = state["new_props"]
    stack_tags = moto_fixes.stack_tags(stack.account_id, stack.region_name, stack.stack_id)
    while state["pending"]:
        action, lid = state["pending"][0]
        rtype = _type(rmap, lid)
        try:
            if lid in skip:
                model = rmap._parsed_resources.get(lid)
                emit(stack, lid, getattr(model, "physical_resource_id", None), rtype, "UPDATE_COMPLETE",
                     "Resource update cancelled; skipped by ContinueUpdateRollback")
            elif action == "Replace":
                old, _old_json = state["replaced"][lid]
                emit(stack, lid, old.physical_resource_id, rtype, "UPDATE_IN_PROGRESS")
                if op.fault is not None and op.fault.logical_id == lid and op.fault.rollback_reason:
                    emit(stack, lid, old.physical_resource_id, rtype, "UPDATE_FAILED", op.fault.rollback_reason)
                    raise ResourceFailed(lid, op.fault.rollback_reason)
                state.setdefault("discard", []).append((rmap._parsed_resources[lid], state["new_json"][lid]))
                rmap._parsed_resources[lid] = old
                emit(stack, lid, old.physical_resource_id, rtype, "UPDATE_COMPLETE")
            elif lid in state["actual"]:
                _converge(stack, rmap, lid, op, state["actual"][lid], events=True, previous=new_props.get(lid))
            else:
                with moto_fixes.update_context({**state["previous"], **new_props}, stack_tags):
                    _update(lid, rmap._resource_json_map[lid], rmap, stack.account_id, stack.region_name)
        except ResourceFailed as failure:
            stack_event(stack, "UPDATE_ROLLBACK_FAILED", _failed("update", [failure.logical_id]))
            return False
        state["pending"].pop(0)
    stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    gone = list(state.get("discard", []))
    gone += [(rmap._parsed_resources.pop(lid), state["new_json"][lid]) for lid in reversed(state["added"])
             if lid in rmap._parsed_resources]
    _delete_all(stack, rmap, gone)
    del stack._rollback
    stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")
    return False


# ---------------------------------------------------------- moto entry points

def _stack_update(self: Stack, template: str, role_arn: str | None = None, parameters: dict[str, Any] | None = None,
                  tags: dict[str, str] | None = None) -> None:
    run_update(self, template, parameters, tags=tags, role_arn=role_arn)


def _execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    change_set = self.change_sets.get(change_set_name) or next(
        (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
         and stack_name in (None, "", cs.stack_name, cs.stack_id)), None)
    if change_set is None:  # cfn_tokens answers ChangeSetNotFound before moto is called
        from moto.cloudformation.exceptions import ValidationError

        raise ValidationError(change_set_name, f"ChangeSet [{change_set_name}] does not exist")
    stack = self.stacks[change_set.stack_id]
    for cs_id in [k for k, cs in self.change_sets.items() if cs.stack_id == stack.stack_id and cs is not change_set]:
        del self.change_sets[cs_id]  # "CloudFormation deletes all other change sets associated with the stack"
    op = _op()
    if getattr(change_set, "on_stack_failure", None) and op.name == "ExecuteChangeSet":
        op.on_failure = change_set.on_stack_failure
        op.disable_rollback = op.disable_rollback or change_set.on_stack_failure == "DO_NOTHING"
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    op.change_set = change_set
    if change_set.change_set_type == "CREATE":
        ok = run_create(stack, change_set)
    else:
        ok = run_update(stack, change_set.template, change_set.parameters, change_set=change_set)
    change_set.execution_status = "EXECUTE_COMPLETE" if ok else "EXECUTE_FAILED"


Stack.update = _stack_update  # type: ignore[method-assign]
CloudFormationBackend.execute_change_set = _execute_change_set  # type: ignore[method-assign]


@registry.operation("cloudformation", "ContinueUpdateRollback")
def continue_update_rollback(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stack = cloudformation_backends[ctx.account_id][ctx.region].get_stack(params.get("StackName") or "")
    if stack.status != "UPDATE_ROLLBACK_FAILED" or not hasattr(stack, "_rollback"):
        raise ServiceError("ValidationError", f"Stack {stack.stack_id} is in {stack.status} state and can not "
                                              "continue update rollback.")
    skip = set(params.get("ResourcesToSkip") or [])
    unknown = skip - {lid for _a, lid in stack._rollback["pending"]}
    if unknown:
        raise ServiceError("ValidationError", f"Resources [{', '.join(sorted(unknown))}] are not in the "
                                              "UPDATE_FAILED state and can not be skipped.")
    op = begin(Operation("ContinueUpdateRollback", access_key=ctx.access_key, token=params.get("ClientRequestToken")))
    try:
        stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", "Continue rollback requested by user.")
        _continue_rollback(stack, op, skip)
    finally:
        end()
    return {}

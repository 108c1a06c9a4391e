"""Stack update parameters resolved as CloudFormation resolves them, which moto
does not: an omitted parameter takes its Default, or the call fails with
"Parameters: [X] must have values"; UsePreviousValue takes the deployed value;
and UsePreviousTemplate with every parameter UsePreviousValue is accepted (moto
refuses it as "No updates are to be performed."). moto is then handed explicit
values, or none when they are the deployed ones.

DescribeStacks masks every NoEcho parameter's value as "****" (moto compared the
value, not the key, with its NoEcho keys, so it never masked).

Not emulated: an update whose only change is a parameter value does not
re-resolve resource properties that use it (the stack's parameters change)."""

from __future__ import annotations

import re
from typing import Any

from moto.cloudformation.models import Stack

from . import registry
from .cfn_changesets import _find_change_set
from .cfn_drift import get_stack
from .protocol import ServiceError
from .registry import Context

MEMBER = re.compile(r"Parameters\.member\.\d+\.")
MASK = "****"


def _parameter_list(self: Stack) -> list[dict[str, Any]]:
    """The stack's parameters as DescribeStacks returns them: NoEcho values masked."""
    declared = self.template_dict.get("Parameters") or {}
    return [{"ParameterKey": k,
             "ParameterValue": MASK if str((declared.get(k) or {}).get("NoEcho", "")).lower() == "true" else v}
            for k, v in self.resource_map.resolved_parameters.items()]


Stack.parameter_list = property(_parameter_list)  # type: ignore[assignment]


def _declared(stack: Stack, params: dict[str, Any]) -> dict[str, Any] | None:
    """The Parameters section of the template the update uses; None if not at hand."""
    if params.get("UsePreviousTemplate"):
        return stack.template_dict.get("Parameters") or {}
    body = params.get("TemplateBody")
    return (Stack.parse_template(body).get("Parameters") or {}) if body else None


def resolve(stack: Stack, declared: dict[str, Any], given: list[dict[str, Any]]) -> dict[str, str]:
    """Every declared parameter's value for the update, or a ValidationError."""
    by_key = {p["ParameterKey"]: p for p in given}
    previous = stack.template_dict.get("Parameters") or {}
    values: dict[str, str] = {}
    missing = []
    for name, decl in declared.items():
        p = by_key.get(name, {})
        if p.get("UsePreviousValue"):
            if name not in previous:
                raise ServiceError("ValidationError", f"Invalid input for parameter key {name}. Cannot specify "
                                                      "usePreviousValue as true for a parameter key not in the "
                                                      "previous template")
            values[name] = str(stack.stack_parameters[name])
        elif "ParameterValue" in p:
            values[name] = p["ParameterValue"]
        elif "Default" in (decl or {}):
            values[name] = str(decl["Default"])
        else:
            missing.append(name)
    if missing:
        raise ServiceError("ValidationError", f"Parameters: [{', '.join(missing)}] must have values")
    return values


@registry.before("cloudformation", "CreateChangeSet")
def _resolve_change_set_parameters(ctx: Context, params: dict[str, Any]) -> None:
    if params.get("ChangeSetType") not in (None, "", "UPDATE"):
        return None
    stack = get_stack(ctx, params.get("StackName", ""))
    declared = _declared(stack, params)
    if declared is None:
        return None
    values = resolve(stack, declared, params.get("Parameters") or [])
    form = ctx.request.form
    for key in [k for k in form.keys() if MEMBER.match(k)]:
        form.poplist(key)
    deployed = {k: str(stack.stack_parameters.get(k)) for k in values}
    ctx.deployed_parameters = values == deployed  # type: ignore[attr-defined]
    # The deployed values: moto keeps them when given none, and would
    # otherwise refuse an unchanged template as "No updates are to be performed."
    if values != deployed:
        for i, (k, v) in enumerate(values.items(), 1):
            form[f"Parameters.member.{i}.ParameterKey"] = k
            form[f"Parameters.member.{i}.ParameterValue"] = v
    ctx.rewritten = True
    return None


NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."


@registry.after("cloudformation", "CreateChangeSet")
def _nothing_submitted_fails(ctx: Context, params: dict[str, Any], status: int) -> None:
    """The deployed template and values: created FAILED with AWS's reason, which moto gives
    only when the stack has no parameters."""
    if status != 200 or not getattr(ctx, "deployed_parameters", False):
        return
    change_set = _find_change_set(ctx, params)
    stack = get_stack(ctx, params.get("StackName", ""))
    if change_set is None or change_set.changes or change_set.template != stack.template:
        return
    change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
    change_set.status_reason = NO_CHANGES

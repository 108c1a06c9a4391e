"""Idempotency and state checks around CloudFormation's stack operations.

* ClientRequestToken on CreateStack, UpdateStack, ExecuteChangeSet and DeleteStack
  (pattern [a-zA-Z0-9][-a-zA-Z0-9]*, at most 128): every event of the operation
  carries it; a retry with the same token for the same operation on the same stack
  is answered as the first call was, without running the operation again; the same
  token for a different operation on that stack -> TokenAlreadyExistsException.
* CreateChangeSet with a name the stack already has -> AlreadyExistsException,
  unless it is a retry with the same ClientToken (then the existing change set's ids).
  A CREATE change set for a stack that already exists -> ValidationError.
* UpdateStack, CreateChangeSet (UPDATE) and ExecuteChangeSet on a stack that isn't in
  an updatable state are refused; UpdateStack that changes nothing -> "No updates are
  to be performed."; ExecuteChangeSet of an unknown change set -> ChangeSetNotFound.
* The stack operation in progress (token, caller, DisableRollback, OnFailure) is handed
  to cfn_events/cfn_operations through cfn_events.begin()."""

from __future__ import annotations

import re
import threading
from typing import Any

from moto.cloudformation.models import Stack, cloudformation_backends

from . import registry
from .cfn_changesets import _find_change_set
from .cfn_events import Operation, begin, end
from .cfn_operations import UPDATABLE
from .protocol import ServiceError
from .registry import Context

TOKEN = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9]*")
_lock = threading.Lock()
_tokens: dict[tuple[str, str, str, str], dict[str, Any]] = {}  # (account, region, stack id, token) -> what it did


@registry.on_reset
def _reset() -> None:
    with _lock:
        _tokens.clear()


def _backend(ctx: Context) -> Any:
    return cloudformation_backends[ctx.account_id][ctx.region]


def _live_stack(ctx: Context, name: str) -> Stack | None:
    backend = _backend(ctx)
    if name in backend.stacks:
        return backend.stacks[name]
    return next((s for s in backend.stacks.values() if s.name == name), None)


def _token(params: dict[str, Any], key: str = "ClientRequestToken") -> str | None:
    token = params.get(key)
    if token is not None and (len(token) > 128 or not TOKEN.fullmatch(token)):
        raise ServiceError("ValidationError", f"1 validation error detected: Value '{token}' at 'clientRequestToken' "
                                              "failed to satisfy constraint: Member must satisfy regular expression "
                                              "pattern: [a-zA-Z0-9][-a-zA-Z0-9]*")
    return token


def _seen(ctx: Context, stack: Stack | None, token: str | None, operation: str, target: str = "") -> bool:
    """True if this is a retry of an operation already done with this token."""
    if not token or stack is None:
        return False
    with _lock:
        found = _tokens.get((ctx.account_id, ctx.region, stack.stack_id, token))
    if found is None:
        return False
    if found["operation"] == operation and found["target"] == target:
        return True
    raise ServiceError("TokenAlreadyExistsException",
                       f"Another {found['operation']} request with the same client request token {token} exists "
                       f"for stack {stack.stack_id}.")


def _remember(ctx: Context, stack: Stack | None, token: str | None, operation: str, target: str = "") -> None:
    if token and stack is not None:
        with _lock:
            _tokens[(ctx.account_id, ctx.region, stack.stack_id, token)] = {"operation": operation, "target": target}


def _not_updatable(stack: Stack) -> ServiceError:
    return ServiceError("ValidationError", f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


# -------------------------------------------------------------------- CreateStack

@registry.before("cloudformation", "CreateStack", first=True)
def _before_create_stack(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    token = _token(params)
    stack = _live_stack(ctx, params.get("StackName") or "")
    if _seen(ctx, stack, token, "CreateStack"):
        return {"StackId": stack.stack_id}  # type: ignore[union-attr]
    on_failure = params.get("OnFailure") or ("DO_NOTHING" if _flag(params.get("DisableRollback")) else "ROLLBACK")
    begin(Operation("CreateStack", ctx.access_key, token, on_failure == "DO_NOTHING", on_failure))
    return None


@registry.after("cloudformation", "CreateStack")
def _after_create_stack(ctx: Context, params: dict[str, Any], status: int) -> None:
    end()
    if status == 200:
        _remember(ctx, _live_stack(ctx, params.get("StackName") or ""), params.get("ClientRequestToken"), "CreateStack")


# -------------------------------------------------------------------- UpdateStack

def _no_changes(stack: Stack, params: dict[str, Any]) -> bool:
    if params.get("TemplateURL"):
        return False
    body = stack.template if _flag(params.get("UsePreviousTemplate")) else params.get("TemplateBody")
    try:
        if body is None or Stack.parse_template(body) != stack.template_dict:
            return False
    except Exception:
        return False
    current = {k: str(v) for k, v in stack.stack_parameters.items()}
    for p in params.get("Parameters") or []:
        if not _flag(p.get("UsePreviousValue")) and str(p.get("ParameterValue")) != current.get(p.get("ParameterKey")):
            return False
    tags = params.get("Tags")
    return tags is None or {t["Key"]: t["Value"] for t in tags} == stack.tags


@registry.before("cloudformation", "UpdateStack", first=True)
def _before_update_stack(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    token = _token(params)
    stack = _backend(ctx).get_stack(params.get("StackName") or "")
    if _seen(ctx, stack, token, "UpdateStack"):
        return {"StackId": stack.stack_id}
    if stack.status not in UPDATABLE:
        raise _not_updatable(stack)
    if _no_changes(stack, params):
        raise ServiceError("ValidationError", "No updates are to be performed.")
    begin(Operation("UpdateStack", ctx.access_key, token, _flag(params.get("DisableRollback"))))
    return None


@registry.after("cloudformation", "UpdateStack")
def _after_update_stack(ctx: Context, params: dict[str, Any], status: int) -> None:
    end()
    if status == 200:
        _remember(ctx, _live_stack(ctx, params.get("StackName") or ""), params.get("ClientRequestToken"), "UpdateStack")


# -------------------------------------------------------------- ExecuteChangeSet

@registry.before("cloudformation", "ExecuteChangeSet", first=True)
def _before_execute(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    token = _token(params)
    change_set = _find_change_set(ctx, params)
    if change_set is None:
        raise ServiceError("ChangeSetNotFound", f"ChangeSet [{params.get('ChangeSetName')}] does not exist", 404)
    stack = change_set.stack
    if _seen(ctx, stack, token, "ExecuteChangeSet", change_set.change_set_id):
        return {}
    if change_set.change_set_type == "UPDATE" and stack.status not in UPDATABLE:
        raise ServiceError("InvalidChangeSetStatus", f"ChangeSet [{change_set.change_set_id}] cannot be executed: "
                                                     f"stack {stack.stack_id} is in {stack.status} state.")
    begin(Operation("ExecuteChangeSet", ctx.access_key, token, _flag(params.get("DisableRollback"))))
    ctx.executed_change_set = change_set  # type: ignore[attr-defined]
    return None


@registry.after("cloudformation", "ExecuteChangeSet")
def _after_execute(ctx: Context, params: dict[str, Any], status: int) -> None:
    end()
    change_set = getattr(ctx, "executed_change_set", None)
    if status == 200 and change_set is not None:
        _remember(ctx, change_set.stack, params.get("ClientRequestToken"), "ExecuteChangeSet",
                  change_set.change_set_id)


# -------------------------------------------------------------------- DeleteStack

@registry.before("cloudformation", "DeleteStack", first=True)
def _before_delete_stack(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    token = _token(params)
    name = params.get("StackName") or ""
    stack = _live_stack(ctx, name) or _backend(ctx).deleted_stacks.get(name)
    if _seen(ctx, stack, token, "DeleteStack"):
        return {}
    ctx.deleted_stack = stack  # type: ignore[attr-defined]
    begin(Operation("DeleteStack", ctx.access_key, token))
    return None


@registry.after("cloudformation", "DeleteStack")
def _after_delete_stack(ctx: Context, params: dict[str, Any], status: int) -> None:
    end()
    if status == 200:
        _remember(ctx, getattr(ctx, "deleted_stack", None), params.get("ClientRequestToken"), "DeleteStack")


# ---------------------------------------------------------------- CreateChangeSet

@registry.before("cloudformation", "CreateChangeSet", first=True)
def _before_create_change_set(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    name, stack_name = params.get("ChangeSetName") or "", params.get("StackName") or ""
    existing = [cs for cs in _backend(ctx).change_sets.values()
                if cs.change_set_name == name and stack_name in (cs.stack_name, cs.stack_id)]
    if existing:
        cs, token = existing[-1], params.get("ClientToken")
        if token and getattr(cs, "client_token", None) == token:
            return {"Id": cs.change_set_id, "StackId": cs.stack_id}
        if token or getattr(cs, "client_token", None):
            raise ServiceError("AlreadyExistsException",
                               f"ChangeSet {name} cannot be created due to a mismatch with existing attribute ClientToken")
        raise ServiceError("AlreadyExistsException", f"ChangeSet [{name}] already exists and cannot be created again.")
    stack = _live_stack(ctx, stack_name)
    if (params.get("ChangeSetType") or "UPDATE") == "CREATE":
        if stack is not None and stack.status != "REVIEW_IN_PROGRESS":
            raise ServiceError("ValidationError", f"Stack [{stack_name}] already exists and cannot be created again "
                                                  f"with the changeSet [{name}].")
    elif stack is not None and stack.status not in UPDATABLE:
        raise _not_updatable(stack)
    return None


@registry.after("cloudformation", "CreateChangeSet")
def _after_create_change_set(ctx: Context, params: dict[str, Any], status: int) -> None:
    change_set = _find_change_set(ctx, params) if status == 200 else None
    if change_set is not None:
        change_set.client_token = params.get("ClientToken")
        change_set.on_stack_failure = params.get("OnStackFailure")

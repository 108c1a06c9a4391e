"""SSM Automation runbook semantics: parameter typing, {{ }} interpolation,
output selection, and the step actions (aws:executeAwsApi, aws:sleep,
aws:assertAwsResourceProperty, aws:waitForAwsResourceProperty, aws:branch,
aws:pause). ssm_automation.py owns executions and control flow; this module
only knows how one step turns inputs into outputs or a failure."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from . import settings
from .protocol import ServiceError

REF = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
NO_OUTPUT = "No output available yet because the step is not successfully executed"
INVOKE_FAILURE = "Step fails when it is Execute/Cancelling action. {}. Please refer to Automation Service " \
                 "Troubleshooting Guide for more diagnosis details."


class StepFailed(Exception):
    def __init__(self, message: str, stage: str = "Invocation", failure_type: str = "Unknown",
                 details: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message, self.stage, self.failure_type, self.details = message, stage, failure_type, details or {}


class Cancelled(Exception):
    pass


def bad_params(message: str) -> ServiceError:
    return ServiceError("InvalidAutomationExecutionParametersException", message)


# ------------------------------------------------------------------ parameters

def _one(name: str, values: list[str]) -> str:
    if len(values) != 1:
        raise bad_params(f"Parameter \"{name}\" takes exactly one value, got {len(values)}.")
    return values[0]


def typed_parameters(declared: dict[str, Any], given: dict[str, list[str]]) -> dict[str, Any]:
    """StartAutomationExecution's Parameters (name -> list of strings), typed by the
    document's declarations, with defaults; raises InvalidAutomationExecutionParametersException."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise bad_params(f"Parameter \"{unknown[0]}\" is not defined in the document.")
    out: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        ptype = str(spec.get("type", "String"))
        if name in given:
            values = [str(v) for v in given[name]]
        elif "default" in spec:  # defaults are typed the same way as given values
            default = spec["default"]
            values = as_strings(default if isinstance(default, list) or ptype not in ("StringList", "MapList")
                                else [default])
        else:
            raise bad_params(f"Parameter \"{name}\" is required but was not provided.")
        try:
            if ptype == "StringList":
                value: Any = values
            elif ptype == "Integer":
                value = int(_one(name, values))
            elif ptype == "Boolean":
                raw = _one(name, values).lower()
                if raw not in ("true", "false"):
                    raise bad_params(f"Parameter \"{name}\" must be true or false.")
                value = raw == "true"
            elif ptype == "StringMap":
                value = json.loads(_one(name, values))
                if not isinstance(value, dict):
                    raise ValueError("not a map")
            elif ptype == "MapList":
                value = [json.loads(v) for v in values]
                if not all(isinstance(v, dict) for v in value):
                    raise ValueError("not a list of maps")
            else:  # String and the AWS::*::*::Id style types
                value = _one(name, values)
        except ValueError as e:
            raise bad_params(f"Parameter \"{name}\" is not a valid {ptype}: {e}.") from None
        _check_constraints(name, spec, value)
        out[name] = value
    return out


def _check_constraints(name: str, spec: dict[str, Any], value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    allowed = spec.get("allowedValues")
    if allowed is not None and any(str(v) not in [str(a) for a in allowed] for v in items):
        raise bad_params(f"Parameter \"{name}\" must be one of {allowed}.")
    pattern = spec.get("allowedPattern")
    if pattern and any(isinstance(v, str) and not re.fullmatch(pattern, v) for v in items):
        raise bad_params(f"Parameter \"{name}\" does not match the allowed pattern {pattern}.")
    if isinstance(value, list):
        if "minItems" in spec and len(value) < int(spec["minItems"]) or \
                "maxItems" in spec and len(value) > int(spec["maxItems"]):
            raise bad_params(f"Parameter \"{name}\" has a number of items outside its limits.")


def as_strings(value: Any) -> list[str]:
    """A value in the API's AutomationParameterMap form (a list of strings)."""
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, dict):
        return [json.dumps(value)]
    return [str(value)]


# --------------------------------------------------------------- interpolation

class Scope:
    """What {{ name }} can refer to while an execution runs."""

    def __init__(self, execution_id: str, account_id: str, region: str, params: dict[str, Any]):
        self.params, self.outputs = params, {}  # outputs: "Step.Output" -> typed value
        self.system = {"automation:EXECUTION_ID": execution_id, "global:ACCOUNT_ID": account_id,
                       "global:REGION": region}
        self.account_id, self.region = account_id, region

    def lookup(self, name: str) -> tuple[bool, Any]:
        now = datetime.now(timezone.utc)
        if name in self.system:
            return True, self.system[name]
        if name == "global:DATE":
            return True, now.strftime("%Y-%m-%d")
        if name == "global:DATE_TIME":
            return True, now.strftime("%Y-%m-%d_%H.%M.%S")
        if name.startswith("ssm:"):
            return self._ssm_parameter(name[4:])
        if name in self.params:
            return True, self.params[name]
        if name in self.outputs:
            return True, self.outputs[name]
        return False, None  # e.g. an output its step never produced: stays as written, as in AWS

    def _ssm_parameter(self, name: str) -> tuple[bool, Any]:
        from moto.ssm.models import ssm_backends

        try:
            param = ssm_backends[self.account_id][self.region].get_parameter(name)
        except Exception:
            return False, None
        return (param is not None), (param.value if param is not None else None)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            whole = REF.fullmatch(value.strip())
            if whole:
                ok, found = self.lookup(whole.group(1))
                return found if ok else value
            return REF.sub(lambda m: self._text(m), value)
        if isinstance(value, list):
            out: list[Any] = []
            for item in value:
                resolved = self.resolve(item)
                is_ref = isinstance(item, str) and REF.fullmatch(item.strip())
                out.extend(resolved if is_ref and isinstance(resolved, list) else [resolved])
            return out
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def _text(self, m: re.Match[str]) -> str:
        ok, found = self.lookup(m.group(1))
        if not ok:
            return m.group(0)
        if isinstance(found, str):
            return found
        if isinstance(found, bool):
            return "true" if found else "false"
        return json.dumps(found) if isinstance(found, (dict, list)) else str(found)


# ---------------------------------------------------------------------- actions

def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda o: o.isoformat() if isinstance(o, datetime) else str(o)))


def _coerce(shape: Any, value: Any) -> Any:
    """Runbook values are often strings ("{{ Count }}"); the API wants its types."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: _coerce(shape.members.get(k), v) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_coerce(shape.member, v) for v in value]
    if kind == "list" and value is not None:
        return [_coerce(shape.member, value)]
    if kind == "map" and isinstance(value, dict):
        return {k: _coerce(shape.value, v) for k, v in value.items()}
    if isinstance(value, str):
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("float", "double"):
            return float(value)
        if kind == "boolean":
            return value.lower() == "true"
    if kind == "string" and isinstance(value, (dict, list)):
        return json.dumps(value)
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def call_api(run: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Make inputs' API call through the emulator itself, as the execution's principal."""
    from botocore import xform_name
    from botocore.exceptions import BotoCoreError, ClientError

    service, api = str(inputs.get("Service", "")), str(inputs.get("Api", ""))
    args = {k: v for k, v in inputs.items() if k not in ("Service", "Api", "PropertySelector", "DesiredValues")}
    try:
        client = run.client(service)
    except Exception as e:
        raise StepFailed(INVOKE_FAILURE.format(f"Unknown service {service!r}: {e}")) from None
    model = client.meta.service_model
    op = next((o for o in model.operation_names if o == api or xform_name(o) == api or o.lower() == api.lower()), None)
    if op is None:
        raise StepFailed(INVOKE_FAILURE.format(f"Api {api!r} is not an operation of service {service!r}"))
    try:
        args = _coerce(model.operation_model(op).input_shape, args)
        response = getattr(client, xform_name(op))(**args)
    except ClientError as e:
        err = e.response.get("Error", {})
        raise StepFailed(INVOKE_FAILURE.format(str(e)), details={
            "ErrorCode": [str(err.get("Code", ""))], "ExceptionMessage": [str(err.get("Message", ""))]}) from None
    except (BotoCoreError, ValueError, TypeError) as e:
        raise StepFailed(INVOKE_FAILURE.format(f"{type(e).__name__}: {e}")) from None
    response.pop("ResponseMetadata", None)
    return dict(_jsonable(response))


def select(document: Any, selector: str) -> list[Any]:
    from jsonpath_ng.ext import parse

    try:
        return [m.value for m in parse(selector).find(document)]
    except Exception as e:
        raise StepFailed(f"Invalid selector {selector!r}: {e}", stage="Verification", failure_type="Verification") from None


def typed_output(name: str, otype: str, matches: list[Any]) -> tuple[bool, Any]:
    """(found, value) for an output declaration; a missing match produces no output."""
    if not matches:
        return False, None
    value = matches if len(matches) > 1 else matches[0]
    try:
        if otype == "String":
            if isinstance(value, (dict, list)):
                raise ValueError("a String output can't hold a list or map")
            return True, ("true" if value else "false") if isinstance(value, bool) else str(value)
        if otype == "Integer":
            return True, int(value)
        if otype == "Boolean":
            return True, value if isinstance(value, bool) else str(value).lower() == "true"
        if otype == "StringList":
            items = value if isinstance(value, list) else [value]
            return True, [i if isinstance(i, str) else json.dumps(i) for i in items]
        if otype == "StringMap":
            if not isinstance(value, dict):
                raise ValueError("not a map")
            return True, value
        if otype == "MapList":
            items = value if isinstance(value, list) else [value]
            if not all(isinstance(i, dict) for i in items):
                raise ValueError("not a list of maps")
            return True, items
    except (TypeError, ValueError) as e:
        raise StepFailed(f"Output {name} of type {otype} cannot hold {json.dumps(value)[:200]}: {e}",
                         stage="Verification", failure_type="Verification") from None
    raise StepFailed(f"Output {name} has an unsupported type {otype}", stage="Verification", failure_type="Verification")


def _desired(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"  # AWS: Booleans in DesiredValues are written True/False
    return value if isinstance(value, str) else json.dumps(value)


def _assert_once(run: Any, inputs: dict[str, Any]) -> tuple[bool, list[str], list[str]]:
    response = call_api(run, inputs)
    actual = [_desired(v) for v in select(response, str(inputs.get("PropertySelector", "")))]
    desired = [_desired(v) for v in (inputs.get("DesiredValues") or [])]
    ok = bool(actual) and all(a in desired or a.lower() in [d.lower() for d in desired if d in ("True", "False")]
                              for a in actual)
    return ok, actual, desired


def assert_property(run: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    ok, actual, desired = _assert_once(run, inputs)
    if not ok:
        raise StepFailed(f"Step fails when it is verifying the response. Expected values are {desired} but found "
                         f"{actual}.", stage="Verification", failure_type="Verification")
    return {}


def wait_for_property(run: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    while True:
        ok, _, _ = _assert_once(run, inputs)
        if ok:
            return {}
        run.sleep(5.0)  # scaled; the step's timeoutSeconds (default 3600) ends the wait


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", text.strip())
    if not m or text.strip() in ("P", "PT"):
        raise StepFailed(f"Duration {text!r} is not an ISO 8601 duration", stage="InputValidation",
                         failure_type="Verification")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
    return min(days * 86400 + hours * 3600 + minutes * 60 + seconds, 604800.0)


def sleep_action(run: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    if inputs.get("Duration"):
        run.sleep(parse_duration(str(inputs["Duration"])))
    elif inputs.get("Timestamp"):
        target = datetime.fromisoformat(str(inputs["Timestamp"]).replace("Z", "+00:00"))
        run.sleep(max(0.0, (target - datetime.now(timezone.utc)).total_seconds()))
    else:
        raise StepFailed("aws:sleep needs Duration or Timestamp", stage="InputValidation", failure_type="Verification")
    return {}


_OPS = {
    "StringEquals": lambda a, b: str(a) == str(b),
    "EqualsIgnoreCase": lambda a, b: str(a).lower() == str(b).lower(),
    "StartsWith": lambda a, b: str(a).startswith(str(b)),
    "EndsWith": lambda a, b: str(a).endswith(str(b)),
    "Contains": lambda a, b: str(b) in (a if isinstance(a, list) else str(a)),
    "NumericEquals": lambda a, b: float(a) == float(b),
    "NumericGreater": lambda a, b: float(a) > float(b),
    "NumericLesser": lambda a, b: float(a) < float(b),
    "NumericGreaterOrEquals": lambda a, b: float(a) >= float(b),
    "NumericLesserOrEquals": lambda a, b: float(a) <= float(b),
    "BooleanEquals": lambda a, b: str(a).lower() == str(b).lower(),
}


def evaluate_choice(scope: Scope, choice: dict[str, Any]) -> bool:
    if "And" in choice:
        return all(evaluate_choice(scope, c) for c in choice["And"])
    if "Or" in choice:
        return any(evaluate_choice(scope, c) for c in choice["Or"])
    if "Not" in choice:
        return not evaluate_choice(scope, choice["Not"])
    ops = [k for k in choice if k in _OPS]
    if len(ops) != 1 or "Variable" not in choice:
        raise StepFailed(f"Invalid choice {json.dumps(choice)[:200]}: one Variable and one operator are required",
                         stage="InputValidation", failure_type="Verification")
    variable = scope.resolve(choice["Variable"])
    try:
        return bool(_OPS[ops[0]](variable, scope.resolve(choice[ops[0]])))
    except (TypeError, ValueError):
        return False  # e.g. NumericEquals on a non-number: the choice is false


def branch(scope: Scope, raw_inputs: dict[str, Any]) -> str | None:
    """The step an aws:branch jumps to, or None for "carry on"."""
    for choice in raw_inputs.get("Choices") or []:
        if evaluate_choice(scope, choice):
            return str(choice["NextStep"])
    default = raw_inputs.get("Default")
    return str(default).strip() if default else None


def scaled(seconds: float) -> float:
    return max(0.0, seconds * float(settings.get("time_scale")))


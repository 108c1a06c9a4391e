"""Property-level comparison of expected (template) and actual (live) resource
properties, producing CloudFormation PropertyDifferences.

Rules, following AWS's documented drift behaviour:
  * only properties set in the template are compared, and of those not the
    writeOnly or readOnly ones (they can't be read back);
  * declared objects are compared member by member (only members set in the
    template); free-form objects (policy documents, tag maps, environment
    variables) are compared as whole values;
  * arrays are ordered unless the schema says insertionOrder: false; unordered
    arrays are matched as multisets, by identity key where items have one
    (Tags by Key), so a changed tag value is NOT_EQUAL at /Tags/0/Value while an
    extra security group rule is ADD at /SecurityGroupIngress/1;
  * ADD and REMOVE differences render the missing side as "null"."""

from __future__ import annotations

import json
from typing import Any

from . import schemas
from .resources import Adapter

# Identity key of items in unordered arrays, by array property name.
IDENTITY_KEYS = {"Tags": "Key", "Policies": "PolicyName", "AttributeDefinitions": "AttributeName",
                 "GlobalSecondaryIndexes": "IndexName", "LocalSecondaryIndexes": "IndexName"}


def render(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


def to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def comparable(adapter: Adapter, expected: dict[str, Any]) -> list[str]:
    """Template properties that drift detection checks for this type."""
    schema = adapter.schema
    write_only_top = {p.split("/")[2] for p in schema.write_only_paths if p.count("/") == 2}
    return [k for k in expected if k in adapter.readable and k not in write_only_top and k not in schema.read_only]


def compare(adapter: Adapter, expected: dict[str, Any], actual: dict[str, Any]) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """(PropertyDifferences, ActualProperties restricted to the template's properties)."""
    schema = adapter.schema
    exp = adapter.normalize(schemas.coerce_properties(adapter.type_name, expected))
    act = adapter.normalize(actual)
    diffs: list[dict[str, str]] = []
    shown: dict[str, Any] = {}
    checked = set(comparable(adapter, exp))
    for key, value in exp.items():
        if key not in checked:
            shown[key] = value  # not checked here: reported as expected
            continue
        if key not in act or act[key] is None:
            diffs.append(_diff(f"/{key}", value, None, "REMOVE"))
            continue
        shown[key] = act[key]
        _compare(schema, [key], value, act[key], diffs)
    return diffs, shown


def _diff(path: str, expected: Any, actual: Any, kind: str) -> dict[str, str]:
    return {"PropertyPath": path, "ExpectedValue": render(expected), "ActualValue": render(actual), "DifferenceType": kind}


def _path(tokens: list[str]) -> str:
    return "/" + "/".join(tokens)


def _free_form(node: dict[str, Any]) -> bool:
    return "properties" not in node and node.get("type") in ("object", ["object", "string"], ["string", "object"], None)


def _compare(schema: schemas.TypeSchema, tokens: list[str], exp: Any, act: Any, diffs: list[dict[str, str]]) -> None:
    node = schema.subschema(tokens)
    if isinstance(exp, dict) and isinstance(act, dict) and not _free_form(node):
        for key, value in exp.items():
            if key not in act or act[key] is None:
                diffs.append(_diff(_path(tokens + [key]), value, None, "REMOVE"))
            else:
                _compare(schema, tokens + [key], value, act[key], diffs)
        return
    if isinstance(exp, list) and isinstance(act, list):
        if schema.unordered(tokens):
            _compare_unordered(schema, tokens, exp, act, diffs)
        else:
            for i in range(max(len(exp), len(act))):
                if i >= len(act):
                    diffs.append(_diff(_path(tokens + [str(i)]), exp[i], None, "REMOVE"))
                elif i >= len(exp):
                    diffs.append(_diff(_path(tokens + [str(i)]), None, act[i], "ADD"))
                else:
                    _compare(schema, tokens + [str(i)], exp[i], act[i], diffs)
        return
    if to_json(exp) != to_json(act):
        diffs.append(_diff(_path(tokens), exp, act, "NOT_EQUAL"))


def _matches(schema: schemas.TypeSchema, tokens: list[str], exp: Any, act: Any) -> bool:
    found: list[dict[str, str]] = []
    _compare(schema, tokens, exp, act, found)
    return not found


def _compare_unordered(schema: schemas.TypeSchema, tokens: list[str], exp: list[Any], act: list[Any],
                       diffs: list[dict[str, str]]) -> None:
    remaining = list(range(len(act)))
    unmatched_exp = []
    for i, item in enumerate(exp):  # exact matches first, so pairing doesn't depend on order
        j = next((j for j in remaining if _matches(schema, tokens + [str(i)], item, act[j])), None)
        if j is None:
            unmatched_exp.append(i)
        else:
            remaining.remove(j)
    ident = IDENTITY_KEYS.get(tokens[-1])
    still_unmatched = []
    for i in unmatched_exp:
        item = exp[i]
        j = None
        if ident and isinstance(item, dict) and ident in item:
            j = next((j for j in remaining if isinstance(act[j], dict) and act[j].get(ident) == item[ident]), None)
        if j is None:
            still_unmatched.append(i)
        else:
            remaining.remove(j)
            _compare(schema, tokens + [str(i)], item, act[j], diffs)
    for i in still_unmatched:
        diffs.append(_diff(_path(tokens + [str(i)]), exp[i], None, "REMOVE"))
    for j in remaining:
        diffs.append(_diff(_path(tokens + [str(j)]), None, act[j], "ADD"))

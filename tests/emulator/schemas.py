"""CloudFormation resource provider schemas (the registry schemas that cfn-lint
ships), used for createOnly/readOnly/writeOnly properties, primary
identifiers, insertionOrder and property types."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any


def _schema_dir() -> Path:
    import cfnlint

    return Path(cfnlint.__file__).parent / "data" / "schemas"


@lru_cache(maxsize=None)
def _index() -> dict[str, str]:
    return json.loads((_schema_dir() / "providers" / "us-east-1.json").read_text())


def _top(paths: list[str] | None) -> set[str]:
    """'/properties/A/B' -> 'A' (top-level property names)."""
    return {p.split("/")[2] for p in paths or [] if p.startswith("/properties/")}


class TypeSchema:
    def __init__(self, raw: dict[str, Any]):
        self.raw = raw
        self.type_name: str = raw["typeName"]
        self.properties: dict[str, Any] = raw.get("properties", {})
        self.create_only = _top(raw.get("createOnlyProperties"))
        self.conditional_create_only = _top(raw.get("conditionalCreateOnlyProperties"))
        self.read_only = _top(raw.get("readOnlyProperties"))
        self.write_only_paths: list[str] = list(raw.get("writeOnlyProperties") or [])
        self.primary_identifier = [p.split("/")[-1] for p in raw.get("primaryIdentifier", [])]

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/definitions/"):
                return {}
            node = self.raw.get("definitions", {}).get(ref.split("/")[-1], {})
        return node or {}

    def subschema(self, tokens: list[str]) -> dict[str, Any]:
        """Schema node of a property path such as ["SecurityGroupIngress", "0", "FromPort"]."""
        node: dict[str, Any] = {"type": "object", "properties": self.properties}
        for tok in tokens:
            node = self.resolve(node)
            if node.get("type") == "array" or "items" in node:
                node = node.get("items", {})
            elif tok in node.get("properties", {}):
                node = node["properties"][tok]
            else:
                return {}
        return self.resolve(node)

    def unordered(self, tokens: list[str]) -> bool:
        """Arrays are ordered unless the schema says insertionOrder: false. Tag lists are
        always sets: AWS compares tags by key whatever a schema says (e.g. DynamoDB)."""
        if tokens and tokens[-1] == "Tags":
            return True
        return self.subschema(tokens).get("insertionOrder", True) is False

    def replacement_for(self, names: set[str]) -> str:
        """The change set Replacement value for a change to these top-level properties."""
        if names & self.create_only:
            return "True"
        if names & self.conditional_create_only:
            return "Conditional"
        return "False"

    def requires_recreation(self, name: str) -> str:
        if name in self.create_only:
            return "Always"
        if name in self.conditional_create_only:
            return "Conditionally"
        return "Never"


@lru_cache(maxsize=None)
def get(type_name: str) -> TypeSchema | None:
    digest = _index().get(type_name)
    if not digest:
        return None
    return TypeSchema(json.loads((_schema_dir() / "resources" / f"{digest}.json").read_text()))


def coerce(schema: TypeSchema, node: dict[str, Any], value: Any) -> Any:
    """Coerce template scalars to the schema's types, as CloudFormation does when it
    hands properties to a resource handler ("443" -> 443, "true" -> True)."""
    node = schema.resolve(node)
    kind = node.get("type")
    if isinstance(value, dict):
        props = node.get("properties", {})
        return {k: coerce(schema, props.get(k, {}), v) for k, v in value.items()}
    if isinstance(value, list):
        items = node.get("items", {})
        return [coerce(schema, items, v) for v in value]
    if isinstance(kind, list):
        return value
    try:
        if kind == "integer" and isinstance(value, str):
            return int(value)
        if kind == "number" and isinstance(value, str):
            return float(value) if "." in value else int(value)
        if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    except ValueError:
        pass
    return value


def coerce_properties(type_name: str, props: dict[str, Any]) -> dict[str, Any]:
    schema = get(type_name)
    if schema is None:
        return props
    return coerce(schema, {"type": "object", "properties": schema.properties}, props)

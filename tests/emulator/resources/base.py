"""The resource adapter interface: read a live resource from moto's backends as
CloudFormation properties, and converge it to desired properties.

One adapter per resource type. Drift detection, drift-aware change sets,
stack create/update fixes and Cloud Control all go through these, so a type
behaves the same way everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import schemas


@dataclass(frozen=True)
class Where:
    account_id: str
    region: str

    @property
    def partition(self) -> str:
        from moto.utilities.utils import get_partition

        return get_partition(self.region)


class NotFound(Exception):
    """The live resource does not exist."""


class Adapter:
    type_name = ""
    # Top-level properties this adapter reads; drift compares only these (the rest of a
    # template is reported in ExpectedProperties but cannot be checked here).
    readable: tuple[str, ...] = ()

    @property
    def schema(self) -> schemas.TypeSchema:
        found = schemas.get(self.type_name)
        assert found is not None, self.type_name
        return found

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        """Live state as CloudFormation properties (the Cloud Control read model).
        Raises NotFound if the resource is gone."""
        raise NotImplementedError

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        """Converge the live resource to `desired` for every updatable property it
        names; properties in `previous` but not in `desired` go back to their defaults."""
        raise NotImplementedError

    def list_ids(self, where: Where) -> list[str]:
        """Primary identifiers of every resource of this type (Cloud Control ListResources)."""
        raise NotImplementedError

    def identifier(self, where: Where, physical_id: str) -> str:
        """Cloud Control primary identifier for a CloudFormation physical id."""
        return physical_id

    def physical_id(self, where: Where, identifier: str) -> str:
        """Inverse of identifier()."""
        return identifier

    def normalize(self, props: dict[str, Any]) -> dict[str, Any]:
        """Canonical form used on both sides before comparing (AWS's propertyTransform)."""
        return props


ADAPTERS: dict[str, Adapter] = {}


def register(adapter: Adapter) -> Adapter:
    ADAPTERS[adapter.type_name] = adapter
    return adapter


# ----------------------------------------------------------------- tag helpers

def tag_list(tags: dict[str, str] | None) -> list[dict[str, str]]:
    """Resource tags as CloudFormation's Tags list, without AWS-reserved aws:* tags
    (CloudFormation drift and Cloud Control leave those out)."""
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items() if not k.startswith("aws:")]


def tag_dict(tags: Any) -> dict[str, str]:
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {t["Key"]: str(t["Value"]) for t in tags or []}


def tag_changes(current: dict[str, str], desired: Any) -> tuple[dict[str, str], list[str]]:
    """(tags to set, keys to remove) to make `current` equal `desired`, sparing aws:* tags."""
    want = tag_dict(desired)
    to_set = {k: v for k, v in want.items() if current.get(k) != v}
    to_remove = [k for k in current if k not in want and not k.startswith("aws:")]
    return to_set, to_remove


def pick(props: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: props[k] for k in names if k in props and props[k] is not None}

"""Fixes to moto's CloudFormation provisioning for the emulated resource types.

moto creates these types only partly (security group egress rules and rule
descriptions, S3 versioning and public access blocks, role managed policies,
SNS tags ... are dropped), has no AWS::S3::BucketPolicy or
AWS::EC2::SecurityGroupEgress, and replaces a security group on any update.
Each would show up as false drift or a wrong physical id. So, for every type
with an adapter:
  * after moto creates a resource, the adapter converges it to the template's
    properties (plus the stack's tags, which CloudFormation propagates);
  * an update whose createOnly properties are unchanged keeps the resource
    (same physical id) and converges it in place; others go to moto (replace).
    (Stack updates decide replacement first, in cfn_operations.py, and create the
    replacement themselves, so the old resource lives until the cleanup phase.)
Also: AWS::IAM::Role deletion detaches managed policies first (moto's couldn't
delete a role that had them)."""

from __future__ import annotations

import copy
import random
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.models import cloudformation_backends
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import security_groups as ec2_sg
from moto.iam import models as iam_models

from . import resources, schemas
from .resources.base import NotFound, Where, tag_dict

_local = threading.local()


# ------------------------------------------------------------ missing models

class SecurityGroupRuleModel:
    """AWS::EC2::SecurityGroupIngress/Egress as moto CloudFormation models whose
    physical id is the rule id (sgr-...), as in AWS. (Concrete classes subclass
    CloudFormationModel directly: moto finds models by __subclasses__().)"""

    egress = False

    def __init__(self, rule_id: str, group_id: str, account_id: str, region_name: str):
        self.rule_id, self.group_id, self.account_id, self.region_name = rule_id, group_id, account_id, region_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attr: str) -> str:
        return self.rule_id

    @property
    def physical_resource_id(self) -> str:
        return self.rule_id

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> SecurityGroupRuleModel:
        from .resources.ec2 import authorize, backend

        props = schemas.coerce_properties(cls.cloudformation_type(), dict(cloudformation_json["Properties"]))
        where = Where(account_id, region_name)
        group_id = props.get("GroupId")
        if not group_id and props.get("GroupName"):
            group_id = backend(where).get_security_group_from_name(props["GroupName"]).id
        added = authorize(where, group_id, props, cls.egress)
        return cls(added[0].id, group_id, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str) -> SecurityGroupRuleModel:
        original_resource.delete(account_id, region_name)  # every property but Description is createOnly
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str) -> None:
        cls(resource_name, "", account_id, region_name).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        from .resources.ec2 import find_rule

        try:
            group, rule, egress = find_rule(Where(account_id, region_name), self.rule_id)
        except NotFound:
            return
        attr = "egress_rules" if egress else "ingress_rules"
        setattr(group, attr, [r for r in getattr(group, attr) if r.id != rule.id])


class SecurityGroupIngressModel(SecurityGroupRuleModel, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupIngress"


class SecurityGroupEgressModel(SecurityGroupRuleModel, CloudFormationModel):
    egress = True

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"


# moto's own SecurityGroupIngress model has no physical id and no update: retire it.
class _Retired:
    @staticmethod
    def cloudformation_type() -> str:
        return "Retired::moto::SecurityGroupIngress"


ec2_sg.SecurityGroupIngress.cloudformation_type = _Retired.cloudformation_type  # type: ignore[method-assign]
for fn in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
    fn.cache_clear()


# moto's AWS::IAM::Role deletion leaves managed policies attached, so IAM refuses it
# (DeleteConflict) and the stack can't be deleted; AWS's handler detaches them first.
_orig_role_delete = iam_models.Role.delete_from_cloudformation_json.__func__


def _role_delete(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    from moto.utilities.utils import get_partition

    backend = iam_models.iam_backends[account_id][get_partition(region_name)]
    for role in list(backend.roles.values()):
        if role.name == resource_name:
            for arn in list(role.managed_policies):
                backend.detach_role_policy(arn, resource_name)
    _orig_role_delete(cls, resource_name, cloudformation_json, account_id, region_name)


iam_models.Role.delete_from_cloudformation_json = classmethod(_role_delete)  # type: ignore[assignment]


# ------------------------------------------------------- converge after moto

def stack_tags(account_id: str, region: str, stack_id: str | None) -> dict[str, str]:
    stack = cloudformation_backends[account_id][region].stacks.get(stack_id or "")
    return {k: v for k, v in (stack.tags if stack else {}).items() if not k.startswith("aws:")}


def with_stack_tags(type_name: str, props: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """CloudFormation propagates stack-level tags to every taggable resource;
    tags the template sets win over stack tags with the same key."""
    schema = schemas.get(type_name)
    if not tags or schema is None or "Tags" not in schema.properties:
        return props
    own = tag_dict(props.get("Tags"))
    merged = {**own, **{k: v for k, v in tags.items() if k not in own}}
    out = dict(props)
    is_map = schema.subschema(["Tags"]).get("type") == "object"
    out["Tags"] = merged if is_map else [{"Key": k, "Value": v} for k, v in merged.items()]
    return out


def desired_properties(type_name: str, props: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    return with_stack_tags(type_name, schemas.coerce_properties(type_name, copy.deepcopy(props)), tags)


def _wrap(model: type, adapter: resources.Adapter) -> None:
    orig_create = model.create_from_cloudformation_json.__func__
    orig_update = model.update_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json.setdefault("Properties", {})
        _moto_input_fixes(adapter.type_name, props, resource_name)
        resource = orig_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        tags = stack_tags(account_id, region_name, kwargs.get("StackId"))
        where = Where(account_id, region_name)
        adapter.apply(where, resource.physical_resource_id, desired_properties(adapter.type_name, props, tags))
        return resource

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        props = cloudformation_json.setdefault("Properties", {})
        where = Where(account_id, region_name)
        ctx = getattr(_local, "update", None) or {}
        desired = desired_properties(adapter.type_name, props, ctx.get("tags", {}))
        try:
            live = adapter.read(where, original_resource.physical_resource_id)
        except NotFound:
            live = None
        create_only = adapter.schema.create_only
        if live is not None and all(live.get(k) == desired[k] for k in create_only if k in desired):
            previous = ctx.get("previous", {}).get(getattr(original_resource, "logical_resource_id", ""))
            adapter.apply(where, original_resource.physical_resource_id, desired, previous)
            return original_resource
        _moto_input_fixes(adapter.type_name, props, new_resource_name)
        return orig_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)

    model.create_from_cloudformation_json = classmethod(create)
    model.update_from_cloudformation_json = classmethod(update)


def _moto_input_fixes(type_name: str, props: dict[str, Any], resource_name: str) -> None:
    if type_name == "AWS::SSM::Parameter":
        # moto wants a Name (AWS generates one) and Tags as a list (the template has a map).
        props.setdefault("Name", resource_name or "CFN-" + "".join(random.choices(string.ascii_letters, k=12)))
        if isinstance(props.get("Tags"), dict):
            props["Tags"] = [{"Key": k, "Value": v} for k, v in props["Tags"].items()]


_orig_map_update = parsing.ResourceMap.update


def deployed_properties(rmap: parsing.ResourceMap) -> dict[str, dict[str, Any]]:
    """Each created resource's properties as last deployed (intrinsics resolved)."""
    previous = {}
    for logical_id, res_json in rmap._resource_json_map.items():
        if logical_id in rmap._parsed_resources:
            try:
                previous[logical_id] = parsing.clean_json(copy.deepcopy(res_json.get("Properties", {})), rmap)
            except Exception:
                continue
    return previous


@contextmanager
def update_context(previous: dict[str, dict[str, Any]], tags: dict[str, str]) -> Iterator[None]:
    """While updating resources: the properties they had (so an update that drops a
    property puts it back to its default) and the stack's tags (to keep them)."""
    saved = getattr(_local, "update", None)
    _local.update = {"previous": previous, "tags": tags}
    try:
        yield
    finally:
        _local.update = saved


def _map_update(self: parsing.ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
    with update_context(deployed_properties(self), stack_tags(self._account_id, self._region_name, self.stack_id)):
        _orig_map_update(self, template, parameters)


parsing.ResourceMap.update = _map_update  # type: ignore[method-assign]

for _model in parsing.get_model_list():
    _adapter = resources.ADAPTERS.get(_model.cloudformation_type())
    if _adapter is not None and not issubclass(_model, SecurityGroupRuleModel):
        _wrap(_model, _adapter)
for _model in (SecurityGroupIngressModel, SecurityGroupEgressModel):
    _wrap(_model, resources.ADAPTERS[_model.cloudformation_type()])

"""AWS::IAM::Role (trust policy, inline policies, managed policy ARNs, tags) and
AWS::Lambda::Function (configuration only: code is never compared, as in AWS
where Code is writeOnly)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from .base import Adapter, NotFound, Where, register, tag_changes, tag_dict


def iam(where: Where):
    from moto.iam.models import iam_backends

    return iam_backends[where.account_id][where.partition]


def _doc(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def _aws_policy_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def ensure_managed_policy(where: Where, arn: str) -> None:
    """moto loads no AWS-managed policies by default (loading all is slow): create the
    one asked for, from moto's own copy of AWS's policy data, on first use."""
    from moto.iam.models import AWSManagedPolicy

    be = iam(where)
    if arn in be.managed_policies or ":iam::aws:policy/" not in arn:
        return
    name = arn.rsplit("/", 1)[-1]
    data = _aws_policy_data().get(name)
    if data is not None:
        be.managed_policies[arn] = AWSManagedPolicy.from_data(name, where.account_id, where.region, data)


class Role(Adapter):
    type_name = "AWS::IAM::Role"
    readable = ("RoleName", "Path", "AssumeRolePolicyDocument", "Description", "MaxSessionDuration",
                "ManagedPolicyArns", "Policies", "PermissionsBoundary", "Tags")

    def role(self, where: Where, physical_id: str) -> Any:
        for role in iam(where).roles.values():
            if role.name == physical_id:
                return role
        raise NotFound(physical_id)

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        r = self.role(where, physical_id)
        props: dict[str, Any] = {
            "RoleName": r.name, "Arn": r.arn, "RoleId": r.id, "Path": r.path,
            "AssumeRolePolicyDocument": _doc(r.assume_role_policy_document),
            "MaxSessionDuration": int(r.max_session_duration),
            "ManagedPolicyArns": [p.arn for p in r.managed_policies.values()],
            "Policies": [{"PolicyName": n, "PolicyDocument": _doc(d)} for n, d in r.policies.items()],
            "Tags": [t for t in r.tags if not t["Key"].startswith("aws:")],
        }
        if r.description:
            props["Description"] = r.description
        if r.permissions_boundary_arn:
            props["PermissionsBoundary"] = r.permissions_boundary_arn
        return props

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        r, be, previous = self.role(where, physical_id), iam(where), previous or {}
        if "AssumeRolePolicyDocument" in desired:
            doc = desired["AssumeRolePolicyDocument"]
            r.assume_role_policy_document = doc if isinstance(doc, str) else json.dumps(doc)
        if "Description" in desired or "Description" in previous:
            r.description = desired.get("Description", "")
        if "MaxSessionDuration" in desired:
            r.max_session_duration = int(desired["MaxSessionDuration"])
        if "PermissionsBoundary" in desired:
            r.permissions_boundary_arn = desired["PermissionsBoundary"]
        elif "PermissionsBoundary" in previous:
            r.permissions_boundary_arn = ""
        if "Policies" in desired or "Policies" in previous:
            want = {p["PolicyName"]: p["PolicyDocument"] for p in desired.get("Policies") or []}
            for name in [n for n in r.policies if n not in want]:
                be.delete_role_policy(r.name, name)
            for name, doc in want.items():
                r.put_policy(name, doc if isinstance(doc, str) else json.dumps(doc))
        if "ManagedPolicyArns" in desired or "ManagedPolicyArns" in previous:
            want_arns = list(desired.get("ManagedPolicyArns") or [])
            for arn in [a for a in r.managed_policies if a not in want_arns]:
                be.detach_role_policy(arn, r.name)
            for arn in want_arns:
                if arn not in r.managed_policies:
                    ensure_managed_policy(where, arn)
                    be.attach_role_policy(arn, r.name)
        if "Tags" in desired or "Tags" in previous:
            to_set, to_remove = tag_changes(tag_dict(r.tags), desired.get("Tags"))
            if to_remove:
                be.untag_role(r.name, to_remove)
            if to_set:
                be.tag_role(r.name, [{"Key": k, "Value": v} for k, v in to_set.items()])

    def list_ids(self, where: Where) -> list[str]:
        return [r.name for r in iam(where).roles.values()]


def awslambda(where: Where):
    from moto.awslambda.models import lambda_backends

    return lambda_backends[where.account_id][where.region]


class Function(Adapter):
    type_name = "AWS::Lambda::Function"
    readable = ("FunctionName", "Runtime", "Handler", "Role", "MemorySize", "Timeout", "Description",
                "Environment", "Layers", "TracingConfig", "Architectures", "Tags")
    CONFIG = ("Runtime", "Handler", "Role", "MemorySize", "Timeout", "Description", "Environment", "Layers")

    def fn(self, where: Where, physical_id: str) -> Any:
        try:
            return awslambda(where).get_function(physical_id)
        except Exception:
            raise NotFound(physical_id)

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        f = self.fn(where, physical_id)
        props: dict[str, Any] = {
            "FunctionName": f.function_name, "Arn": f.function_arn, "Runtime": f.run_time, "Handler": f.handler,
            "Role": f.role, "MemorySize": int(f.memory_size), "Timeout": int(f.timeout),
            "PackageType": f.package_type, "Architectures": list(f.architectures),
            "TracingConfig": dict(f.tracing_config or {"Mode": "PassThrough"}),
            "Tags": [{"Key": k, "Value": v} for k, v in (f.tags or {}).items() if not k.startswith("aws:")],
        }
        if f.description:
            props["Description"] = f.description
        if f.environment_vars:
            props["Environment"] = {"Variables": dict(f.environment_vars)}
        if f.layers:
            props["Layers"] = [layer["Arn"] for layer in f.layers]
        return props

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        f, previous = self.fn(where, physical_id), previous or {}
        updates = {k: desired[k] for k in self.CONFIG if k in desired}
        if "Environment" not in desired and "Environment" in previous:
            updates["Environment"] = {"Variables": {}}
        if "Description" not in desired and "Description" in previous:
            updates["Description"] = ""
        if "Environment" in updates:
            updates["Environment"] = {"Variables": dict(updates["Environment"].get("Variables") or {})}
        if updates:
            f.update_configuration(updates)
        if "TracingConfig" in desired:
            f.tracing_config = dict(desired["TracingConfig"])
        if "Tags" in desired or "Tags" in previous:
            to_set, to_remove = tag_changes(dict(f.tags or {}), desired.get("Tags"))
            for key in to_remove:
                f.tags.pop(key, None)
            f.tags.update(to_set)

    def list_ids(self, where: Where) -> list[str]:
        return [f.function_name for f in awslambda(where)._lambdas.all()]


register(Role())
register(Function())

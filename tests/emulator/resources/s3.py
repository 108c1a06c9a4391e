"""AWS::S3::Bucket (tags, versioning, encryption, public access block) and
AWS::S3::BucketPolicy, which moto's CloudFormation does not implement: the
model below gives stacks a real bucket policy resource."""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel

from .base import Adapter, NotFound, Where, register, tag_changes


def backend(where: Where):
    from moto.s3.models import s3_backends

    return s3_backends[where.account_id][where.partition]


def bucket(where: Where, name: str) -> Any:
    found = backend(where).buckets.get(name)
    if found is None:
        raise NotFound(name)
    return found


def _bool(v: Any) -> bool:
    return v is True or str(v).lower() == "true"


def encryption_to_cfn(enc: dict[str, Any]) -> dict[str, Any]:
    rules = enc.get("Rule") or []
    rules = rules if isinstance(rules, list) else [rules]
    out = []
    for rule in rules:
        default = dict(rule.get("ApplyServerSideEncryptionByDefault") or {})
        item: dict[str, Any] = {"ServerSideEncryptionByDefault": {k: v for k, v in default.items() if not k.startswith("@")}}
        if "BucketKeyEnabled" in rule:
            item["BucketKeyEnabled"] = _bool(rule["BucketKeyEnabled"])
        out.append(item)
    return {"ServerSideEncryptionConfiguration": out}


def encryption_from_cfn(cfn: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for item in cfn.get("ServerSideEncryptionConfiguration", []):
        rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": dict(item.get("ServerSideEncryptionByDefault", {}))}
        if "BucketKeyEnabled" in item:
            rule["BucketKeyEnabled"] = "true" if _bool(item["BucketKeyEnabled"]) else "false"
        rules.append(rule)
    return {"Rule": rules[0] if len(rules) == 1 else rules}


PAB_FIELDS = {"BlockPublicAcls": "block_public_acls", "BlockPublicPolicy": "block_public_policy",
              "IgnorePublicAcls": "ignore_public_acls", "RestrictPublicBuckets": "restrict_public_buckets"}


class Bucket(Adapter):
    type_name = "AWS::S3::Bucket"
    readable = ("BucketName", "Tags", "VersioningConfiguration", "BucketEncryption", "PublicAccessBlockConfiguration")

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        b = bucket(where, physical_id)
        props: dict[str, Any] = {
            "BucketName": b.name, "Arn": b.arn,
            "DomainName": f"{b.name}.s3.amazonaws.com",
            "RegionalDomainName": f"{b.name}.s3.{b.region_name}.amazonaws.com",
        }
        if b.versioning_status:
            props["VersioningConfiguration"] = {"Status": b.versioning_status}
        if b.encryption:
            props["BucketEncryption"] = encryption_to_cfn(b.encryption)
        if b.public_access_block is not None:
            props["PublicAccessBlockConfiguration"] = {k: bool(getattr(b.public_access_block, a)) for k, a in PAB_FIELDS.items()}
        tags = backend(where).tagger.get_tag_dict_for_resource(b.arn)
        props["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items() if not k.startswith("aws:")]
        return props

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        b, be, previous = bucket(where, physical_id), backend(where), previous or {}
        if "VersioningConfiguration" in desired:
            be.put_bucket_versioning(b.name, desired["VersioningConfiguration"].get("Status"))
        elif "VersioningConfiguration" in previous and b.versioning_status:
            be.put_bucket_versioning(b.name, "Suspended")  # versioning can only be suspended
        if "BucketEncryption" in desired:
            be.put_bucket_encryption(b.name, encryption_from_cfn(desired["BucketEncryption"]))
        elif "BucketEncryption" in previous:
            be.delete_bucket_encryption(b.name)
        if "PublicAccessBlockConfiguration" in desired:
            be.put_public_access_block(b.name, {k: _bool(v) for k, v in desired["PublicAccessBlockConfiguration"].items()} or {"BlockPublicAcls": False})
        elif "PublicAccessBlockConfiguration" in previous:
            be.delete_public_access_block(b.name)
        if "Tags" in desired or "Tags" in previous:
            current = be.tagger.get_tag_dict_for_resource(b.arn)
            to_set, to_remove = tag_changes(current, desired.get("Tags"))
            if to_set or to_remove:
                kept = {k: v for k, v in current.items() if k not in to_remove}
                be.put_bucket_tagging(b.name, {**kept, **to_set})

    def list_ids(self, where: Where) -> list[str]:
        return list(backend(where).buckets)


class BucketPolicy(Adapter):
    type_name = "AWS::S3::BucketPolicy"
    readable = ("Bucket", "PolicyDocument")

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        b = bucket(where, physical_id)
        if not b.policy:
            raise NotFound(physical_id)
        policy = b.policy.decode() if isinstance(b.policy, bytes) else b.policy
        return {"Bucket": b.name, "PolicyDocument": json.loads(policy)}

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        if "PolicyDocument" in desired:
            doc = desired["PolicyDocument"]
            text = doc if isinstance(doc, str) else json.dumps(doc)
            backend(where).put_bucket_policy(physical_id, text.encode())

    def list_ids(self, where: Where) -> list[str]:
        return [name for name, b in backend(where).buckets.items() if b.policy]


class BucketPolicyModel(CloudFormationModel):
    """moto CloudFormation model for AWS::S3::BucketPolicy (physical id: the bucket name)."""

    def __init__(self, bucket_name: str, account_id: str, region_name: str):
        self.bucket_name, self.account_id, self.region_name = bucket_name, account_id, region_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @property
    def physical_resource_id(self) -> str:
        return self.bucket_name

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> BucketPolicyModel:
        props = cloudformation_json["Properties"]
        where = Where(account_id, region_name)
        BucketPolicy().apply(where, props["Bucket"], props)
        return cls(props["Bucket"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str) -> BucketPolicyModel:
        props = cloudformation_json["Properties"]
        if props["Bucket"] != original_resource.bucket_name:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str) -> None:
        cls(resource_name, account_id, region_name).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        b = backend(Where(account_id, region_name)).buckets.get(self.bucket_name)
        if b is not None:
            b.policy = None


register(Bucket())
register(BucketPolicy())

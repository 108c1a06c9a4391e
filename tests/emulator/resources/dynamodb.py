"""AWS::DynamoDB::Table: keys, billing, throughput, streams, TTL, point-in-time
recovery, deletion protection and tags. Index changes are not applied."""

from __future__ import annotations

from typing import Any

from .base import Adapter, NotFound, Where, register, tag_changes, tag_dict


def backend(where: Where):
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[where.account_id][where.region]


def _index(ix: dict[str, Any]) -> dict[str, Any]:
    out = {k: ix[k] for k in ("IndexName", "KeySchema", "Projection") if k in ix}
    if ix.get("ProvisionedThroughput"):
        out["ProvisionedThroughput"] = {k: int(ix["ProvisionedThroughput"][k]) for k in ("ReadCapacityUnits", "WriteCapacityUnits")}
    return out


class Table(Adapter):
    type_name = "AWS::DynamoDB::Table"
    readable = ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
                "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification", "TimeToLiveSpecification",
                "PointInTimeRecoverySpecification", "DeletionProtectionEnabled", "SSESpecification", "Tags")

    def table(self, where: Where, physical_id: str) -> Any:
        t = backend(where).tables.get(physical_id)
        if t is None:
            raise NotFound(physical_id)
        return t

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        t = self.table(where, physical_id)
        props: dict[str, Any] = {
            "TableName": t.name, "Arn": t.table_arn, "AttributeDefinitions": t.attr, "KeySchema": t.schema,
            "BillingMode": t.billing_mode or "PROVISIONED",
            "DeletionProtectionEnabled": bool(t.deletion_protection_enabled),
            "Tags": [x for x in t.tags if not x["Key"].startswith("aws:")],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": t.continuous_backups.get(
                "PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"},
        }
        if props["BillingMode"] == "PROVISIONED":
            props["ProvisionedThroughput"] = {k: int(t.throughput[k]) for k in ("ReadCapacityUnits", "WriteCapacityUnits")}
        if t.global_indexes:
            props["GlobalSecondaryIndexes"] = [_index(ix.describe()) for ix in t.global_indexes]
        if t.indexes:
            props["LocalSecondaryIndexes"] = [_index(ix.describe()) for ix in t.indexes]
        stream = t.stream_specification or {}
        if stream.get("StreamEnabled"):
            props["StreamSpecification"] = {"StreamViewType": stream.get("StreamViewType")}
            props["StreamArn"] = t.stream_shard.arn if t.stream_shard else None
        if t.ttl.get("TimeToLiveStatus") == "ENABLED":
            props["TimeToLiveSpecification"] = {"AttributeName": t.ttl.get("AttributeName"), "Enabled": True}
        if t.sse_specification and t.sse_specification.get("Enabled"):
            props["SSESpecification"] = {"SSEEnabled": True, "SSEType": t.sse_specification.get("SSEType", "KMS")}
        return props

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        t, be, previous = self.table(where, physical_id), backend(where), previous or {}
        if "BillingMode" in desired:
            t.billing_mode = desired["BillingMode"]
        if "ProvisionedThroughput" in desired:
            t.throughput = {**t.throughput, **{k: int(v) for k, v in desired["ProvisionedThroughput"].items()}}
        if "DeletionProtectionEnabled" in desired or "DeletionProtectionEnabled" in previous:
            t.deletion_protection_enabled = bool(desired.get("DeletionProtectionEnabled", False))
        if "StreamSpecification" in desired:
            be.update_table_streams(t, {"StreamEnabled": True, **desired["StreamSpecification"]})
        elif "StreamSpecification" in previous and (t.stream_specification or {}).get("StreamEnabled"):
            be.update_table_streams(t, {"StreamEnabled": False})
        if "TimeToLiveSpecification" in desired or "TimeToLiveSpecification" in previous:
            spec = desired.get("TimeToLiveSpecification") or {"Enabled": False}
            t.ttl = ({"TimeToLiveStatus": "ENABLED", "AttributeName": spec.get("AttributeName")}
                     if spec.get("Enabled") in (True, "true") else {"TimeToLiveStatus": "DISABLED"})
        if "PointInTimeRecoverySpecification" in desired or "PointInTimeRecoverySpecification" in previous:
            spec = desired.get("PointInTimeRecoverySpecification") or {}
            be.update_continuous_backups(t.name, {"PointInTimeRecoveryEnabled": spec.get("PointInTimeRecoveryEnabled") in (True, "true")})
        if "Tags" in desired or "Tags" in previous:
            to_set, to_remove = tag_changes(tag_dict(t.tags), desired.get("Tags"))
            if to_remove:
                be.untag_resource(t.table_arn, to_remove)
            if to_set:
                be.tag_resource(t.table_arn, to_set)

    def list_ids(self, where: Where) -> list[str]:
        return list(backend(where).tables)


register(Table())

"""AWS::SSM::Parameter, AWS::SQS::Queue, AWS::SNS::Topic and AWS::Logs::LogGroup:
flat resources whose properties map one to one onto service attributes."""

from __future__ import annotations

import json
from typing import Any

from .base import Adapter, NotFound, Where, register, tag_changes, tag_list


def _backend(module: str, where: Where):
    import importlib

    backends = getattr(importlib.import_module(f"moto.{module}.models"), f"{module}_backends")
    return backends[where.account_id][where.region]


class Parameter(Adapter):
    """Description, Tier, AllowedPattern and Policies are writeOnly in the schema, so
    (as in AWS) they are not read back and never reported as drift."""

    type_name = "AWS::SSM::Parameter"
    readable = ("Name", "Type", "Value", "DataType", "Tags")

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        be = _backend("ssm", where)
        p = be.get_parameter(physical_id)
        if p is None:
            raise NotFound(physical_id)
        tags = be.list_tags_for_resource("Parameter", p.name)
        return {"Name": p.name, "Type": p.parameter_type, "Value": p.value, "DataType": p.data_type,
                "Tags": {k: v for k, v in tags.items() if not k.startswith("aws:")}}

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        be = _backend("ssm", where)
        p = be.get_parameter(physical_id)
        if p is None:
            raise NotFound(physical_id)
        fields = ("Value", "Type", "DataType", "Description", "AllowedPattern", "Tier")
        live = {"Value": p.value, "Type": p.parameter_type, "DataType": p.data_type, "Description": p.description,
                "AllowedPattern": p.allowed_pattern, "Tier": p.tier}
        if any(k in desired and desired[k] != live[k] for k in fields):
            merged = {**live, **{k: desired[k] for k in fields if k in desired}}
            be.put_parameter(name=p.name, description=merged["Description"], value=str(merged["Value"]),
                             parameter_type=merged["Type"], allowed_pattern=merged["AllowedPattern"], keyid=p.keyid,
                             overwrite=True, tags=[], data_type=merged["DataType"] or "text", tier=merged["Tier"],
                             policies=p.policies)
        if "Tags" in desired or "Tags" in (previous or {}):
            to_set, to_remove = tag_changes(dict(be.list_tags_for_resource("Parameter", p.name)), desired.get("Tags"))
            be.remove_tags_from_resource("Parameter", p.name, to_remove)
            be.add_tags_to_resource("Parameter", p.name, to_set)

    def list_ids(self, where: Where) -> list[str]:
        return list(_backend("ssm", where)._parameters)


SQS_ATTRS = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
             "VisibilityTimeout", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
             "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit", "RedrivePolicy",
             "RedriveAllowPolicy")
SQS_INTS = {"DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
            "VisibilityTimeout", "KmsDataKeyReusePeriodSeconds"}


class Queue(Adapter):
    """Physical id and Cloud Control identifier: the queue URL."""

    type_name = "AWS::SQS::Queue"
    readable = ("QueueName", "FifoQueue", "Tags", *SQS_ATTRS)

    def queue(self, where: Where, physical_id: str) -> Any:
        q = _backend("sqs", where).queues.get(physical_id.rstrip("/").rsplit("/", 1)[-1])
        if q is None:
            raise NotFound(physical_id)
        return q

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        q = self.queue(where, physical_id)
        attrs = q.attributes
        props: dict[str, Any] = {"QueueName": q.name, "QueueUrl": q.physical_resource_id, "Arn": q.queue_arn,
                                 "FifoQueue": bool(q.fifo_queue), "Tags": tag_list(q.tags)}
        for name in SQS_ATTRS:
            value = attrs.get(name)
            if value in (None, ""):
                continue
            if name in SQS_INTS:
                value = int(value)
            elif name in ("RedrivePolicy", "RedriveAllowPolicy"):
                value = json.loads(value) if isinstance(value, str) else value
            elif str(value).lower() in ("true", "false"):
                value = str(value).lower() == "true"
            props[name] = value
        return props

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        q, be = self.queue(where, physical_id), _backend("sqs", where)
        changes = {}
        for name in SQS_ATTRS:
            if name in desired:
                value = desired[name]
                changes[name] = json.dumps(value) if isinstance(value, dict) else (str(value).lower() if isinstance(value, bool) else str(value))
        if changes:
            be.set_queue_attributes(q.name, changes)
        if "Tags" in desired or "Tags" in (previous or {}):
            to_set, to_remove = tag_changes(dict(q.tags), desired.get("Tags"))
            for key in to_remove:
                q.tags.pop(key, None)
            q.tags.update(to_set)

    def list_ids(self, where: Where) -> list[str]:
        return [q.physical_resource_id for q in _backend("sqs", where).queues.values()]


class Topic(Adapter):
    """Physical id and Cloud Control identifier: the topic ARN."""

    type_name = "AWS::SNS::Topic"
    readable = ("TopicName", "DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication", "Tags")

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        be = _backend("sns", where)
        t = be.topics.get(physical_id)
        if t is None:
            raise NotFound(physical_id)
        props: dict[str, Any] = {"TopicArn": t.arn, "TopicName": t.name, "FifoTopic": str(t.fifo_topic).lower() == "true",
                                 "Tags": tag_list(be.list_tags_for_resource(t.arn))}
        if t.display_name:
            props["DisplayName"] = t.display_name
        if t.kms_master_key_id:
            props["KmsMasterKeyId"] = t.kms_master_key_id
        if props["FifoTopic"]:
            props["ContentBasedDeduplication"] = str(t.content_based_deduplication).lower() == "true"
        return props

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        be = _backend("sns", where)
        if physical_id not in be.topics:
            raise NotFound(physical_id)
        for name in ("DisplayName", "KmsMasterKeyId"):
            if name in desired:
                be.set_topic_attribute(physical_id, name, desired[name])
            elif name in (previous or {}):
                be.set_topic_attribute(physical_id, name, "")
        if "Tags" in desired or "Tags" in (previous or {}):
            to_set, to_remove = tag_changes(dict(be.list_tags_for_resource(physical_id)), desired.get("Tags"))
            if to_remove:
                be.untag_resource(physical_id, to_remove)
            if to_set:
                be.tag_resource(physical_id, to_set)

    def list_ids(self, where: Where) -> list[str]:
        return list(_backend("sns", where).topics)


class LogGroup(Adapter):
    type_name = "AWS::Logs::LogGroup"
    readable = ("LogGroupName", "RetentionInDays", "KmsKeyId", "Tags")

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        be = _backend("logs", where)
        g = be.groups.get(physical_id)
        if g is None:
            raise NotFound(physical_id)
        props: dict[str, Any] = {"LogGroupName": g.name, "Arn": g.arn,
                                 "Tags": tag_list(be.list_tags_for_resource(g.arn))}
        if g.retention_in_days:
            props["RetentionInDays"] = int(g.retention_in_days)
        if g.kms_key_id:
            props["KmsKeyId"] = g.kms_key_id
        return props

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        be = _backend("logs", where)
        g = be.groups.get(physical_id)
        if g is None:
            raise NotFound(physical_id)
        if "RetentionInDays" in desired:
            be.put_retention_policy(g.name, int(desired["RetentionInDays"]))
        elif "RetentionInDays" in (previous or {}):
            be.delete_retention_policy(g.name)
        if "KmsKeyId" in desired:
            g.kms_key_id = desired["KmsKeyId"]
        if "Tags" in desired or "Tags" in (previous or {}):
            to_set, to_remove = tag_changes(dict(be.list_tags_for_resource(g.arn)), desired.get("Tags"))
            if to_remove:
                be.untag_resource(g.arn, to_remove)
            if to_set:
                be.tag_resource(g.arn, to_set)

    def list_ids(self, where: Where) -> list[str]:
        return list(_backend("logs", where).groups)


for _adapter in (Parameter(), Queue(), Topic(), LogGroup()):
    register(_adapter)

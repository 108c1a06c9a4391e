"""The resource types `driftsync bootstrap` deploys, created for real by CloudFormation.

moto has no CloudFormation model for AWS::Config::ConfigRule or
AWS::Config::RemediationConfiguration (a stack completed without them), and its
AWS::SSM::Document crashes on Content given as an object, names unnamed documents
with a bare UUID and deletes/recreates a document on every update. Here:

* AWS::Config::ConfigRule -> moto's PutConfigRule (InputParameters as object or JSON
  string, Scope, Source, MaximumExecutionFrequency); Ref = the rule name, GetAtt Arn,
  ConfigRuleId, Compliance.Type; updated in place; deleted with its evaluation results
  (refused while a remediation configuration is attached, so the stack deletes that first).
* AWS::Config::RemediationConfiguration -> config_remediation's store, validated as
  PutRemediationConfigurations validates (an invalid one fails the resource: CREATE_FAILED);
  Ref = the rule name (the schema's primary identifier).
* AWS::SSM::Document: Content as an object is serialised in DocumentFormat (JSON by
  default, YAML); no Name -> "<stack>-<LogicalId>-<suffix>"; an update keeps the name:
  UpdateMethod NewVersion adds a version and makes it the default, Replace (the default)
  replaces the document's content (version 1 again).
IAM roles (AWS::IAM::Role with Policies and ManagedPolicyArns) are moto's, converged by
the resources/iam_lambda.py adapter."""

from __future__ import annotations

import json
from typing import Any

import yaml
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.ssm.models import Document, ssm_backends

from . import config_compliance, config_remediation, config_rules, schemas
from .protocol import ServiceError


def _json_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


class ResourceError(Exception):
    """A resource handler's refusal; the stack operation reports it as the resource's reason."""


# ------------------------------------------------------------------ Config rule

def _rule(name: str, props: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {"ConfigRuleName": name, "Source": dict(props.get("Source") or {})}
    for key in ("Description", "Scope", "MaximumExecutionFrequency", "EvaluationModes"):
        if props.get(key) is not None:
            rule[key] = props[key]
    if props.get("InputParameters") is not None:
        rule["InputParameters"] = _json_text(props["InputParameters"])
    return rule


def _config(account_id: str, region: str) -> Any:
    from moto.config.models import config_backends

    return config_backends[account_id][region]


class ConfigRuleModel(CloudFormationModel):
    def __init__(self, account_id: str, region: str, name: str):
        self.account_id, self.region, self.name = account_id, region, name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Config::ConfigRule"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ConfigRuleName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "ConfigRuleId", "Compliance.Type")

    def get_cfn_attribute(self, attr: str) -> Any:
        rule = _config(self.account_id, self.region).config_rules[self.name]
        if attr == "Arn":
            return rule.config_rule_arn
        if attr == "ConfigRuleId":
            return rule.config_rule_id
        types = [r["ComplianceType"] for r in config_rules.results_of(self.account_id, self.region, self.name).values()]
        return config_compliance._compliance(types)["ComplianceType"]

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> ConfigRuleModel:
        props = cloudformation_json.get("Properties") or {}
        name = props.get("ConfigRuleName") or resource_name
        _config(account_id, region_name).put_config_rule(_rule(name, props), [])
        return cls(account_id, region_name, name)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str) -> ConfigRuleModel:
        # ConfigRuleName is createOnly: a new name is a replacement (cfn_operations), this is in place.
        props = cloudformation_json.get("Properties") or {}
        _config(account_id, region_name).put_config_rule(_rule(original_resource.name, props), [])
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str) -> None:
        cls(account_id, region_name, resource_name).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        if config_remediation.has_configuration(account_id, region_name, self.name):
            raise ResourceError(f"A remediation action is associated with the rule {self.name}; delete the "
                                "remediation configuration first.")
        if self.name in _config(account_id, region_name).config_rules:
            _config(account_id, region_name).delete_config_rule(self.name)
        config_rules.forget_rule(account_id, region_name, self.name)


# -------------------------------------------------------- remediation configuration

def _remediation(props: dict[str, Any]) -> dict[str, Any]:
    conf = schemas.coerce_properties("AWS::Config::RemediationConfiguration", dict(props))
    if isinstance(conf.get("Parameters"), str):
        conf["Parameters"] = json.loads(conf["Parameters"])
    return {k: v for k, v in conf.items() if v is not None}


class RemediationConfigurationModel(CloudFormationModel):
    def __init__(self, account_id: str, region: str, rule: str):
        self.account_id, self.region, self.rule = account_id, region, rule

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Config::RemediationConfiguration"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @property
    def physical_resource_id(self) -> str:
        return self.rule

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> RemediationConfigurationModel:
        conf = _remediation(cloudformation_json.get("Properties") or {})
        problem = config_remediation.put_configuration(account_id, region_name, conf)
        if problem:
            raise ResourceError(problem)
        return cls(account_id, region_name, conf["ConfigRuleName"])

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str) -> RemediationConfigurationModel:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str) -> None:
        cls(account_id, region_name, resource_name).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            config_remediation.delete_configuration(account_id, region_name, self.rule)
        except ServiceError as e:
            if e.code != "NoSuchRemediationConfigurationException":
                raise ResourceError(e.message) from None


# ------------------------------------------------------------------ SSM document

def _document_args(name: str, props: dict[str, Any]) -> dict[str, Any]:
    fmt = props.get("DocumentFormat") or "JSON"
    content = props.get("Content")
    if isinstance(content, (dict, list)):
        content = yaml.safe_dump(content, sort_keys=False) if fmt == "YAML" else json.dumps(content)
    return {"content": content, "name": name, "document_format": fmt, "attachments": props.get("Attachments"),
            "version_name": props.get("VersionName"), "target_type": props.get("TargetType")}


def _create_document(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                     **kwargs: Any) -> Any:
    props = cloudformation_json.get("Properties") or {}
    args = _document_args(props.get("Name") or resource_name, props)
    documents = ssm_backends[account_id][region_name].create_document(
        requires=props.get("Requires"), document_type=props.get("DocumentType") or "Command",
        tags=props.get("Tags"), **args)
    return documents.get_default_version()


def _update_document(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                     account_id: str, region_name: str) -> Any:
    props = cloudformation_json.get("Properties") or {}
    backend = ssm_backends[account_id][region_name]
    name = original_resource.name
    if props.get("UpdateMethod") == "NewVersion":
        args = _document_args(name, props)
        args.pop("name")
        described = backend.update_document(name=name, document_version="$LATEST", **args)
        backend.update_document_default_version(name, described["DocumentVersion"])
        return backend._documents[name].get_default_version()
    backend.delete_document(name=name, document_version="", version_name="", force=True)
    return _create_document(cls, name, {"Properties": {**props, "Name": name}}, account_id, region_name)


Document.create_from_cloudformation_json = classmethod(_create_document)  # type: ignore[assignment]
Document.update_from_cloudformation_json = classmethod(_update_document)  # type: ignore[assignment]

for _fn in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
    _fn.cache_clear()  # moto finds models through CloudFormationModel.__subclasses__()

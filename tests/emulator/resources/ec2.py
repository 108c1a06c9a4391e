"""AWS::EC2::SecurityGroup, ::SecurityGroupIngress and ::SecurityGroupEgress.

Rules are compared the way AWS does: as unordered lists (insertionOrder:
false), after the schema's propertyTransform (protocol numbers to names,
lower case, ports -1 for protocols without ports)."""

from __future__ import annotations

from typing import Any

from .base import Adapter, NotFound, Where, register, tag_changes, tag_list

PROTO_NAMES = {"1": "icmp", "6": "tcp", "17": "udp", "58": "icmpv6", "all": "-1"}
PORTED = ("tcp", "udp", "icmp", "icmpv6")
TARGETS = {
    False: ("CidrIp", "CidrIpv6", "SourceSecurityGroupId", "SourcePrefixListId", "SourceSecurityGroupName"),
    True: ("CidrIp", "CidrIpv6", "DestinationSecurityGroupId", "DestinationPrefixListId"),
}


def backend(where: Where):
    from moto.ec2.models import ec2_backends

    return ec2_backends[where.account_id][where.region]


def norm_proto(value: Any) -> str:
    text = str(value).lower()
    return PROTO_NAMES.get(text, text)


def norm_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """propertyTransform of AWS::EC2::SecurityGroup rules, applied to both sides."""
    out = dict(rule)
    if "IpProtocol" in out:
        out["IpProtocol"] = norm_proto(out["IpProtocol"])
        for port in ("FromPort", "ToPort"):
            if out["IpProtocol"] not in PORTED:
                out[port] = -1
            elif port in out:
                out[port] = int(out[port])
    return out


def rule_key(rule: dict[str, Any], egress: bool) -> tuple:
    r = norm_rule(rule)
    target = next(((k, r[k]) for k in TARGETS[egress] if r.get(k)), ("", ""))
    return (r.get("IpProtocol"), r.get("FromPort", -1), r.get("ToPort", -1), *target)


def rule_to_cfn(rule: Any, egress: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"IpProtocol": rule.ip_protocol,
                           "FromPort": -1 if rule.from_port is None else int(rule.from_port),
                           "ToPort": -1 if rule.to_port is None else int(rule.to_port)}
    if rule.ip_range.get("CidrIp"):
        out["CidrIp"] = rule.ip_range["CidrIp"]
    if rule.ip_range.get("CidrIpv6"):
        out["CidrIpv6"] = rule.ip_range["CidrIpv6"]
    if rule.source_group.get("GroupId"):
        out["DestinationSecurityGroupId" if egress else "SourceSecurityGroupId"] = rule.source_group["GroupId"]
    if rule.prefix_list_id:
        out["DestinationPrefixListId" if egress else "SourcePrefixListId"] = rule.prefix_list_id
    if rule.ip_range.get("Description"):
        out["Description"] = rule.ip_range["Description"]
    return out


def authorize(where: Where, group_id: str, rule: dict[str, Any], egress: bool) -> list[Any]:
    r = norm_rule(rule)
    ports = (None, None) if r["IpProtocol"] not in PORTED else (r.get("FromPort"), r.get("ToPort"))
    ip_ranges: list[dict[str, str]] = []
    for key in ("CidrIp", "CidrIpv6"):
        if r.get(key):
            ip_ranges.append({key: r[key], **({"Description": r["Description"]} if r.get("Description") else {})})
    group_ref = r.get("DestinationSecurityGroupId" if egress else "SourceSecurityGroupId")
    prefix = r.get("DestinationPrefixListId" if egress else "SourcePrefixListId")
    fn = backend(where).authorize_security_group_egress if egress else backend(where).authorize_security_group_ingress
    added, _ = fn(group_name_or_id=group_id, ip_protocol=r["IpProtocol"], from_port=ports[0], to_port=ports[1],
                  ip_ranges=ip_ranges, source_groups=[{"GroupId": group_ref}] if group_ref else [],
                  prefix_list_ids=[{"PrefixListId": prefix}] if prefix else [])
    return added


def converge_rules(where: Where, group: Any, desired: list[dict[str, Any]], egress: bool) -> None:
    """Revoke live rules the desired list lacks, authorize the missing ones, fix descriptions."""
    attr = "egress_rules" if egress else "ingress_rules"
    want = {rule_key(r, egress): r for r in desired}
    keep = []
    for live in getattr(group, attr):
        key = rule_key(rule_to_cfn(live, egress), egress)
        if key in want:
            description = want.pop(key).get("Description")
            if description is not None:
                live.ip_range["Description"] = description
            keep.append(live)
    setattr(group, attr, keep)
    for rule in want.values():
        authorize(where, group.id, rule, egress)


def default_egress() -> list[dict[str, Any]]:
    return [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]


class SecurityGroup(Adapter):
    type_name = "AWS::EC2::SecurityGroup"
    readable = ("GroupDescription", "GroupName", "VpcId", "SecurityGroupIngress", "SecurityGroupEgress", "Tags")

    def group(self, where: Where, physical_id: str) -> Any:
        group = backend(where).get_security_group_from_id(physical_id)
        if group is None:
            raise NotFound(physical_id)
        return group

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        g = self.group(where, physical_id)
        return {
            "GroupDescription": g.description, "GroupName": g.name, "VpcId": g.vpc_id, "Id": g.id, "GroupId": g.id,
            "SecurityGroupIngress": [rule_to_cfn(r, False) for r in g.ingress_rules],
            "SecurityGroupEgress": [rule_to_cfn(r, True) for r in g.egress_rules],
            "Tags": tag_list(backend(where).tags.get(g.id)),
        }

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        g = self.group(where, physical_id)
        previous = previous or {}
        if "SecurityGroupIngress" in desired or "SecurityGroupIngress" in previous:
            converge_rules(where, g, desired.get("SecurityGroupIngress") or [], egress=False)
        if "SecurityGroupEgress" in desired or "SecurityGroupEgress" in previous:
            # Without egress rules in the template, AWS keeps its default allow-all rule.
            converge_rules(where, g, desired.get("SecurityGroupEgress") or default_egress(), egress=True)
        if "Tags" in desired or "Tags" in previous:
            current = dict(backend(where).tags.get(g.id, {}))
            to_set, to_remove = tag_changes(current, desired.get("Tags"))
            backend(where).delete_tag_keys([g.id], to_remove)
            if to_set:
                backend(where).create_tags([g.id], to_set)

    def list_ids(self, where: Where) -> list[str]:
        return [g.id for g in backend(where).describe_security_groups()]

    def normalize(self, props: dict[str, Any]) -> dict[str, Any]:
        out = dict(props)
        for key in ("SecurityGroupIngress", "SecurityGroupEgress"):
            if isinstance(out.get(key), list):
                out[key] = [norm_rule(r) for r in out[key]]
        return out


def find_rule(where: Where, rule_id: str) -> tuple[Any, Any, bool]:
    for group in backend(where).describe_security_groups():
        for egress, rules in ((False, group.ingress_rules), (True, group.egress_rules)):
            for rule in rules:
                if rule.id == rule_id:
                    return group, rule, egress
    raise NotFound(rule_id)


class SecurityGroupRuleResource(Adapter):
    """A standalone ingress/egress rule; its physical id is the rule id (sgr-...)."""

    egress = False

    def read(self, where: Where, physical_id: str) -> dict[str, Any]:
        group, rule, egress = find_rule(where, physical_id)
        if egress != self.egress:
            raise NotFound(physical_id)
        return {"Id": rule.id, "GroupId": group.id, **rule_to_cfn(rule, egress)}

    def apply(self, where: Where, physical_id: str, desired: dict[str, Any], previous: dict[str, Any] | None = None) -> None:
        _, rule, _ = find_rule(where, physical_id)
        if "Description" in desired:  # everything else is createOnly
            rule.ip_range["Description"] = desired["Description"]
        elif previous and "Description" in previous:
            rule.ip_range.pop("Description", None)

    def list_ids(self, where: Where) -> list[str]:
        attr = "egress_rules" if self.egress else "ingress_rules"
        return [r.id for g in backend(where).describe_security_groups() for r in getattr(g, attr)]

    def normalize(self, props: dict[str, Any]) -> dict[str, Any]:
        return norm_rule(props)


class SecurityGroupIngress(SecurityGroupRuleResource):
    type_name = "AWS::EC2::SecurityGroupIngress"
    readable = ("GroupId", "IpProtocol", "FromPort", "ToPort", "CidrIp", "CidrIpv6", "SourceSecurityGroupId",
                "SourcePrefixListId", "Description")


class SecurityGroupEgress(SecurityGroupRuleResource):
    type_name = "AWS::EC2::SecurityGroupEgress"
    egress = True
    readable = ("GroupId", "IpProtocol", "FromPort", "ToPort", "CidrIp", "CidrIpv6", "DestinationSecurityGroupId",
                "DestinationPrefixListId", "Description")


for _adapter in (SecurityGroup(), SecurityGroupIngress(), SecurityGroupEgress()):
    register(_adapter)

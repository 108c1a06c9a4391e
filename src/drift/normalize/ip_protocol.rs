//! `ip-protocol`: how EC2 stores a security group rule's protocol and ports.
//!
//! The resource schemas of `AWS::EC2::SecurityGroup`, `...Ingress` and
//! `...Egress` say it in their `propertyTransform`: the protocol numbers 1,
//! 6, 17 and 58 become `icmp`, `tcp`, `udp` and `icmpv6`, other names are
//! lowercased, and for a protocol without ports the ports become `-1`
//! whatever the template said. EC2 also accepts `all` for `-1`. The table is
//! kept here rather than interpreting the schema's JSONata.

use super::super::compare::{Site, Walker};
use crate::template::path::Segment;
use crate::template::{PropertyPath, Value};

/// The protocols whose rules keep their ports (ICMP's are type and code).
const WITH_PORTS: &[&str] = &["tcp", "udp", "icmp", "icmpv6"];

/// The protocol as EC2 stores it.
fn canonical(v: &Value) -> Option<String> {
    let text = v.scalar_text()?.trim().to_ascii_lowercase();
    Some(
        match text.as_str() {
            "1" => "icmp",
            "6" => "tcp",
            "17" => "udp",
            "58" => "icmpv6",
            "all" => "-1",
            other => other,
        }
        .to_string(),
    )
}

/// The rule field a path names, if it names one: `/SecurityGroupIngress/0/
/// IpProtocol` on a security group, `/IpProtocol` on a standalone rule.
fn rule_field<'p>(type_name: &str, path: &'p PropertyPath) -> Option<&'p str> {
    match (type_name, path.0.as_slice()) {
        ("AWS::EC2::SecurityGroup", [Segment::Key(list), Segment::Index(_), Segment::Key(f)])
            if list == "SecurityGroupIngress" || list == "SecurityGroupEgress" =>
        {
            Some(f)
        }
        ("AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress", [Segment::Key(f)]) => {
            Some(f)
        }
        _ => None,
    }
}

/// Two protocols EC2 stores alike, or ports EC2 ignores.
pub(super) fn equivalent(w: &Walker<'_>, site: Site<'_>, e: &Value, a: &Value) -> bool {
    match rule_field(w.type_name, site.path) {
        Some("IpProtocol") => canonical(e).is_some() && canonical(e) == canonical(a),
        Some("FromPort" | "ToPort") => portless(site),
        _ => false,
    }
}

/// A port set on one side only, in a rule whose protocol has no ports.
pub(super) fn ignores_ports(w: &Walker<'_>, site: Site<'_>) -> bool {
    matches!(
        rule_field(w.type_name, site.path),
        Some("FromPort" | "ToPort")
    ) && portless(site)
}

/// Whether the rule's protocol, on every side that states one, has no ports.
fn portless(site: Site<'_>) -> bool {
    let protocols: Vec<String> = [site.parent_expected, site.parent_actual]
        .into_iter()
        .flatten()
        .filter_map(|m| canonical(m.get("IpProtocol")?))
        .collect();
    !protocols.is_empty() && protocols.iter().all(|p| !WITH_PORTS.contains(&p.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_numbers_and_names_are_one_protocol() {
        let c = |s: &str| canonical(&Value::String(s.into()));
        assert_eq!(c("6"), c("tcp"));
        assert_eq!(c("TCP"), c("tcp"));
        assert_eq!(c("17"), c("udp"));
        assert_eq!(c("1"), c("icmp"));
        assert_eq!(c("58"), c("icmpv6"));
        assert_eq!(c("all"), c("-1"));
        assert_ne!(c("6"), c("udp"));
    }

    #[test]
    fn only_security_group_rule_fields_are_rule_fields() {
        let p = PropertyPath::parse("/SecurityGroupIngress/2/IpProtocol");
        assert_eq!(
            rule_field("AWS::EC2::SecurityGroup", &p),
            Some("IpProtocol")
        );
        assert_eq!(rule_field("AWS::EC2::NetworkAclEntry", &p), None);
        let q = PropertyPath::parse("/FromPort");
        assert_eq!(
            rule_field("AWS::EC2::SecurityGroupIngress", &q),
            Some("FromPort")
        );
        assert_eq!(rule_field("AWS::EC2::SecurityGroup", &q), None);
    }
}

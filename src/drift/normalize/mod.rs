//! The noise filter: each normaliser explains one kind of difference that is
//! not drift, and has a stable kebab-case name that `--show-ignored`, the
//! JSON report and users' bug reports refer to. Names are a contract: add,
//! never rename.
//!
//! Two questions are asked of them: why two present values that differ are
//! the same setting (`scalar`, plus the policy canonicaliser and unordered
//! lists in the walk), and why a value present on one side only is not drift
//! (`absent`). Each check is narrow on purpose: a normaliser that explains
//! too much hides real drift, which is worse than noise.

mod defaults;
mod ip_protocol;
pub(super) mod policy;
mod scalar;
mod tags;
pub(super) mod unresolved;

use super::compare::{Site, Walker};
use crate::template::Value;

pub(super) use scalar::strict_eq;

/// `aws:*` tags (including `aws:cloudformation:*`) present live: AWS sets
/// them and no template can.
pub const AWS_TAGS: &str = "aws-tags";
/// A live tag equal to one of the stack's tags, absent from the template:
/// CloudFormation propagates stack tags to the resources it creates.
pub const STACK_TAGS: &str = "stack-tags";
/// `"80"` vs `80`, `"true"` vs `true`, `"1.0"` vs `1`: CloudFormation passes
/// scalars on as strings.
pub const NUMBER_STRING: &str = "number-string";
/// `TCP` vs `tcp`: enum-like tokens services store in another case.
pub const CASE_ONLY: &str = "case-only";
/// Security group protocol aliases (`-1`/`all`, `6`/`tcp`, `17`/`udp`,
/// `1`/`icmp`, `58`/`icmpv6`), and ports EC2 ignores for protocols without
/// ports.
pub const IP_PROTOCOL: &str = "ip-protocol";
/// JSON policy documents equal once put in canonical form.
pub const POLICY_DOCUMENT: &str = "policy-document";
/// The same items in another order, in a list the schema marks
/// `insertionOrder: false`.
pub const UNORDERED_LIST: &str = "unordered-list";
/// A property set on one side only, the other side being its AWS default.
pub const DEFAULT_VALUE: &str = "default-value";
/// A template value known only to AWS (`Ref`, `Fn::GetAtt`, ...), which
/// cannot be compared.
pub const UNRESOLVED: &str = "unresolved";

/// A property the template leaves out whose value AWS chose when it created
/// the resource (a generated name, the default VPC): the schema marks it
/// create-only, so it cannot change without replacing the resource.
pub const CREATE_ONLY: &str = "create-only";
/// A live list item another resource of the stack attaches (a security
/// group's `AWS::EC2::SecurityGroupIngress`, a role's `AWS::IAM::Policy`).
pub const ATTACHED: &str = "attached";

/// A secret the template names but driftsync cannot know: a secret dynamic
/// reference (`{{resolve:ssm-secure:...}}`, `{{resolve:secretsmanager:...}}`)
/// or a NoEcho value CloudFormation returns as `****`. CloudFormation does
/// not detect drift on dynamic references either.
pub const SECRET_REFERENCE: &str = "secret-reference";

/// Every normaliser name.
pub const NAMES: &[&str] = &[
    AWS_TAGS,
    STACK_TAGS,
    NUMBER_STRING,
    CASE_ONLY,
    IP_PROTOCOL,
    POLICY_DOCUMENT,
    UNORDERED_LIST,
    DEFAULT_VALUE,
    UNRESOLVED,
    CREATE_ONLY,
    ATTACHED,
    SECRET_REFERENCE,
];

/// Which side holds the value the other side lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Expected,
    Actual,
}

/// Why a value present on one side only is not drift, if it is not.
pub(super) fn absent(
    w: &Walker<'_>,
    site: Site<'_>,
    value: &Value,
    side: Side,
) -> Option<&'static str> {
    if side == Side::Expected && value.is_unresolved() {
        return Some(UNRESOLVED);
    }
    // A tag is data, never a default: only the tag normalisers judge it.
    if tags::is_tag(w, site) {
        return match side {
            Side::Actual => tags::added(w, site, value),
            Side::Expected => None,
        };
    }
    if side == Side::Actual && w.facts.is_some_and(|f| f.is_create_only(site.path)) {
        return Some(CREATE_ONLY);
    }
    if ip_protocol::ignores_ports(w, site) {
        return Some(IP_PROTOCOL);
    }
    if defaults::is_default(w, site, value, side) {
        return Some(DEFAULT_VALUE);
    }
    None
}

/// Why two different values that are not both maps, lists or policies are
/// the same setting, if they are.
pub(super) fn scalar(w: &Walker<'_>, site: Site<'_>, e: &Value, a: &Value) -> Option<&'static str> {
    if scalar::number_string(e, a) {
        return Some(NUMBER_STRING);
    }
    if scalar::case_only(site.path, e, a) {
        return Some(CASE_ONLY);
    }
    if ip_protocol::equivalent(w, site, e, a) {
        return Some(IP_PROTOCOL);
    }
    None
}

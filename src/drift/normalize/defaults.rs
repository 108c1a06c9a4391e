//! `default-value`: a property set on one side only, whose other side is
//! what AWS uses when it is not set.
//!
//! Defaults come from the resource schema (`TypeFacts::defaults`, and
//! `documented_defaults` read from its descriptions) and from
//! [`KNOWN`], a short table of well-known AWS defaults the schemas lack, one
//! documented source per entry. An empty value (`""`, `[]`, `{}`, `null`,
//! `false`) is the implicit default of any property. Values compare through the same
//! walk (so `"30"` matches `30`, and a default security group rule matches
//! the rule as EC2 returns it).

use super::super::Mode;
use super::super::compare::{Site, Verdict, Walker, summarize};
use super::Side;
use crate::template::Value;

/// A default the resource schemas do not declare.
struct Known {
    type_name: &'static str,
    /// Below `Properties`; `*` matches any list index or map key.
    path: &'static str,
    /// The accepted values, as JSON.
    values: &'static [&'static str],
}

const KNOWN: &[Known] = &[
    // IAM CreateRole API reference: MaxSessionDuration, "If you do not specify a value for this
    // setting, the default value of one hour is applied" (words, not a number, in the schema).
    Known {
        type_name: "AWS::IAM::Role",
        path: "/MaxSessionDuration",
        values: &["3600"],
    },
    // Lambda API reference, TracingConfig: Mode defaults to PassThrough.
    Known {
        type_name: "AWS::Lambda::Function",
        path: "/TracingConfig",
        values: &[r#"{"Mode": "PassThrough"}"#],
    },
    // SSM PutParameter API reference: DataType defaults to `text`; Tier defaults to `Standard`
    // (unless the account's default tier setting says otherwise).
    Known {
        type_name: "AWS::SSM::Parameter",
        path: "/DataType",
        values: &["\"text\""],
    },
    Known {
        type_name: "AWS::SSM::Parameter",
        path: "/Tier",
        values: &["\"Standard\""],
    },
    // SQS CreateQueue API reference, Attributes: VisibilityTimeout defaults to 30 seconds.
    Known {
        type_name: "AWS::SQS::Queue",
        path: "/VisibilityTimeout",
        values: &["30"],
    },
    // SQS CreateQueue API reference: MessageRetentionPeriod defaults to 345,600 seconds (4 days).
    Known {
        type_name: "AWS::SQS::Queue",
        path: "/MessageRetentionPeriod",
        values: &["345600"],
    },
    // SQS CreateQueue API reference: MaximumMessageSize defaults to 262,144 bytes (256 KiB);
    // queues created since SQS raised the message size limit to 1 MiB (August 2025) get 1,048,576.
    Known {
        type_name: "AWS::SQS::Queue",
        path: "/MaximumMessageSize",
        values: &["262144", "1048576"],
    },
    // SQS CreateQueue API reference: DelaySeconds and ReceiveMessageWaitTimeSeconds default to 0.
    Known {
        type_name: "AWS::SQS::Queue",
        path: "/DelaySeconds",
        values: &["0"],
    },
    Known {
        type_name: "AWS::SQS::Queue",
        path: "/ReceiveMessageWaitTimeSeconds",
        values: &["0"],
    },
    // SQS Developer Guide, "Encryption at rest": SSE-SQS is on by default for queues created
    // since October 2022 unless SSE-KMS is chosen.
    Known {
        type_name: "AWS::SQS::Queue",
        path: "/SqsManagedSseEnabled",
        values: &["true"],
    },
    // CloudFormation AWS::EC2::SecurityGroup reference, SecurityGroupEgress: EC2 creates a
    // default rule allowing all outbound traffic, removed only when the template declares
    // egress rules; so it appears live exactly when the template declares none. In a VPC with
    // IPv6 the default also allows all outbound IPv6 traffic (EC2 User Guide, "Default
    // security groups for your VPCs").
    Known {
        type_name: "AWS::EC2::SecurityGroup",
        path: "/SecurityGroupEgress",
        values: &[
            r#"[{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]"#,
            r#"[{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}, {"IpProtocol": "-1", "CidrIpv6": "::/0"}]"#,
        ],
    },
    // S3 User Guide, "Setting default server-side encryption behavior": since 5 January 2023
    // every bucket has SSE-S3 (AES256) default encryption, with S3 Bucket Keys off.
    Known {
        type_name: "AWS::S3::Bucket",
        path: "/BucketEncryption",
        values: &[
            r#"{"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}"#,
        ],
    },
    Known {
        type_name: "AWS::S3::Bucket",
        path: "/BucketEncryption/ServerSideEncryptionConfiguration/*/BucketKeyEnabled",
        values: &["false"],
    },
    // S3 User Guide, "Blocking public access to your Amazon S3 storage": since April 2023 new
    // buckets have all four Block Public Access settings on.
    Known {
        type_name: "AWS::S3::Bucket",
        path: "/PublicAccessBlockConfiguration",
        values: &[
            r#"{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}"#,
        ],
    },
    // S3 User Guide, "Controlling ownership of objects": since April 2023 new buckets use
    // Object Ownership "BucketOwnerEnforced" (ACLs disabled).
    Known {
        type_name: "AWS::S3::Bucket",
        path: "/OwnershipControls",
        values: &[r#"{"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}"#],
    },
];

impl Known {
    /// The accepted values; an entry that does not parse accepts nothing
    /// (a unit test keeps them all parsing).
    fn parsed(&self) -> impl Iterator<Item = Value> + '_ {
        self.values
            .iter()
            .filter_map(|j| serde_json::from_str::<serde_json::Value>(j).ok())
            .map(|j| Value::from_json(&j))
    }
}

/// Whether `value`, present on `side` only, is the default at its path.
pub(super) fn is_default(w: &Walker<'_>, site: Site<'_>, value: &Value, side: Side) -> bool {
    if is_empty(value) {
        return true;
    }
    let path = site.path;
    let schema = w
        .facts
        .into_iter()
        .flat_map(|f| f.defaults.iter().chain(&f.documented_defaults))
        .filter(|(p, _)| path.matches(p))
        .map(|(_, d)| Value::from_json(d));
    let known = KNOWN
        .iter()
        .filter(|k| k.type_name == w.type_name && path.matches(k.path))
        .flat_map(Known::parsed);
    // Deep, so that keys on either side count: a default is the whole value.
    let deep = w.with_mode(Mode::Deep);
    schema.chain(known).any(|d| {
        let (e, a) = match side {
            Side::Expected => (value, &d),
            Side::Actual => (&d, value),
        };
        let mut scratch = Vec::new();
        deep.node(site, Some(e), Some(a), &mut scratch);
        summarize(&scratch) != Verdict::Different
    })
}

/// Empty values, and `false`: AWS leaves unset switches off (`FifoQueue`,
/// `FifoTopic`, `ContentBasedDeduplication`, ...), and reads them back as
/// false; so is a settings object whose every switch is off (a table's
/// `PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: false}`).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.values().all(is_empty),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_default_parses() {
        for k in KNOWN {
            assert_eq!(
                k.parsed().count(),
                k.values.len(),
                "{} {}",
                k.type_name,
                k.path
            );
            assert!(k.path.starts_with('/'), "{}", k.path);
        }
    }
}

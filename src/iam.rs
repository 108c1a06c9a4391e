//! Least-privilege IAM for the stacks in a config (`driftsync iam-policy`):
//! the calls `check` and `sync` make, scoped to the config's stacks where IAM
//! allows it, plus the resource schemas' handler permissions of exactly the
//! resource types the stacks hold. AWS reads a resource with the caller's
//! credentials both in drift detection and in Cloud Control, so those
//! permissions are the caller's to have.
//!
//! Pure: config and resource types in, a policy document out. It never calls
//! AWS, reads files or prints.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::config::{Config, RevertVia};
use crate::template::schema::SchemaFacts;

/// What the policy must allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `check` and `plan`: read-only.
    Check,
    /// `sync --apply`: the reads, plus the writes its plan can make.
    Sync,
}

/// The policy and what a reader should know about it.
#[derive(Debug)]
pub struct IamPolicy {
    /// An IAM policy document (`Version`, `Statement`).
    pub document: Value,
    /// Types whose schemas declare no handler permissions (legacy types, or
    /// types outside the schema table): their reads and writes cannot be
    /// listed, so the policy does not cover them. Custom resources are not
    /// here: CloudFormation checks no drift on them, and nothing reads them.
    pub uncovered_types: Vec<String>,
}

/// The Cloud Control automation runbook `sync` starts (see `remediate`).
fn runbook_name() -> &'static str {
    crate::remediate::RUNBOOK_NAME
}

/// The partition a region belongs to, for ARNs.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The account of a role ARN (`arn:aws:iam::123456789012:role/x`), else `*`.
fn account_of(role_arn: Option<&str>) -> String {
    role_arn
        .and_then(|a| a.split(':').nth(4))
        .filter(|a| !a.is_empty())
        .unwrap_or("*")
        .to_string()
}

fn statement(sid: &str, actions: BTreeSet<String>, resources: Vec<String>) -> Value {
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
}

fn set(actions: &[&str]) -> BTreeSet<String> {
    actions.iter().map(|a| a.to_string()).collect()
}

/// How each stack reverts properties (`auto` by default).
fn revert_vias(config: &Config) -> BTreeSet<RevertVia> {
    config
        .stacks
        .iter()
        .map(|s| {
            let own = s.policy.as_ref().and_then(|p| p.revert_via);
            own.or(config.policy.revert_via).unwrap_or_default()
        })
        .collect()
}

/// The policy for `config`'s stacks, whose templates hold `resource_types`.
pub fn policy(config: &Config, resource_types: &BTreeSet<String>, mode: Mode) -> IamPolicy {
    let facts = SchemaFacts::embedded();
    let stacks: BTreeSet<String> = config
        .stacks
        .iter()
        .map(|s| {
            let (p, r) = (partition(&s.region), &s.region);
            let account = account_of(s.role_arn.as_deref());
            format!("arn:{p}:cloudformation:{r}:{account}:stack/{}/*", s.name)
        })
        .collect();
    let stacks: Vec<String> = stacks.into_iter().collect();
    let all = || vec!["*".to_string()];
    // Sync reverts drift (update) and, by default, deploys pending commits,
    // which add and remove resources too (create, delete).
    let handlers: &[&str] = match mode {
        Mode::Check => &["read"],
        Mode::Sync => &["read", "update", "create", "delete"],
    };
    let resource_actions = facts.handler_permissions(resource_types, handlers);
    let uncovered_types = resource_types
        .iter()
        .filter(|t| !crate::template::schema::is_custom_type(t))
        .filter(|t| facts.get(t).is_none_or(|f| f.permissions.is_empty()))
        .cloned()
        .collect();

    let mut statements = vec![
        // One paginated DescribeStacks covers a region's stacks, so it cannot
        // be scoped; it reveals stack metadata only.
        statement(
            "DescribeStacks",
            set(&["cloudformation:DescribeStacks"]),
            all(),
        ),
        statement(
            "ReadAndDetectDriftOfTheConfiguredStacks",
            set(&[
                "cloudformation:DescribeStackResourceDrifts",
                "cloudformation:DetectStackDrift",
                "cloudformation:DetectStackResourceDrift",
                "cloudformation:GetTemplate",
                "cloudformation:ListStackResources",
            ]),
            stacks.clone(),
        ),
        // Neither supports resource-level permissions. GetResource is Cloud
        // Control's read, under the `cloudformation` prefix.
        statement(
            "DriftStatusAndCloudControlRead",
            set(&[
                "cloudformation:DescribeStackDriftDetectionStatus",
                "cloudformation:GetResource",
            ]),
            all(),
        ),
        statement("Attribution", set(&["cloudtrail:LookupEvents"]), all()),
        // `check --trust-config`: AWS Config's recent drift verdicts.
        statement(
            "ConfigDriftVerdicts",
            set(&["config:GetComplianceDetailsByConfigRule"]),
            all(),
        ),
    ];
    if mode == Mode::Sync {
        // CreateStack: a stack committed but not yet deployed is created.
        let cfn = set(&[
            "cloudformation:CreateChangeSet",
            "cloudformation:CreateStack",
            "cloudformation:DeleteChangeSet",
            "cloudformation:DescribeChangeSet",
            "cloudformation:DescribeStackEvents",
            "cloudformation:ExecuteChangeSet",
        ]);
        statements.push(statement(
            "ChangeSetsOnTheConfiguredStacks",
            cfn,
            stacks.clone(),
        ));
        statements.push(statement(
            "CloudControlWrite",
            set(&[
                "cloudformation:GetResourceRequestStatus",
                "cloudformation:UpdateResource",
            ]),
            all(),
        ));
        let vias = revert_vias(config);
        // `auto` reverts through the runbook once it is installed.
        if vias.contains(&RevertVia::Ssm) || vias.contains(&RevertVia::Auto) {
            let regions: BTreeSet<&str> = config.stacks.iter().map(|s| s.region.as_str()).collect();
            let mut runbooks = Vec::new();
            for r in regions {
                let p = partition(r);
                runbooks.push(format!(
                    "arn:{p}:ssm:{r}:*:automation-definition/{}:*",
                    runbook_name()
                ));
                runbooks.push(format!("arn:{p}:ssm:{r}:*:automation-execution/*"));
            }
            statements.push(statement(
                "RevertThroughTheRunbook",
                set(&["ssm:GetAutomationExecution", "ssm:StartAutomationExecution"]),
                runbooks,
            ));
        }
        if vias.contains(&RevertVia::Auto) {
            let regions: BTreeSet<&str> = config.stacks.iter().map(|s| s.region.as_str()).collect();
            let documents = regions
                .into_iter()
                .map(|r| format!("arn:{}:ssm:{r}:*:document/{}", partition(r), runbook_name()))
                .collect();
            statements.push(statement(
                "FindTheRunbook",
                set(&["ssm:DescribeDocument"]),
                documents,
            ));
        }
        // Templates over 51,200 bytes: uploaded, then read by CloudFormation
        // with the caller's credentials (and key, for SSE-KMS).
        let objects: BTreeSet<String> = config
            .stacks
            .iter()
            .filter_map(|s| s.artifacts.as_ref().map(|a| (partition(&s.region), a)))
            .map(|(p, a)| match &a.prefix {
                Some(prefix) => format!("arn:{p}:s3:::{}/{prefix}/*", a.bucket),
                None => format!("arn:{p}:s3:::{}/*", a.bucket),
            })
            .collect();
        if !objects.is_empty() {
            statements.push(statement(
                "UploadLargeTemplatesToTheArtifactsBucket",
                set(&["s3:GetObject", "s3:PutObject"]),
                objects.into_iter().collect(),
            ));
        }
        let keys: BTreeSet<String> = config
            .stacks
            .iter()
            .filter_map(|s| s.artifacts.as_ref()?.kms_key_id.clone())
            .collect();
        if !keys.is_empty() {
            statements.push(statement(
                "EncryptTemplatesWithTheArtifactsKey",
                set(&["kms:Decrypt", "kms:GenerateDataKey"]),
                keys.into_iter().collect(),
            ));
        }
        // Config rule ARNs carry generated ids, not names: no narrower scope.
        statements.push(statement(
            "PublishVerdictsToConfig",
            set(&["config:DescribeConfigRules", "config:PutExternalEvaluation"]),
            all(),
        ));
    }
    if !resource_actions.is_empty() {
        statements.push(statement(
            "HandlerPermissionsOfTheTypesInTheStacks",
            resource_actions,
            all(),
        ));
    }
    let roles: BTreeSet<String> = config
        .stacks
        .iter()
        .filter_map(|s| s.role_arn.clone())
        .collect();
    if !roles.is_empty() {
        statements.push(statement(
            "AssumeTheStacksRoles",
            set(&["sts:AssumeRole"]),
            roles.into_iter().collect(),
        ));
    }
    IamPolicy {
        document: json!({"Version": "2012-10-17", "Statement": statements}),
        uncovered_types,
    }
}

#[cfg(test)]
#[path = "iam_tests.rs"]
mod tests;

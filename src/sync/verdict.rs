//! Publishes driftsync's verdict to AWS Config, so the Config console and
//! aggregators show what driftsync found. `driftsync bootstrap` creates a
//! process-check rule for it, and `sync --apply` reports through
//! PutExternalEvaluation: AWS's API for verdicts an outside tool reaches.
//! (PutEvaluations needs the ResultToken of a Lambda rule invocation, which
//! an agent never has.) Config takes such verdicts only for the account
//! (`AWS::::Account`), so there is one per account and region: compliant
//! when every stack there is in sync, the annotation naming those that are not.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_config::types::{ComplianceType, ExternalEvaluation};

use super::{StackSync, StepResult};
use crate::check::CheckStatus;
use crate::live::{Aws, Calls, Clients, LiveError, api_error};
use crate::load::Snapshot;
use crate::remediate::bootstrap::VERDICT_RULE;

/// Whether the verdict rule exists in this account and region.
///
/// # Errors
/// An API failure other than "no such rule".
pub async fn verdict_rule_exists(clients: &Clients, calls: &Calls) -> Result<bool, LiveError> {
    calls.record("DescribeConfigRules");
    match clients
        .config
        .describe_config_rules()
        .config_rule_names(VERDICT_RULE)
        .send()
        .await
    {
        Ok(out) => Ok(!out.config_rules().is_empty()),
        Err(e) => {
            let err = api_error(clients, "DescribeConfigRules", "*", e);
            match &err {
                LiveError::Api { code, .. } if code.contains("NoSuchConfigRule") => Ok(false),
                _ => Err(err),
            }
        }
    }
}

/// Whether a stack is in sync once the sync ran: it was, or every step
/// went through and nothing was left to report, block or refuse.
pub fn in_sync_after(s: &StackSync) -> bool {
    if s.plan.status == CheckStatus::InSync {
        return true;
    }
    if s.plan.error.is_some()
        || s.outcomes.is_empty()
        || s.plan.decisions.iter().any(|d| !d.is_actionable())
    {
        return false;
    }
    s.outcomes.iter().all(|o| {
        matches!(
            o.result,
            StepResult::Applied | StepResult::NoChanges | StepResult::AlreadyDone
        ) && o.verified != Some(false)
    })
}

/// One verdict per account and region where the rule exists.
pub async fn publish_all(aws: &Aws, snapshot: &Snapshot, stacks: &[StackSync], calls: &Calls) {
    let mut groups: BTreeMap<(String, Option<String>, String), Vec<&StackSync>> = BTreeMap::new();
    for s in stacks {
        let Some(account) = s.plan.account.clone() else {
            continue;
        };
        let role = snapshot
            .stacks
            .iter()
            .find(|x| x.spec.name == s.plan.name)
            .and_then(|x| x.spec.role_arn.clone());
        groups
            .entry((s.plan.region.clone(), role, account))
            .or_default()
            .push(s);
    }
    for ((region, role, account), members) in groups {
        let Ok(clients) = aws.clients(&region, role.as_deref()).await else {
            continue;
        };
        match verdict_rule_exists(&clients, calls).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(%region, error = %e, "cannot look up the verdict rule");
                continue;
            }
        }
        let off: Vec<&str> = members
            .iter()
            .filter(|s| !in_sync_after(s))
            .map(|s| s.plan.name.as_str())
            .collect();
        let annotation = if off.is_empty() {
            match members.len() {
                1 => "driftsync: the stack is in sync with git".to_string(),
                n => format!("driftsync: all {n} stacks in sync with git"),
            }
        } else {
            format!("driftsync: not in sync: {}", off.join(", "))
        };
        if let Err(e) = publish(&clients, &account, off.is_empty(), &annotation, calls).await {
            tracing::warn!(%region, error = %e, "cannot publish the verdict to AWS Config");
        }
    }
}

/// Records the account's verdict.
///
/// # Errors
/// An API failure.
pub async fn publish(
    clients: &Clients,
    account: &str,
    in_sync: bool,
    annotation: &str,
    calls: &Calls,
) -> Result<(), LiveError> {
    let note: String = annotation.chars().take(256).collect();
    let evaluation = ExternalEvaluation::builder()
        .compliance_resource_type("AWS::::Account")
        .compliance_resource_id(account)
        .compliance_type(if in_sync {
            ComplianceType::Compliant
        } else {
            ComplianceType::NonCompliant
        })
        .annotation(note)
        .ordering_timestamp(aws_smithy_types::DateTime::from(SystemTime::now()))
        .build()
        .map_err(|e| LiveError::build("PutExternalEvaluation", "*", e))?;
    calls.record("PutExternalEvaluation");
    clients
        .config
        .put_external_evaluation()
        .config_rule_name(VERDICT_RULE)
        .external_evaluation(evaluation)
        .send()
        .await
        .map_err(|e| api_error(clients, "PutExternalEvaluation", "*", e))?;
    Ok(())
}

//! The plan: what `sync` will do for each stack, and why. Pure and
//! serialisable: `driftsync plan` prints it, `sync` prints it and (with
//! `--apply`) carries it out step by step.
//!
//! Built from a stack's check and its policy decisions. Steps run in order:
//! surgical reverts first (back to the deployed template), then a
//! REVERT_DRIFT change set for drift the policy re-applies, then the
//! deploy of pending commits.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::check::{CheckStatus, StackCheck};
use crate::config::{Action, DecisionKind, RevertVia};
use crate::drift::Difference;
use crate::policy::{Decision, Limits, StackDecisions};
use crate::remediate::change_set_name;
use crate::remediate::patch::{PatchOp, Refusal, revert_patch};
use crate::template::PropertyPath;
use crate::template::schema::SchemaFacts;

/// One stack's plan.
#[derive(Debug, Clone, Serialize)]
pub struct StackPlan {
    pub name: String,
    pub region: String,
    pub account: Option<String>,
    /// What `check` found.
    pub status: CheckStatus,
    pub decisions: Vec<Decision>,
    pub steps: Vec<Step>,
    pub limits: Limits,
    pub circuit_open: bool,
    pub error: Option<String>,
}

/// One thing `sync --apply` does.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Patch a resource's drifted properties back to the template, keeping
    /// its identity and everything else.
    RevertProperties {
        logical_id: String,
        #[serde(rename = "type")]
        type_name: String,
        identifier: String,
        /// Which path the patch takes, and why (the policy's `revert.via`,
        /// and for `auto` whether the runbook is installed).
        via: RevertPath,
        via_reason: String,
        paths: Vec<PropertyPath>,
        patch: Vec<PatchOp>,
        /// Idempotency token: the same drift gets the same token.
        token: String,
    },
    /// A change set in `DeploymentMode=REVERT_DRIFT` for these resources' drift.
    RevertDrift {
        change_set: String,
        resources: Vec<String>,
        allow_replacement: bool,
    },
    /// Create the stack, not deployed yet, from the committed template and
    /// parameters with a CREATE change set (`create: true`).
    Create { change_set: String },
    /// Deploy the committed template and parameters with a change set.
    Deploy {
        change_set: String,
        changes: usize,
        allow_replacement: bool,
    },
    /// Write the live value into the template through a pull request (the PR bot).
    Codify {
        logical_id: String,
        paths: Vec<PropertyPath>,
    },
    /// Drift the plan cannot revert by patching, and why.
    Refused {
        logical_id: String,
        property_path: Option<PropertyPath>,
        reason: String,
    },
}

/// The path a property revert takes to AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RevertPath {
    /// The SSM Automation runbook `driftsync bootstrap` installs.
    #[serde(rename = "ssm")]
    Ssm,
    /// Cloud Control UpdateResource directly.
    #[serde(rename = "cloudcontrol")]
    CloudControl,
}

/// Whether the revert runbook is installed in the stack's account and
/// region, as read before planning (only `revert.via: auto` asks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runbook {
    Installed,
    Missing,
    /// The lookup failed; the reason is kept for the plan.
    Unknown(String),
    /// Not looked up: the policy names the path, or nothing reverts.
    NotAsked,
}

/// The path and its reason for the policy's `via` and what is installed.
pub fn revert_path(via: RevertVia, runbook: &Runbook) -> (RevertPath, String) {
    let name = crate::remediate::RUNBOOK_NAME;
    match (via, runbook) {
        (RevertVia::Ssm, _) => (RevertPath::Ssm, "revert.via is ssm".into()),
        (RevertVia::CloudControl, _) => (
            RevertPath::CloudControl,
            "revert.via is cloudcontrol".into(),
        ),
        (RevertVia::Auto, Runbook::Installed) => (
            RevertPath::Ssm,
            format!("revert.via is auto and the runbook {name} is installed"),
        ),
        (RevertVia::Auto, Runbook::Missing) => (
            RevertPath::CloudControl,
            format!(
                "revert.via is auto and the runbook {name} is not installed \
                 (driftsync bootstrap installs it)"
            ),
        ),
        (RevertVia::Auto, Runbook::Unknown(why)) => (
            RevertPath::CloudControl,
            format!("revert.via is auto and the runbook {name} cannot be read: {why}"),
        ),
        (RevertVia::Auto, Runbook::NotAsked) => (
            RevertPath::CloudControl,
            "revert.via is auto and the runbook was not looked up".into(),
        ),
    }
}

impl Step {
    /// Whether carrying it out changes AWS.
    pub fn changes_aws(&self) -> bool {
        matches!(
            self,
            Step::RevertProperties { .. }
                | Step::RevertDrift { .. }
                | Step::Deploy { .. }
                | Step::Create { .. }
        )
    }
}

impl StackPlan {
    /// Anything to do (or refused, which needs a person).
    pub fn has_work(&self) -> bool {
        !self.steps.is_empty() || self.decisions.iter().any(|d| d.blocked.is_some())
    }
}

/// Builds a stack's plan. `drift_epoch` distinguishes one occurrence of a
/// drift from a later one (its first-seen time), so a revert of drift that
/// came back gets a new token instead of joining the finished one.
pub fn build(
    check: &StackCheck,
    decisions: &StackDecisions,
    revision: &str,
    runbook: &Runbook,
    drift_epoch: &dyn Fn(&str) -> String,
) -> StackPlan {
    let mut plan = StackPlan {
        name: check.name.clone(),
        region: check.region.clone(),
        account: check.account.clone(),
        status: check.status,
        decisions: decisions.decisions.clone(),
        steps: Vec::new(),
        limits: decisions.limits,
        circuit_open: decisions.circuit_open,
        error: check.error.clone(),
    };
    // An open circuit has blocked every decision but a guard violation's
    // revert, which nothing stops.
    if check.error.is_some() {
        return plan;
    }
    if check.status == CheckStatus::NotDeployed {
        if decisions.create && !decisions.circuit_open {
            plan.steps.push(Step::Create {
                change_set: change_set_name("create", &[&check.name, revision]),
            });
        }
        return plan;
    }
    let schema = SchemaFacts::embedded();
    let (via, via_reason) = revert_path(decisions.revert_via, runbook);
    let actionable = |kind: DecisionKind, action: Action| {
        decisions
            .decisions
            .iter()
            .filter(move |d| d.kind == kind && d.action == action && d.is_actionable())
    };

    // 1. Surgical reverts, one patch per resource.
    let mut by_resource: BTreeMap<&str, Vec<&Decision>> = BTreeMap::new();
    for d in actionable(DecisionKind::Drift, Action::Revert) {
        by_resource.entry(&d.logical_id).or_default().push(d);
    }
    for (logical_id, ds) in by_resource {
        let Some(resource) = check.drift.iter().find(|r| r.logical_id == logical_id) else {
            continue;
        };
        if resource.status == "DELETED" {
            plan.steps.push(Step::Refused {
                logical_id: logical_id.to_string(),
                property_path: None,
                reason:
                    "deleted out of band: a patch cannot bring it back; re-create it by deploying"
                        .into(),
            });
            continue;
        }
        let chosen: Vec<&Difference> = resource
            .differences
            .iter()
            .filter(|diff| {
                ds.iter()
                    .any(|d| d.property_path.as_ref() == Some(&diff.property_path))
            })
            .collect();
        let (patch, refused) = revert_patch(&chosen, schema.get(&resource.type_name));
        for Refusal {
            property_path,
            reason,
        } in refused
        {
            plan.steps.push(Step::Refused {
                logical_id: logical_id.to_string(),
                property_path: Some(property_path),
                reason,
            });
        }
        let Some(identifier) = resource.physical_id.clone() else {
            continue;
        };
        if patch.is_empty() {
            continue;
        }
        let patch_text = serde_json::to_string(&patch).unwrap_or_default();
        let token = change_set_name(
            "revert",
            &[
                &check.name,
                logical_id,
                &patch_text,
                &drift_epoch(logical_id),
            ],
        );
        plan.steps.push(Step::RevertProperties {
            logical_id: logical_id.to_string(),
            type_name: resource.type_name.clone(),
            identifier,
            via,
            via_reason: via_reason.clone(),
            paths: chosen.iter().map(|d| d.property_path.clone()).collect(),
            patch,
            token,
        });
    }

    // 2. Drift the policy re-applies: one REVERT_DRIFT change set.
    let reapply: Vec<&Decision> = actionable(DecisionKind::Drift, Action::Reapply).collect();
    if !reapply.is_empty() {
        let mut resources: Vec<String> = reapply.iter().map(|d| d.logical_id.clone()).collect();
        resources.dedup();
        let epochs: Vec<String> = resources.iter().map(|r| drift_epoch(r)).collect();
        let mut parts: Vec<&str> = vec![&check.name, revision];
        parts.extend(epochs.iter().map(String::as_str));
        plan.steps.push(Step::RevertDrift {
            change_set: change_set_name("revert-drift", &parts),
            allow_replacement: reapply.iter().all(|d| d.allow_replacement),
            resources,
        });
    }

    // 3. Codify: for the PR bot.
    let mut codify: BTreeMap<&str, Vec<PropertyPath>> = BTreeMap::new();
    for d in actionable(DecisionKind::Drift, Action::Codify) {
        codify
            .entry(&d.logical_id)
            .or_default()
            .extend(d.property_path.clone());
    }
    for (logical_id, paths) in codify {
        plan.steps.push(Step::Codify {
            logical_id: logical_id.to_string(),
            paths,
        });
    }

    // 4. Pending commits: CloudFormation deploys a template whole, so one
    // change set when any pending change is to be re-applied.
    let deploy: Vec<&Decision> = actionable(DecisionKind::Pending, Action::Reapply).collect();
    // A deploy carries every pending change: while one is refused (a
    // replacement not allowed), none goes.
    let refused = decisions.decisions.iter().find(|d| {
        d.kind == DecisionKind::Pending && d.action == Action::Reapply && d.blocked.is_some()
    });
    if let (Some(r), false) = (refused, deploy.is_empty()) {
        plan.steps.push(Step::Refused {
            logical_id: r.logical_id.clone(),
            property_path: r.property_path.clone(),
            reason: format!(
                "the deploy would carry a refused change: {}",
                r.blocked.as_deref().unwrap_or_default()
            ),
        });
    } else if !deploy.is_empty() {
        plan.steps.push(Step::Deploy {
            change_set: change_set_name("deploy", &[&check.name, revision]),
            changes: check.pending.len(),
            allow_replacement: deploy.iter().all(|d| d.allow_replacement),
        });
    }
    plan
}

/// Takes a deploy or create out of the plan when its template cannot reach
/// CloudFormation (over 51,200 bytes with no `artifacts` bucket, or over the
/// 1 MB limit for S3), and fails the stack with why, before any AWS call.
pub fn check_template_size(
    plan: &mut StackPlan,
    size: usize,
    artifacts: Option<&crate::config::Artifacts>,
) {
    let deploys = |s: &Step| matches!(s, Step::Deploy { .. } | Step::Create { .. });
    if !plan.steps.iter().any(deploys) {
        return;
    }
    if let Err(too_large) = crate::remediate::artifacts::route(size, artifacts) {
        plan.steps.retain(|s| !deploys(s));
        let e = crate::remediate::RemediateError::TemplateTooLarge {
            stack: plan.name.clone(),
            too_large,
        };
        plan.error = Some(e.to_string());
    }
}

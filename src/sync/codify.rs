//! The `codify` steps of a plan: every drifted property the policy keeps is
//! written into the stack's files on one branch per stack and drift, pushed
//! for review, and, with a `github:` section, the pull request opened or
//! updated from it (`review`).

use serde_json::json;

use super::SyncOptions;
use super::apply::{StepOutcome, StepResult};
use crate::allowed_hosts::AllowedHosts;
use crate::check::StackCheck;
use crate::codify::{self, git::BranchState};
use crate::github::PrOutcome;
use crate::load::Snapshot;
use crate::plan::{StackPlan, Step};
use crate::source::{Source, credentials_for};
use crate::template::PropertyPath;

/// Runs every codify step of the plan at once (they share one branch); the
/// outcome is the first step's, and later codify steps point back to it.
pub(super) async fn run(
    snapshot: &Snapshot,
    plan: &StackPlan,
    check: &StackCheck,
    opts: &SyncOptions,
    index: usize,
) -> StepOutcome {
    let Some(repo) = &opts.codify else {
        return StepOutcome::new(
            index,
            StepResult::Deferred,
            Some("codify: no repository to push the branch to".into()),
        );
    };
    let wanted: Vec<(String, PropertyPath)> = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Codify { logical_id, paths } => Some((logical_id, paths)),
            _ => None,
        })
        .flat_map(|(id, paths)| paths.iter().map(move |p| (id.clone(), p.clone())))
        .collect();
    let refused = codify::guard_refusals(check, &plan.decisions);
    let failed = |e: String| StepOutcome::new(index, StepResult::Failed, Some(e));
    let source = match Source::open(&repo.spec, &repo.options) {
        Ok(s) => s,
        Err(e) => return failed(e.to_string()),
    };
    let prepared = match codify::prepare(&source, snapshot, check, Some(&wanted), &refused, true) {
        Ok(p) => p,
        Err(e) => return failed(e.to_string()),
    };
    if prepared.proposal.is_empty() {
        let why = prepared
            .proposal
            .skipped
            .iter()
            .map(|s| format!("{} {}: {}", s.logical_id, s.property_path, s.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return StepOutcome::new(
            index,
            StepResult::Refused,
            Some(format!("nothing can be codified: {why}")),
        );
    }
    let published = match codify::push(
        &source,
        snapshot,
        &prepared,
        &credentials_for(&repo.spec, &repo.options.credentials),
        &AllowedHosts::from_env(|k| std::env::var(k).ok()).and_operator_url(&repo.spec),
    ) {
        Ok(p) => p,
        Err(e) => return failed(e.to_string()),
    };
    let (mut result, mut reason) = match published.state {
        BranchState::Unchanged => (
            StepResult::AlreadyDone,
            format!("the branch {} already holds this change", published.branch),
        ),
        _ => (
            StepResult::Applied,
            format!("pushed the branch {}", published.branch),
        ),
    };
    // With a `github:` section, the pull request is opened or brought up to
    // date; without one, the branch and the printed body are the proposal.
    let mut review = None;
    if let Some(settings) = &snapshot.config.github {
        match super::review::open_or_update(settings, &prepared.pull_request).await {
            Ok(r) => {
                if matches!(
                    r.outcome,
                    PrOutcome::Opened { .. } | PrOutcome::Updated { .. }
                ) {
                    result = StepResult::Applied;
                }
                if let Some(url) = r.outcome.url() {
                    reason = format!("{reason}; pull request {url}");
                }
                review = Some(r);
            }
            Err(e) => {
                let mut o = failed(format!(
                    "pushed the branch {}, but the pull request: {e}",
                    published.branch
                ));
                o.detail = json!({"branch": published.branch, "commit": published.commit});
                return o;
            }
        }
    }
    let mut o = StepOutcome::new(index, result, Some(reason));
    o.verified = Some(prepared.proof.holds);
    o.detail = json!({
        "branch": published.branch,
        "commit": published.commit,
        "branch_state": published.state,
        "pull_request": prepared.pull_request,
        "review": review,
        "skipped": prepared.proposal.skipped,
    });
    o
}

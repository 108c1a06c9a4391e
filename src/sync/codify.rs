//! The `codify` steps of a plan: every drifted property the policy keeps is
//! written into the stack's files on one branch per stack and drift, pushed
//! for review. Opening the pull request from that branch is the forge's
//! part (see `codify::PullRequest`); until it is wired, the outcome carries
//! the title and body it needs.

use serde_json::json;

use super::SyncOptions;
use super::apply::{StepOutcome, StepResult};
use crate::check::StackCheck;
use crate::codify::{self, git::BranchState};
use crate::load::Snapshot;
use crate::plan::{StackPlan, Step};
use crate::source::{Source, credentials_for};
use crate::template::PropertyPath;

/// Runs every codify step of the plan at once (they share one branch); the
/// outcome is the first step's, and later codify steps point back to it.
pub(super) fn run(
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
    ) {
        Ok(p) => p,
        Err(e) => return failed(e.to_string()),
    };
    let (result, reason) = match published.state {
        BranchState::Unchanged => (
            StepResult::AlreadyDone,
            format!("the branch {} already holds this change", published.branch),
        ),
        _ => (
            StepResult::Applied,
            // The seam: the forge module opens or updates the pull request from here.
            format!(
                "pushed the branch {}; the pull request is opened from it by the forge",
                published.branch
            ),
        ),
    };
    let mut o = StepOutcome::new(index, result, Some(reason));
    o.verified = Some(prepared.proof.holds);
    o.detail = json!({
        "branch": published.branch,
        "commit": published.commit,
        "branch_state": published.state,
        "pull_request": prepared.pull_request,
        "skipped": prepared.proposal.skipped,
    });
    o
}

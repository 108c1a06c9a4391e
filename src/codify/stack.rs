//! One stack's codify run, as the CLI and `sync --apply` both do it: read
//! the files at the base revision, propose, prove, and (when asked) push
//! the branch. The pull request itself is `sync::review`'s: see
//! [`Prepared::pull_request`].

use serde::Serialize;

use super::git::{self, Published};
use super::proof::{self, Proof};
use super::{CodifyError, Input, Proposal, PullRequest};
use crate::allowed_hosts::AllowedHosts;
use crate::check::StackCheck;
use crate::load::Snapshot;
use crate::policy::Decision;
use crate::source::{Credentials, Source};
use crate::template::PropertyPath;

/// A proposal with its proof and pull request text, ready to push.
#[derive(Debug, Clone, Serialize)]
pub struct Prepared {
    pub proposal: Proposal,
    pub proof: Proof,
    /// The seam to the forge: head branch, base, title and body.
    pub pull_request: PullRequest,
    /// The change as a unified diff.
    pub patch: String,
}

/// Differences a guard refuses to let be codified, with the reason: the
/// policy reverts those, but codify refuses them again on its own.
pub fn guard_refusals(
    check: &StackCheck,
    decisions: &[Decision],
) -> Vec<(String, PropertyPath, String)> {
    let mut out = Vec::new();
    for d in decisions.iter().filter(|d| !d.guard_violations.is_empty()) {
        let Some(r) = check.drift.iter().find(|r| r.logical_id == d.logical_id) else {
            continue;
        };
        let why = d
            .guard_violations
            .iter()
            .map(|v| v.message.clone())
            .collect::<Vec<_>>()
            .join("; ");
        for diff in &r.differences {
            if d.property_path
                .as_ref()
                .is_none_or(|p| *p == diff.property_path)
            {
                out.push((
                    r.logical_id.clone(),
                    diff.property_path.clone(),
                    format!(
                        "the live value breaks a guard ({why}): it is reverted, never codified"
                    ),
                ));
            }
        }
    }
    out
}

/// Reads the stack's files at the snapshot's revision, proposes the edits
/// for `wanted` (every real difference when `None`), and proves them.
///
/// # Errors
/// When the files cannot be read or the template did not load.
pub fn prepare(
    source: &Source,
    snapshot: &Snapshot,
    check: &StackCheck,
    wanted: Option<&[(String, PropertyPath)]>,
    refused: &[(String, PropertyPath, String)],
    lint: bool,
) -> Result<Prepared, CodifyError> {
    let index = snapshot
        .stacks
        .iter()
        .position(|s| s.spec.name == check.name)
        .ok_or_else(|| CodifyError::NoTemplate {
            stack: check.name.clone(),
        })?;
    let state = &snapshot.stacks[index];
    let config_path = snapshot.config.path.as_str();
    let config_text = source.read_text(&snapshot.revision, config_path)?;
    let parameters_text = state
        .spec
        .parameters_file
        .as_deref()
        .map(|p| source.read_text(&snapshot.revision, p))
        .transpose()?;
    let mut proposal = super::propose(&Input {
        state,
        check,
        stack_index: index,
        config_path,
        config_text: &config_text,
        parameters_text: parameters_text.as_deref(),
        wanted,
        refused,
    })?;
    proposal.base_revision = snapshot.revision.sha.clone();
    let proof = proof::prove(
        &proposal,
        state,
        config_path,
        &config_text,
        parameters_text.as_deref(),
        // cfn-lint reads only the template; a parameter change leaves it as it was.
        lint && proposal
            .files
            .iter()
            .any(|f| f.role == super::FileRole::Template),
    );
    let pull_request = proposal.pull_request(&snapshot.config.git.base, Some(&proof));
    let patch = proposal.patch();
    Ok(Prepared {
        proposal,
        proof,
        pull_request,
        patch,
    })
}

/// Commits the proposal on its branch and pushes it, unless the proof
/// failed (a change that does not make the template match live is never
/// proposed).
///
/// # Errors
/// [`CodifyError::Unproven`] when the proof does not hold;
/// [`CodifyError::HostRefused`] when the config's `git.remote` is a URL on a
/// host `allowed` does not admit; git errors.
pub fn push(
    source: &Source,
    snapshot: &Snapshot,
    prepared: &Prepared,
    credentials: &Credentials,
    allowed: &AllowedHosts,
) -> Result<Published, CodifyError> {
    if !prepared.proof.holds {
        return Err(CodifyError::Unproven {
            stack: prepared.proposal.stack.clone(),
            why: prepared
                .proof
                .error
                .clone()
                .unwrap_or_else(|| "a codified property does not resolve to its live value".into()),
        });
    }
    let settings = &snapshot.config.git;
    let url = git::remote_url(source, &settings.remote)?;
    // A remote *name* is the operator's (their checkout or their --repo); a
    // URL in the config is the repository's own say, so the token goes
    // there only if the operator allows the host.
    if settings.remote.contains("://") {
        allowed.check(&url, "git.remote in driftsync.yaml")?;
    }
    Ok(git::publish(
        source.repository(),
        &prepared.proposal.base_revision,
        &prepared.pull_request.branch,
        &prepared.proposal.files,
        &prepared.pull_request.commit_message,
        settings,
        &url,
        credentials,
    )?)
}

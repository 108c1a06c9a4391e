//! The words of a codify change: the commit message and the pull request's
//! title and markdown body. This is the seam to the forge module: it opens
//! or updates a pull request from `head` = [`PullRequest::branch`] into
//! `base` with this title and body.

use serde::Serialize;

use super::Proposal;
use super::proof::Proof;
use crate::drift::DifferenceKind;
use crate::report::md;
use crate::template::Value;

/// What a forge needs to open (or update) the pull request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullRequest {
    /// The head branch, `driftsync/codify/<stack>-<drift id>`.
    pub branch: String,
    /// The branch to merge into.
    pub base: String,
    pub title: String,
    /// GitHub-flavoured markdown.
    pub body: String,
    pub commit_message: String,
    /// Suggested labels.
    pub labels: Vec<String>,
}

impl Proposal {
    /// The pull request for this proposal, into `base`.
    pub fn pull_request(&self, base: &str, proof: Option<&Proof>) -> PullRequest {
        let resources = {
            let mut ids: Vec<&str> = self.changes.iter().map(|c| c.logical_id.as_str()).collect();
            ids.dedup();
            ids.join(", ")
        };
        let n = self.changes.len();
        let title = format!(
            "codify({}): keep {n} live change{} to {resources}",
            self.stack,
            if n == 1 { "" } else { "s" }
        );
        let mut body = format!(
            "Stack `{}` drifted, and the policy keeps the live state: this change makes the \
             repository say what is live, so the drift disappears once it is merged. The diff \
             is the drift itself, nothing more.\n\n",
            self.stack
        );
        body.push_str(
            "| Resource | Property | Committed | Live | Written in |\n|---|---|---|---|---|\n",
        );
        for c in &self.changes {
            body.push_str(&format!(
                "| {} | {} | {} | {} | {}: {} |\n",
                md::code(&c.logical_id),
                md::code(&c.property_path.to_string()),
                cell(c.expected.as_ref(), true),
                cell(c.actual.as_ref(), false),
                md::code(&c.file),
                md::text(&c.via.to_string())
            ));
        }
        if !self.skipped.is_empty() {
            body.push_str("\n**Left alone** (a person must decide):\n\n");
            for s in &self.skipped {
                body.push_str(&format!(
                    "- {} {}: {}\n",
                    md::code(&s.logical_id),
                    md::code(&s.property_path.to_string()),
                    md::text(&s.reason)
                ));
            }
        }
        if let Some(p) = proof {
            body.push_str(&format!("\n**Proof**\n\n{}", p.markdown()));
        }
        body.push_str(&format!(
            "\n<sub>Proposed by driftsync from {} (drift `{}`). Re-running with the same drift \
             changes nothing; new live values update this branch.</sub>\n",
            short(&self.base_revision),
            self.drift_id
        ));
        let mut commit_message = format!("{title}\n\n");
        for c in &self.changes {
            commit_message.push_str(&format!(
                "- {} {} ({}): {}\n",
                c.logical_id,
                c.property_path,
                kind_word(c.kind),
                c.via
            ));
        }
        commit_message.push_str(&format!(
            "\nDrift {} on stack {}.\n",
            self.drift_id, self.stack
        ));
        PullRequest {
            branch: self.branch(),
            base: base.to_string(),
            title,
            body,
            commit_message,
            labels: vec!["driftsync".into(), "codify".into()],
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn kind_word(k: DifferenceKind) -> &'static str {
    match k {
        DifferenceKind::Add => "added live",
        DifferenceKind::Remove => "removed live",
        DifferenceKind::NotEqual => "changed live",
    }
}

fn cell(v: Option<&Value>, expected: bool) -> String {
    match v {
        None if expected => "*(absent)*".into(),
        None => "*(removed)*".into(),
        Some(v) => md::code(&v.to_json().to_string()),
    }
}

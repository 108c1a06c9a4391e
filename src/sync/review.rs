//! Opens or updates the pull request for a pushed codify branch, where the
//! config has a `github:` section: codify wrote the branch and the text,
//! `github` talks to the API; this joins the two and owns neither. It must
//! not push, edit templates, or decide what to codify.

use serde::Serialize;

use crate::allowed_hosts::AllowedHosts;
use crate::codify::PullRequest;
use crate::config::GithubSettings;
use crate::github::{Auth, AuthError, GithubClient, GithubError, PrOutcome, PullRequestSpec};

/// Why the pull request could not be opened or updated.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("GitHub credentials: {0}")]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error(transparent)]
    HostRefused(#[from] crate::allowed_hosts::HostRefused),
}

/// A client for the configured API, once the operator's allow-list admits
/// its host: `github.api_url` is the repository's say, the token is not.
async fn connect(settings: &GithubSettings) -> Result<GithubClient, ReviewError> {
    let env = |k: &str| std::env::var(k).ok();
    AllowedHosts::from_env(env).check(&settings.api_url, "github.api_url in driftsync.yaml")?;
    let auth = Auth::from_env(env)?;
    Ok(GithubClient::connect(&settings.api_url, settings.repository.clone(), auth).await?)
}

/// What happened to the pull request, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub repository: String,
    pub outcome: PrOutcome,
}

/// Opens the pull request for `pr.branch`, or brings the open one up to
/// date, with a comment when the drift changed. Credentials come
/// from the environment (`GITHUB_TOKEN`, or a GitHub App).
///
/// # Errors
/// Missing or refused credentials, or an API failure.
pub async fn open_or_update(
    settings: &GithubSettings,
    pr: &PullRequest,
) -> Result<Review, ReviewError> {
    let client = connect(settings).await?;
    let mut spec = PullRequestSpec::new(&pr.branch, &pr.base, &pr.title, &pr.body);
    spec.labels = pr.labels.clone();
    for l in &settings.labels {
        if !spec.labels.contains(l) {
            spec.labels.push(l.clone());
        }
    }
    spec.reviewers = settings.reviewers.clone();
    spec.assignees = settings.assignees.clone();
    let outcome = client.sync_pull_request(&spec).await?;
    Ok(Review {
        repository: settings.repository.to_string(),
        outcome,
    })
}

/// Closes, with a comment, the open codify pull requests of `stack` other
/// than `keep` (the branch this run proposes, if any): their drift is gone,
/// reverted or codified by another commit, or now on another branch.
///
/// # Errors
/// Missing or refused credentials, or an API failure.
pub async fn close_stale(
    settings: &GithubSettings,
    stack: &str,
    keep: Option<&str>,
) -> Result<Vec<Review>, ReviewError> {
    let client = connect(settings).await?;
    let prefix = format!("{}{stack}-", crate::codify::git::BRANCH_PREFIX);
    let mut closed = Vec::new();
    for head in client.open_heads_with_prefix(&prefix).await? {
        // `web-` also prefixes stack `web-sg`'s branches: ours end in the
        // drift id alone (hex).
        let drift_id = &head[prefix.len()..];
        if Some(head.as_str()) == keep || !drift_id.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        let outcome = client
            .close_pull_request(
                &head,
                "driftsync: the drift this pull request would codify is gone (reverted, \
                 codified by another commit, or now proposed on another branch), so it is \
                 closed. The branch is left as it is.",
            )
            .await?;
        closed.push(Review {
            repository: settings.repository.to_string(),
            outcome,
        });
    }
    Ok(closed)
}

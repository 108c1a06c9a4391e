//! What can go wrong talking to GitHub, with the operation that failed.

use super::AuthError;

/// Why a GitHub operation failed. No variant carries a credential: answers
/// from GitHub are reduced to their status, message and field errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GithubError {
    #[error("\"{value}\" is not a GitHub repository: {reason}")]
    InvalidRepository { value: String, reason: String },
    #[error("\"{url}\" is not a GitHub API URL: {reason}")]
    InvalidApiUrl { url: String, reason: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("cannot sync the pull request for {head}: {reason}")]
    InvalidPullRequest { head: String, reason: String },
    #[error("failed to set up the GitHub client: {reason}")]
    Client { reason: String },
    /// A request failed; `status` is GitHub's HTTP status when it answered.
    #[error("failed to {operation} in {repository}: {cause}")]
    Request {
        operation: String,
        repository: String,
        status: Option<u16>,
        cause: String,
    },
    /// The pull request is open, but labels, reviewers or assignees could not
    /// be set. They are only set when a pull request is opened, so a later
    /// run will not retry them.
    #[error("pull request #{number} is open ({url}), but {source}")]
    Decorate {
        number: u64,
        url: String,
        source: Box<GithubError>,
    },
}

impl GithubError {
    /// Whether trying again later may succeed: no answer, a server error, or
    /// a rate limit. Everything else needs a change of input or permissions.
    pub fn is_retryable(&self) -> bool {
        match self {
            GithubError::Request { status, cause, .. } => match status {
                None => true,
                Some(s) => *s >= 500 || *s == 429 || (*s == 403 && cause.contains("rate limit")),
            },
            GithubError::Decorate { source, .. } => source.is_retryable(),
            _ => false,
        }
    }

    /// The HTTP status GitHub answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GithubError::Request { status, .. } => *status,
            GithubError::Decorate { source, .. } => source.status(),
            _ => None,
        }
    }

    pub(super) fn request(
        operation: impl Into<String>,
        repository: &super::Repository,
        e: octocrab::Error,
    ) -> Self {
        let (status, cause) = describe(&e);
        GithubError::Request {
            operation: operation.into(),
            repository: repository.to_string(),
            status,
            cause,
        }
    }
}

/// GitHub's status, message and field errors; or, when it did not answer,
/// the transport's reason without octocrab's backtrace.
pub(super) fn describe(e: &octocrab::Error) -> (Option<u16>, String) {
    if let octocrab::Error::GitHub { source, .. } = e {
        let mut cause = format!("GitHub answered {}: {}", source.status_code, source.message);
        let details: Vec<String> = source
            .errors
            .iter()
            .flatten()
            .map(|d| match d.get("message").and_then(|m| m.as_str()) {
                Some(m) => m.to_string(),
                None => d.to_string(),
            })
            .collect();
        if !details.is_empty() {
            cause.push_str(&format!(" ({})", details.join("; ")));
        }
        return (Some(source.status_code.as_u16()), cause);
    }
    let first_line = |s: String| s.lines().next().unwrap_or_default().trim().to_string();
    let mut cause = first_line(e.to_string());
    let mut next = std::error::Error::source(e);
    while let Some(inner) = next {
        let text = first_line(inner.to_string());
        if !cause.contains(&text) {
            cause.push_str(": ");
            cause.push_str(&text);
        }
        next = inner.source();
    }
    (None, cause)
}

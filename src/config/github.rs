//! The `github:` section: where codify pull requests go, and who sees them.
//! Credentials never live here (they come from the environment, see
//! `github::Auth`); this file only checks the section is well-formed.

use schemars::JsonSchema;
use serde::Deserialize;

use super::ConfigError;
use crate::doc::{Location, Node};
use crate::github::{self, Repository};

/// `github:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGithub {
    /// The repository codify pull requests are opened in, as `owner/name`.
    pub repository: String,
    /// The REST API's base URL: `https://api.github.com`, or
    /// `https://HOST/api/v3` for GitHub Enterprise Server.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// Labels added to each pull request when it is opened.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Reviewers requested when a pull request is opened: logins, or
    /// `org/team` for a team.
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// Logins assigned when a pull request is opened.
    #[serde(default)]
    pub assignees: Vec<String>,
}

fn default_api_url() -> String {
    "https://api.github.com".to_string()
}

/// The validated `github:` section.
#[derive(Debug, Clone)]
pub struct GithubSettings {
    pub repository: Repository,
    /// Without a trailing `/`.
    pub api_url: String,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub assignees: Vec<String>,
    /// Where the section is written.
    pub location: Location,
}

pub(super) fn compile(
    raw: &RawGithub,
    root: &Node,
    file: &str,
) -> Result<GithubSettings, ConfigError> {
    let at = |keys: &[&str]| {
        let mut path = vec!["github"];
        path.extend_from_slice(keys);
        super::pointer(root, &path).map(|n| n.span.location())
    };
    let error = |keys: &[&str], message: String| ConfigError::at(file, at(keys), message);
    let repository: Repository = raw
        .repository
        .parse()
        .map_err(|e: github::GithubError| error(&["repository"], e.to_string()))?;
    let api_url = github::check_api_url(&raw.api_url)
        .map_err(|e| error(&["api_url"], e.to_string()))?
        .to_string();
    for (i, label) in raw.labels.iter().enumerate() {
        // GitHub's own limit on label names.
        if label.trim().is_empty() || label.chars().count() > 50 {
            return Err(error(
                &["labels", &i.to_string()],
                format!("\"{label}\" is not a label name: 1 to 50 characters"),
            ));
        }
    }
    for (i, r) in raw.reviewers.iter().enumerate() {
        let name = r.strip_prefix('@').unwrap_or(r);
        let ok = match name.split_once('/') {
            Some((org, team)) => is_login(org) && is_team_slug(team),
            None => is_login(name),
        };
        if !ok {
            return Err(error(
                &["reviewers", &i.to_string()],
                format!("\"{r}\" is neither a GitHub login nor an org/team"),
            ));
        }
    }
    for (i, a) in raw.assignees.iter().enumerate() {
        if !is_login(a) {
            return Err(error(
                &["assignees", &i.to_string()],
                format!("\"{a}\" is not a GitHub login"),
            ));
        }
    }
    Ok(GithubSettings {
        repository,
        api_url,
        labels: raw.labels.clone(),
        reviewers: raw.reviewers.clone(),
        assignees: raw.assignees.clone(),
        location: at(&[]).unwrap_or_default(),
    })
}

/// Letters, digits and inner hyphens, at most 39: GitHub's rule for logins.
/// Bot accounts (`name[bot]`) are allowed too.
fn is_login(s: &str) -> bool {
    let s = s.strip_suffix("[bot]").unwrap_or(s);
    (1..=39).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_team_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

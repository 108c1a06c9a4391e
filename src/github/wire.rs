//! Exactly what driftsync sends to GitHub and reads back. Requests carry
//! only the fields we set; answers are read for only the fields we use, so
//! a GitHub Enterprise Server that lacks a newer field still works.

use serde::{Deserialize, Serialize};

/// `GET /repos/{owner}/{repo}/installation` (as the App).
#[derive(Debug, Deserialize)]
pub(super) struct Installation {
    pub id: u64,
}

/// Query of `GET /repos/{owner}/{repo}/pulls`.
#[derive(Debug, Serialize)]
pub(super) struct ListPulls<'a> {
    pub state: &'static str,
    /// `owner:branch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<&'a str>,
    pub per_page: u8,
}

/// A pull request, as listed, created or updated.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Pull {
    pub number: u64,
    pub html_url: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub head: Ref,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Ref {
    #[serde(rename = "ref")]
    pub name: String,
}

/// `POST /repos/{owner}/{repo}/pulls`.
#[derive(Debug, Serialize)]
pub(super) struct CreatePull<'a> {
    pub title: &'a str,
    pub head: &'a str,
    pub base: &'a str,
    pub body: &'a str,
    /// Reviewers may fix up the codified template on the bot's branch.
    pub maintainer_can_modify: bool,
}

/// `PATCH /repos/{owner}/{repo}/pulls/{number}`.
#[derive(Debug, Default, Serialize)]
pub(super) struct UpdatePull<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
}

/// `POST /repos/{owner}/{repo}/issues/{number}/comments`.
#[derive(Debug, Serialize)]
pub(super) struct Comment<'a> {
    pub body: &'a str,
}

/// `POST /repos/{owner}/{repo}/issues/{number}/labels`.
#[derive(Debug, Serialize)]
pub(super) struct Labels<'a> {
    pub labels: &'a [String],
}

/// `POST /repos/{owner}/{repo}/issues/{number}/assignees`.
#[derive(Debug, Serialize)]
pub(super) struct Assignees<'a> {
    pub assignees: &'a [String],
}

/// `POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers`.
#[derive(Debug, Serialize)]
pub(super) struct ReviewRequest {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reviewers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub team_reviewers: Vec<String>,
}

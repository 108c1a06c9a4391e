//! GitHub: the codify pull request's lifecycle, through the REST API.
//!
//! Owns authentication (a token, or a GitHub App installation), the API base
//! URL (github.com or GitHub Enterprise Server's `https://HOST/api/v3`), and
//! one pull request per head branch: find it by its head, open it or update
//! it, comment when the drift it describes changes, and close it with a
//! comment when the drift is gone. It must not touch git (the caller pushes
//! the head branch first), decide whether to codify (that is `policy`), write
//! the body's prose (the caller does; [`drift_table`] renders the table), or
//! let a credential reach a log, an error or a `Debug` string.
//!
//! ```no_run
//! # async fn run() -> Result<(), driftsync::github::GithubError> {
//! use driftsync::github::{Auth, GithubClient, PullRequestSpec, Repository};
//! let repo: Repository = "acme/infra".parse()?;
//! let auth = Auth::from_env(|k| std::env::var(k).ok())?;
//! let client = GithubClient::connect("https://api.github.com", repo, auth).await?;
//! let spec = PullRequestSpec::new("driftsync/codify/web-sg-1a2b3c", "main", "Codify drift", "…");
//! let outcome = client.sync_pull_request(&spec).await?;    // Opened, Updated or Unchanged
//! client.close_pull_request(&spec.head, "The drift was reverted.").await?; // Closed or NothingToClose
//! # Ok(()) }
//! ```
//!
//! octocrab carries the requests (auth, App tokens, retries, base URL); the
//! request and response shapes are our own (`wire`), so exactly what is sent
//! is written down in one place and checked against GitHub's OpenAPI
//! description in CI (`tests/it/github_prism.rs`), and only the fields we
//! read must be present in an answer.

mod auth;
mod client;
mod error;
mod pulls;
mod repository;
mod table;
mod wire;

pub use auth::{Auth, AuthError};
pub use client::{GithubClient, check_api_url};
pub use error::GithubError;
pub use pulls::{PrOutcome, PullRequestSpec};
pub use repository::Repository;
pub use table::{DriftRow, drift_table};

//! The connection to one repository: base URL, credentials, and the three
//! verbs the lifecycle needs, with errors naming the operation.

use std::time::Duration;

use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use octocrab::secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Auth, GithubError, Repository, wire};

/// A GitHub API client bound to one repository.
///
/// With [`Auth::App`], every request carries an installation token scoped
/// to this repository, minted on first use and renewed before it expires.
#[derive(Clone)]
pub struct GithubClient {
    crab: Octocrab,
    repo: Repository,
    /// The personal token, for [`GithubClient::git_token`]; `None` for an App.
    token: Option<SecretString>,
}

/// Only the repository and the kind of credential: what octocrab's own
/// `Debug` shows of a credential is not ours to vouch for.
impl std::fmt::Debug for GithubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = if self.token.is_some() {
            "token"
        } else {
            "GitHub App"
        };
        f.debug_struct("GithubClient")
            .field("repository", &self.repo.to_string())
            .field("auth", &auth)
            .finish_non_exhaustive()
    }
}

impl GithubClient {
    /// Connects to the API at `api_url`: `https://api.github.com`, or
    /// `https://HOST/api/v3` for GitHub Enterprise Server. With an App and
    /// no installation id, this asks GitHub for the repository's
    /// installation (one request); otherwise nothing is sent yet.
    ///
    /// # Errors
    /// An invalid URL (credentials in it, another scheme), an unreadable App
    /// key, or a failed installation lookup.
    pub async fn connect(
        api_url: &str,
        repo: Repository,
        auth: Auth,
    ) -> Result<GithubClient, GithubError> {
        let base = check_api_url(api_url)?;
        let builder = || {
            Octocrab::builder()
                .base_uri(base)
                .map(|b| {
                    b.set_connect_timeout(Some(Duration::from_secs(10)))
                        .set_read_timeout(Some(Duration::from_secs(60)))
                })
                .map_err(|e| GithubError::InvalidApiUrl {
                    url: api_url.to_string(),
                    reason: super::error::describe(&e).1,
                })
        };
        let client_error = |e: octocrab::Error| GithubError::Client {
            reason: super::error::describe(&e).1,
        };
        let mut personal = None;
        let crab = match auth {
            Auth::Token(token) => {
                super::auth::check_token(&token)?;
                personal = Some(token.clone());
                builder()?
                    .personal_token(token)
                    .build()
                    .map_err(client_error)?
            }
            Auth::App {
                app_id,
                private_key,
                installation_id,
            } => {
                let key = Auth::encoding_key(&private_key)?;
                let app = builder()?
                    .app(AppId(app_id), key)
                    .build()
                    .map_err(client_error)?;
                let installation = match installation_id {
                    Some(id) => id,
                    None => {
                        let route = format!("/repos/{}/{}/installation", repo.owner(), repo.name());
                        let found: wire::Installation =
                            app.get(route, None::<&()>).await.map_err(|e| {
                                GithubError::request("find the GitHub App's installation", &repo, e)
                            })?;
                        found.id
                    }
                };
                app.installation_builder(InstallationId(installation))
                    .repositories(vec![repo.name().to_string()])
                    .build()
                    .map_err(client_error)?
            }
        };
        Ok(GithubClient {
            crab,
            repo,
            token: personal,
        })
    }

    /// The repository this client works on.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// A token for git over HTTPS to this repository (for pushing the head
    /// branch): the personal token, or a fresh App installation token.
    ///
    /// # Errors
    /// When an installation token cannot be minted.
    pub async fn git_token(&self) -> Result<SecretString, GithubError> {
        match self.crab.installation_token().await {
            Ok(token) => Ok(token),
            Err(octocrab::Error::InstallationTokenInvalidAuth { .. }) => {
                self.token.clone().ok_or(GithubError::Client {
                    reason: "this client has no token to hand to git".into(),
                })
            }
            Err(e) => Err(GithubError::request(
                "mint a GitHub App installation token",
                &self.repo,
                e,
            )),
        }
    }

    /// `/repos/{owner}/{repo}` followed by `rest`.
    pub(super) fn route(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.repo.owner(), self.repo.name())
    }

    pub(super) async fn get<R: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        operation: impl Into<String>,
        route: String,
        query: &Q,
    ) -> Result<R, GithubError> {
        tracing::debug!(%route, "GET");
        self.crab
            .get(route, Some(query))
            .await
            .map_err(|e| GithubError::request(operation, &self.repo, e))
    }

    /// A POST or PATCH with a JSON body.
    pub(super) async fn send<R: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        verb: Verb,
        operation: impl Into<String>,
        route: String,
        body: &B,
    ) -> Result<R, GithubError> {
        tracing::debug!(%route, ?verb);
        let answer = match verb {
            Verb::Post => self.crab.post(route, Some(body)).await,
            Verb::Patch => self.crab.patch(route, Some(body)).await,
        };
        answer.map_err(|e| GithubError::request(operation, &self.repo, e))
    }
}

/// The verbs that carry a body.
#[derive(Debug, Clone, Copy)]
pub(super) enum Verb {
    Post,
    Patch,
}

/// Checks an API base URL: `http(s)://host[:port][/path]`, without
/// credentials, query or fragment. Returns it without its trailing `/`, so
/// routes join cleanly.
///
/// # Errors
/// [`GithubError::InvalidApiUrl`], with any credentials in the URL redacted.
pub fn check_api_url(url: &str) -> Result<&str, GithubError> {
    let invalid = |reason: &str| GithubError::InvalidApiUrl {
        url: redact_userinfo(url),
        reason: reason.to_string(),
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| invalid("it must start with https:// (or http:// for a local server)"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(invalid(
            "it must not hold credentials; set GITHUB_TOKEN or a GitHub App instead",
        ));
    }
    if authority.is_empty() {
        return Err(invalid("it has no host"));
    }
    if rest.contains(['?', '#']) {
        return Err(invalid("it must not have a query or fragment"));
    }
    Ok(url.trim_end_matches('/'))
}

/// The URL with anything before an `@` in its authority replaced, for errors.
fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://[redacted]@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_for_github_com_and_enterprise_server_are_accepted() {
        assert_eq!(
            check_api_url("https://api.github.com/").unwrap(),
            "https://api.github.com"
        );
        assert_eq!(
            check_api_url("https://ghe.example.com/api/v3").unwrap(),
            "https://ghe.example.com/api/v3"
        );
    }

    #[test]
    fn api_urls_with_credentials_are_refused_without_echoing_them() {
        let err = check_api_url("https://x-access-token:ghp_s3cr3t@ghe.example.com/api/v3")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        assert!(err.contains("[redacted]@ghe.example.com"), "{err}");
        for bad in [
            "ftp://ghe",
            "ghe.example.com",
            "https://",
            "https://h/x?y=1",
        ] {
            assert!(check_api_url(bad).is_err(), "{bad}");
        }
    }
}

//! Credentials for remotes, and keeping them out of every message.

use std::cell::Cell;
use std::fmt;
use std::path::PathBuf;

use git2::{Cred, CredentialType, RemoteCallbacks};
use sha2::{Digest, Sha256};

/// A secret string: `Debug` and `Display` never show it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// How to authenticate to a remote.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// An HTTPS token (GitHub: a PAT or `GITHUB_TOKEN`), sent as the password.
    pub token: Option<Secret>,
    /// The HTTPS user name sent with the token (`x-access-token` by default).
    pub username: Option<String>,
    /// A private key file for SSH; without it the SSH agent is asked.
    pub ssh_key: Option<PathBuf>,
}

impl Credentials {
    /// Credentials from the environment: `DRIFTSYNC_GIT_TOKEN` (or
    /// `GITHUB_TOKEN`) and `DRIFTSYNC_SSH_KEY`.
    pub fn from_env() -> Self {
        let token = std::env::var("DRIFTSYNC_GIT_TOKEN")
            .ok()
            .or_else(|| std::env::var("GITHUB_TOKEN").ok())
            .filter(|t| !t.is_empty())
            .map(Secret);
        Credentials {
            token,
            username: std::env::var("DRIFTSYNC_GIT_USERNAME").ok(),
            ssh_key: std::env::var_os("DRIFTSYNC_SSH_KEY").map(PathBuf::from),
        }
    }

    /// Uses a password written in the URL when no token was given.
    pub(super) fn with_url_secret(mut self, secret: Option<(String, Secret)>) -> Self {
        if let Some((user, password)) = secret {
            self.username.get_or_insert(user);
            if self.token.is_none() {
                self.token = Some(password);
            }
        }
        self
    }

    /// Replaces the token wherever it appears.
    pub fn redact(&self, text: &str) -> String {
        match &self.token {
            Some(t) if !t.0.is_empty() => text.replace(&t.0, "****"),
            _ => text.to_string(),
        }
    }

    /// libgit2 callbacks that answer credential requests, giving up after a
    /// few refusals instead of asking forever.
    pub(crate) fn callbacks(&self) -> RemoteCallbacks<'static> {
        let me = self.clone();
        let attempts = Cell::new(0);
        let mut cb = RemoteCallbacks::new();
        cb.credentials(move |url, username, allowed| {
            attempts.set(attempts.get() + 1);
            if attempts.get() > 3 {
                return Err(git2::Error::new(
                    git2::ErrorCode::Auth,
                    git2::ErrorClass::Http,
                    "credentials were refused",
                ));
            }
            if allowed.contains(CredentialType::SSH_KEY) {
                let user = username.unwrap_or("git");
                return match &me.ssh_key {
                    Some(key) => Cred::ssh_key(user, None, key, None),
                    None => Cred::ssh_key_from_agent(user),
                };
            }
            if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                if let Some(token) = &me.token {
                    let user = me
                        .username
                        .as_deref()
                        .or(username)
                        .unwrap_or("x-access-token");
                    return Cred::userpass_plaintext(user, token.expose());
                }
                // Fall back to the user's own git credential helpers; when none
                // answers, that is an authentication failure, not a network one.
                if let Ok(config) = git2::Config::open_default()
                    && let Ok(cred) = Cred::credential_helper(&config, url, username)
                {
                    return Ok(cred);
                }
                return Err(git2::Error::new(
                    git2::ErrorCode::Auth,
                    git2::ErrorClass::Http,
                    "no token given (DRIFTSYNC_GIT_TOKEN or GITHUB_TOKEN) and no git credential helper answered",
                ));
            }
            if allowed.contains(CredentialType::DEFAULT) {
                return Cred::default();
            }
            Err(git2::Error::new(
                git2::ErrorCode::Auth,
                git2::ErrorClass::Http,
                "no credentials available",
            ))
        });
        cb
    }
}

/// Splits `https://user:secret@host/path` into the URL without the secret
/// (`https://user@host/path`) and the user and secret.
pub(super) fn split_url_credentials(url: &str) -> (String, Option<(String, Secret)>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_string(), None);
    };
    let sep = if rest.contains('/') { "/" } else { "" };
    match userinfo.split_once(':') {
        Some((user, secret)) => (
            format!("{scheme}://{user}@{host}{sep}{path}"),
            Some((user.to_string(), Secret(secret.to_string()))),
        ),
        None => (url.to_string(), None),
    }
}

/// A URL with any password removed, for messages.
pub fn redact_url(url: &str) -> String {
    split_url_credentials(url).0
}

/// A stable directory name for a remote's cache.
pub(super) fn cache_key(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    digest.iter().take(10).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_urls_are_split_off() {
        let (url, secret) =
            split_url_credentials("https://bot:ghp_abc123@github.com/org/infra.git");
        assert_eq!(url, "https://bot@github.com/org/infra.git");
        let (user, s) = secret.unwrap();
        assert_eq!((user.as_str(), s.expose()), ("bot", "ghp_abc123"));
        assert_eq!(
            redact_url("https://github.com/org/infra.git"),
            "https://github.com/org/infra.git"
        );
    }

    #[test]
    fn secrets_never_print() {
        let c = Credentials {
            token: Some(Secret::new("ghp_abc123")),
            ..Credentials::default()
        };
        assert!(!format!("{c:?}").contains("ghp_abc123"));
        assert_eq!(
            c.redact("failed for ghp_abc123@host"),
            "failed for ****@host"
        );
    }
}

//! Where credentials may go. Tokens from the environment (`GITHUB_TOKEN`,
//! `DRIFTSYNC_GIT_TOKEN`, a GitHub App's) and ssh keys are sent only to
//! hosts the *operator* allows, never to a host the repository names:
//! `driftsync.yaml` is editable by anyone who can push a branch, so its
//! `github.api_url` and `git.remote` may point anywhere.
//!
//! The operator's hosts:
//! - in GitHub Actions (`GITHUB_ACTIONS=true`), the hosts of
//!   `GITHUB_SERVER_URL` and `GITHUB_API_URL`;
//! - elsewhere, `github.com` and `api.github.com`;
//! - always, those listed in `DRIFTSYNC_ALLOWED_HOSTS` (comma- or
//!   space-separated `host` or `host:port`), and the host of the `--repo`
//!   URL the operator gave.
//!
//! `file://` URLs reach no host and need no allowance. This module only
//! judges URLs; it reads the environment through the closure it is given.

use std::fmt;

/// The environment variable that extends the allow-list.
pub const ENV: &str = "DRIFTSYNC_ALLOWED_HOSTS";

/// One allowed host, with a port when the entry named one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    host: String,
    port: Option<u16>,
}

/// The hosts credentials may be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    entries: Vec<Entry>,
    in_actions: bool,
}

/// A URL whose host the operator has not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to send credentials to {host}, which {named_by} names: the repository's own \
     config cannot choose where tokens go. {how}"
)]
pub struct HostRefused {
    /// `host` or `host:port`, as the URL has it.
    pub host: String,
    /// The setting that named the URL (e.g. `github.api_url in driftsync.yaml`).
    pub named_by: String,
    how: String,
}

impl AllowedHosts {
    /// The allow-list from the environment (see the module docs).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> AllowedHosts {
        let in_actions = var("GITHUB_ACTIONS").as_deref() == Some("true");
        let mut entries = Vec::new();
        if in_actions {
            let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
            let api = var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
            entries.extend([server, api].iter().filter_map(|u| entry_of(u)));
        } else {
            entries.extend(["github.com", "api.github.com"].map(|h| Entry {
                host: h.into(),
                port: None,
            }));
        }
        if let Some(list) = var(ENV) {
            entries.extend(
                list.split([',', ' ', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .filter_map(parse_entry),
            );
        }
        AllowedHosts {
            entries,
            in_actions,
        }
    }

    /// Also allows the host of `url` (the `--repo` the operator gave);
    /// a path or an unparsable spec adds nothing.
    #[must_use]
    pub fn and_operator_url(mut self, url: &str) -> AllowedHosts {
        if let Some(e) = entry_of(url) {
            self.entries.push(e);
        }
        self
    }

    /// Whether credentials may be sent to `url`, which `named_by` named.
    ///
    /// # Errors
    /// [`HostRefused`] naming the host and the setting that would allow it.
    pub fn check(&self, url: &str, named_by: &str) -> Result<(), HostRefused> {
        let parsed = url::Url::parse(url).ok();
        if parsed.as_ref().is_some_and(|u| u.scheme() == "file") {
            return Ok(());
        }
        let target = parsed.as_ref().and_then(|u| {
            Some(Entry {
                host: u.host_str()?.to_ascii_lowercase(),
                port: u.port_or_known_default(),
            })
        });
        let allowed = target.as_ref().is_some_and(|t| {
            self.entries
                .iter()
                .any(|e| e.host == t.host && (e.port.is_none() || e.port == t.port))
        });
        if allowed {
            return Ok(());
        }
        let host = parsed
            .as_ref()
            .and_then(|u| {
                let h = u.host_str()?;
                Some(match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_else(|| "(no host)".into());
        let how = if self.in_actions {
            format!(
                "In GitHub Actions, credentials go to the hosts of GITHUB_SERVER_URL and \
                 GITHUB_API_URL; to allow another, set {ENV}={host} in the workflow."
            )
        } else {
            format!(
                "Credentials go to github.com unless the operator allows more: set {ENV}={host} \
                 where driftsync runs."
            )
        };
        Err(HostRefused {
            host,
            named_by: named_by.to_string(),
            how,
        })
    }
}

impl fmt::Display for AllowedHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .entries
            .iter()
            .map(|e| match e.port {
                Some(p) => format!("{}:{p}", e.host),
                None => e.host.clone(),
            })
            .collect();
        f.write_str(&names.join(", "))
    }
}

/// The host (and port) of a URL; `None` for paths and unparsable text.
fn entry_of(url: &str) -> Option<Entry> {
    let u = url::Url::parse(url).ok()?;
    Some(Entry {
        host: u.host_str()?.to_ascii_lowercase(),
        port: u.port(),
    })
}

/// `host` or `host:port` (an IPv6 literal in brackets).
fn parse_entry(text: &str) -> Option<Entry> {
    entry_of(&format!("scheme://{text}")).or_else(|| entry_of(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn github_com_is_allowed_by_default_and_any_other_host_is_refused_by_name() {
        let a = AllowedHosts::from_env(env(&[]));
        assert!(a.check("https://api.github.com", "github.api_url").is_ok());
        assert!(
            a.check("https://github.com/acme/infra.git", "git.remote")
                .is_ok()
        );
        let err = a
            .check(
                "https://evil.example:8443/api/v3",
                "github.api_url in driftsync.yaml",
            )
            .unwrap_err();
        assert_eq!(err.host, "evil.example:8443");
        let text = err.to_string();
        assert!(text.contains("refusing to send credentials to evil.example:8443, which github.api_url in driftsync.yaml names"), "{text}");
        assert!(
            text.contains("DRIFTSYNC_ALLOWED_HOSTS=evil.example:8443"),
            "{text}"
        );
        // A look-alike is not github.com.
        assert!(
            a.check("https://github.com.evil.example/x", "git.remote")
                .is_err()
        );
        assert!(
            a.check(
                "https://evil.example@github.com.evil.example/x",
                "git.remote"
            )
            .is_err()
        );
        assert!(
            a.check("ssh://git@evil.example/x.git", "git.remote")
                .is_err()
        );
    }

    #[test]
    fn in_actions_the_servers_of_the_run_are_allowed_and_github_com_only_through_them() {
        let a = AllowedHosts::from_env(env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://ghe.corp.example"),
            ("GITHUB_API_URL", "https://ghe.corp.example/api/v3"),
        ]));
        assert!(
            a.check("https://ghe.corp.example/api/v3", "github.api_url")
                .is_ok()
        );
        assert!(a.check("https://api.github.com", "github.api_url").is_err());
        let text = a
            .check("https://x.example", "git.remote")
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("GITHUB_SERVER_URL and GITHUB_API_URL"),
            "{text}"
        );
    }

    #[test]
    fn the_operators_list_and_repo_url_extend_it_with_ports_respected() {
        let a = AllowedHosts::from_env(env(&[(ENV, "ghe.example.com, 127.0.0.1:8080")]))
            .and_operator_url("https://git.example.org/infra.git");
        assert!(a.check("https://ghe.example.com/api/v3", "x").is_ok());
        assert!(a.check("http://127.0.0.1:8080/x", "x").is_ok());
        assert!(a.check("http://127.0.0.1:9090/x", "x").is_err());
        assert!(a.check("https://git.example.org/other.git", "x").is_ok());
        assert!(a.check("file:///tmp/anywhere.git", "x").is_ok());
        assert!(a.check("not a url", "x").is_err());
    }
}

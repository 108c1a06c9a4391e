//! The `git:` section: where codify pushes its branches, against which base
//! branch, and as whom.

use schemars::JsonSchema;
use serde::Deserialize;

use super::ConfigError;
use crate::doc::Location;

/// Where codify pushes the branches it proposes.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGit {
    /// The remote to push to: a remote name of the repository, or a URL.
    /// Default `origin`.
    pub remote: Option<String>,
    /// The branch codify branches start from and propose into. Default `main`.
    pub base: Option<String>,
    /// Author and committer of codify commits, `Name <email>`. Default
    /// `driftsync <driftsync@example.com>`.
    pub author: Option<String>,
}

/// The validated `git:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSettings {
    pub remote: String,
    pub base: String,
    pub author_name: String,
    pub author_email: String,
}

impl Default for GitSettings {
    fn default() -> Self {
        GitSettings {
            remote: "origin".into(),
            base: "main".into(),
            author_name: "driftsync".into(),
            author_email: "driftsync@example.com".into(),
        }
    }
}

/// Checks the section; `at(key)` locates a key of it.
pub(super) fn compile(
    raw: Option<&RawGit>,
    file: &str,
    at: &dyn Fn(&str) -> Option<Location>,
) -> Result<GitSettings, ConfigError> {
    let mut s = GitSettings::default();
    let Some(raw) = raw else { return Ok(s) };
    if let Some(remote) = &raw.remote {
        if remote.trim().is_empty() || remote.contains(char::is_whitespace) {
            return Err(ConfigError::at(
                file,
                at("remote"),
                format!("\"{remote}\" is not a remote name or URL"),
            ));
        }
        s.remote = remote.clone();
    }
    if let Some(base) = &raw.base {
        if git2::Reference::is_valid_name(&format!("refs/heads/{base}"))
            && !base.starts_with("driftsync/codify/")
        {
            s.base = base.clone();
        } else {
            return Err(ConfigError::at(
                file,
                at("base"),
                format!("\"{base}\" is not a branch name codify can propose into"),
            ));
        }
    }
    if let Some(author) = &raw.author {
        let parsed = author
            .trim()
            .strip_suffix('>')
            .and_then(|a| a.split_once('<'))
            .map(|(name, email)| (name.trim(), email.trim()))
            .filter(|(name, email)| {
                !name.is_empty() && email.contains('@') && !email.contains(['<', '>', ' '])
            });
        let Some((name, email)) = parsed else {
            return Err(ConfigError::at(
                file,
                at("author"),
                format!("\"{author}\" is not `Name <email>`"),
            ));
        };
        s.author_name = name.to_string();
        s.author_email = email.to_string();
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, GitSettings};

    const HEAD: &str =
        "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: a, template: a.yaml}\n";

    #[test]
    fn the_git_section_has_defaults_and_reads_the_author() {
        let c = Config::parse(HEAD, "driftsync.yaml").unwrap();
        assert_eq!(c.git, GitSettings::default());
        let text = format!(
            "{HEAD}git:\n  remote: upstream\n  base: trunk\n  author: \"Infra Bot <infra@example.org>\"\n"
        );
        let c = Config::parse(&text, "driftsync.yaml").unwrap();
        assert_eq!(
            c.git,
            GitSettings {
                remote: "upstream".into(),
                base: "trunk".into(),
                author_name: "Infra Bot".into(),
                author_email: "infra@example.org".into(),
            }
        );
    }

    #[test]
    fn bad_git_settings_are_located_errors() {
        let err = |tail: &str| {
            Config::parse(&format!("{HEAD}git:\n{tail}"), "driftsync.yaml")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("  author: nobody\n"),
            "driftsync.yaml:6:11: \"nobody\" is not `Name <email>`"
        );
        assert!(err("  base: \"a..b\"\n").starts_with("driftsync.yaml:6:9: "));
        assert!(err("  bsae: main\n").starts_with("driftsync.yaml:6:3: unknown field `bsae`"));
    }
}

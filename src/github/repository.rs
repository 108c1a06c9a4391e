//! `owner/name`, checked before it becomes part of a request path.

use std::fmt;
use std::str::FromStr;

use super::GithubError;

/// A repository on GitHub, as `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    owner: String,
    name: String,
}

impl Repository {
    /// The user or organisation that owns the repository.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The repository's name, without its owner.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for Repository {
    type Err = GithubError;

    /// Reads `owner/name`. Owners are GitHub logins (letters, digits and
    /// single hyphens); names are letters, digits, `-`, `_` and `.`. Both end
    /// up in URL paths, so anything else is refused rather than escaped.
    fn from_str(s: &str) -> Result<Self, GithubError> {
        let invalid = |reason: &str| GithubError::InvalidRepository {
            value: s.to_string(),
            reason: reason.to_string(),
        };
        let (owner, name) = s
            .split_once('/')
            .ok_or_else(|| invalid("write it as owner/name, like acme/infra"))?;
        let owner_ok = (1..=39).contains(&owner.len())
            && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !owner.starts_with('-')
            && !owner.ends_with('-');
        if !owner_ok {
            return Err(invalid(
                "the owner is a GitHub login: letters, digits and hyphens, at most 39",
            ));
        }
        let name_ok = (1..=100).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && name != "."
            && name != "..";
        if !name_ok {
            return Err(invalid(
                "the name is letters, digits, '-', '_' and '.', at most 100",
            ));
        }
        Ok(Repository {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_and_name_are_read_from_owner_slash_name() {
        let r: Repository = "acme/infra.cfn_v2".parse().unwrap();
        assert_eq!((r.owner(), r.name()), ("acme", "infra.cfn_v2"));
        assert_eq!(r.to_string(), "acme/infra.cfn_v2");
    }

    #[test]
    fn anything_that_could_change_the_request_path_is_refused() {
        for bad in [
            "acme",
            "acme/",
            "/infra",
            "acme/infra/extra",
            "acme/..",
            "acme/in fra",
            "ac me/infra",
            "-acme/infra",
            "acme/infra?x=1",
            "acme/infra#x",
            "acme/%2e%2e",
        ] {
            let err = bad.parse::<Repository>().unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }
}

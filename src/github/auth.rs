//! Credentials from the environment: a token, or a GitHub App.

use octocrab::secrecy::{ExposeSecret, SecretString};

/// How driftsync authenticates to GitHub. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A personal access token, or the Actions `GITHUB_TOKEN`.
    Token(SecretString),
    /// A GitHub App: requests use a short-lived installation token, minted
    /// from the App's private key and scoped to the one repository.
    App {
        app_id: u64,
        private_key: SecretString,
        /// Found from the repository when not given.
        installation_id: Option<u64>,
    },
}

/// Why the environment's credentials are unusable. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error(
        "no GitHub credentials: set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for a GitHub App"
    )]
    Missing,
    #[error("{name} is set but {reason}")]
    InvalidVariable { name: &'static str, reason: String },
    #[error("the GitHub token has characters no token has (only visible ASCII)")]
    InvalidToken,
    #[error("GITHUB_APP_PRIVATE_KEY is not an RSA private key in PEM form: {reason}")]
    InvalidAppKey { reason: String },
}

impl Auth {
    /// Reads `GITHUB_APP_ID`, `GITHUB_APP_PRIVATE_KEY` (the PEM text; `\n`
    /// escapes are accepted for CI secrets stored on one line) and the
    /// optional `GITHUB_APP_INSTALLATION_ID`; without an App, `GITHUB_TOKEN`.
    /// An App wins when both are set, since it was configured on purpose.
    /// `var` looks a variable up (`|k| std::env::var(k).ok()`).
    ///
    /// # Errors
    /// [`AuthError::Missing`] without credentials; a half-configured App or
    /// an empty or malformed value names its variable (never its value).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Auth, AuthError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let app_id = get("GITHUB_APP_ID");
        let key = get("GITHUB_APP_PRIVATE_KEY");
        match (app_id, key) {
            (Some(id), Some(key)) => {
                let app_id = parse_id("GITHUB_APP_ID", &id)?;
                let installation_id = get("GITHUB_APP_INSTALLATION_ID")
                    .map(|v| parse_id("GITHUB_APP_INSTALLATION_ID", &v))
                    .transpose()?;
                let pem = if key.contains("\\n") && !key.contains('\n') {
                    key.replace("\\n", "\n")
                } else {
                    key
                };
                Ok(Auth::App {
                    app_id,
                    private_key: SecretString::from(pem),
                    installation_id,
                })
            }
            (Some(_), None) => Err(AuthError::InvalidVariable {
                name: "GITHUB_APP_ID",
                reason: "GITHUB_APP_PRIVATE_KEY is not; a GitHub App needs both".into(),
            }),
            (None, Some(_)) => Err(AuthError::InvalidVariable {
                name: "GITHUB_APP_PRIVATE_KEY",
                reason: "GITHUB_APP_ID is not; a GitHub App needs both".into(),
            }),
            (None, None) => match var("GITHUB_TOKEN") {
                Some(t) if t.trim().is_empty() => Err(AuthError::InvalidVariable {
                    name: "GITHUB_TOKEN",
                    reason: "empty".into(),
                }),
                Some(t) => {
                    let token = SecretString::from(t.trim().to_string());
                    check_token(&token)?;
                    Ok(Auth::Token(token))
                }
                None => Err(AuthError::Missing),
            },
        }
    }

    /// The App's signing key, checked before any request is made.
    pub(super) fn encoding_key(
        private_key: &SecretString,
    ) -> Result<octocrab::EncodingKey, AuthError> {
        octocrab::EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes()).map_err(|e| {
            AuthError::InvalidAppKey {
                reason: e.to_string(),
            }
        })
    }
}

/// Tokens go into an HTTP header; a control character there would make
/// the HTTP client panic rather than fail.
pub(super) fn check_token(token: &SecretString) -> Result<(), AuthError> {
    let t = token.expose_secret();
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(AuthError::InvalidToken)
    }
}

fn parse_id(name: &'static str, value: &str) -> Result<u64, AuthError> {
    value
        .trim()
        .parse()
        .map_err(|_| AuthError::InvalidVariable {
            name,
            reason: "is not a number".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_token_comes_from_github_token_and_debug_never_shows_it() {
        let auth = Auth::from_env(env(&[("GITHUB_TOKEN", "ghp_s3cr3tvalue\n")])).unwrap();
        let Auth::Token(t) = &auth else {
            panic!("{auth:?}")
        };
        assert_eq!(t.expose_secret(), "ghp_s3cr3tvalue");
        assert!(!format!("{auth:?}").contains("s3cr3t"));
    }

    #[test]
    fn an_app_wins_over_a_token_and_one_line_keys_get_their_newlines_back() {
        let auth = Auth::from_env(env(&[
            ("GITHUB_TOKEN", "ghp_x"),
            ("GITHUB_APP_ID", "42"),
            (
                "GITHUB_APP_PRIVATE_KEY",
                "-----BEGIN X-----\\nabc\\n-----END X-----",
            ),
            ("GITHUB_APP_INSTALLATION_ID", "7"),
        ]))
        .unwrap();
        let Auth::App {
            app_id,
            private_key,
            installation_id,
        } = &auth
        else {
            panic!("{auth:?}")
        };
        assert_eq!((*app_id, *installation_id), (42, Some(7)));
        assert_eq!(
            private_key.expose_secret(),
            "-----BEGIN X-----\nabc\n-----END X-----"
        );
        assert!(!format!("{auth:?}").contains("abc"));
    }

    #[test]
    fn missing_half_configured_and_malformed_credentials_name_the_variable_not_the_value() {
        assert_eq!(Auth::from_env(env(&[])).unwrap_err(), AuthError::Missing);
        let half = Auth::from_env(env(&[("GITHUB_APP_ID", "42")])).unwrap_err();
        assert!(
            half.to_string().starts_with("GITHUB_APP_ID is set"),
            "{half}"
        );
        let bad = Auth::from_env(env(&[
            ("GITHUB_APP_ID", "forty-two"),
            ("GITHUB_APP_PRIVATE_KEY", "k3y"),
        ]))
        .unwrap_err()
        .to_string();
        assert_eq!(bad, "GITHUB_APP_ID is set but is not a number");
        let key = Auth::encoding_key(&SecretString::from("not-a-pem-s3cr3t")).unwrap_err();
        assert!(!key.to_string().contains("s3cr3t"), "{key}");
        let odd = Auth::from_env(env(&[("GITHUB_TOKEN", "ghp_a\nb")])).unwrap_err();
        assert_eq!(odd, AuthError::InvalidToken);
        let empty = Auth::from_env(env(&[("GITHUB_TOKEN", " ")])).unwrap_err();
        assert_eq!(empty.to_string(), "GITHUB_TOKEN is set but empty");
    }
}

//! SSH signatures (git's `gpg.format=ssh`) against an allowed-signers file,
//! as `ssh-keygen -Y verify` reads it: `principals [options] keytype key
//! [comment]` per line, with the `namespaces`, `valid-after` and
//! `valid-before` options honoured (`cert-authority` is refused).

use std::path::Path;
use std::time::SystemTime;

use ssh_key::{HashAlg, PublicKey, SshSig};

use super::{Signer, TrustError, shown};

/// The namespace git signs commits in.
const NAMESPACE: &str = "git";

/// One line of the file.
pub(super) struct AllowedSigner {
    principals: String,
    key: PublicKey,
    namespaces: Option<Vec<String>>,
    valid_after: Option<SystemTime>,
    valid_before: Option<SystemTime>,
}

/// Parses an allowed-signers file.
pub(super) fn parse(path: &Path, text: &str) -> Result<Vec<AllowedSigner>, TrustError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let column = line.len() - trimmed.len() + 1;
        let at = |message: String| TrustError::KeyFile {
            path: shown(path),
            line: n + 1,
            column,
            message,
        };
        let tokens = tokenize(trimmed);
        let Some((principals, rest)) = tokens.split_first() else {
            continue;
        };
        let (options, key) = match rest.first() {
            Some(t) if is_key_type(t) => (None, rest),
            Some(t) => (Some(t.as_str()), &rest[1..]),
            None => return Err(at("a principal without a key".into())),
        };
        let key_text = key.join(" ");
        let key = PublicKey::from_openssh(&key_text)
            .map_err(|e| at(format!("not an SSH public key: {e}")))?;
        let mut signer = AllowedSigner {
            principals: principals.clone(),
            key,
            namespaces: None,
            valid_after: None,
            valid_before: None,
        };
        for option in options.map(split_options).unwrap_or_default() {
            let (name, value) = option.split_once('=').unwrap_or((&option, ""));
            let value = value.trim_matches('"');
            match name.to_ascii_lowercase().as_str() {
                "namespaces" => {
                    signer.namespaces = Some(value.split(',').map(String::from).collect());
                }
                "valid-after" => signer.valid_after = Some(time(value).map_err(at)?),
                "valid-before" => signer.valid_before = Some(time(value).map_err(at)?),
                "cert-authority" => {
                    return Err(at("cert-authority lines are not supported".into()));
                }
                other => return Err(at(format!("unknown option {other:?}"))),
            }
        }
        out.push(signer);
    }
    Ok(out)
}

/// Verifies an armored SSH signature over `signed`.
pub(super) fn verify(
    signers: &[AllowedSigner],
    commit: &str,
    armored: &str,
    signed: &[u8],
    now: SystemTime,
) -> Result<Signer, TrustError> {
    let sig = SshSig::from_pem(armored.trim()).map_err(|e| TrustError::Malformed {
        commit: commit.to_string(),
        message: e.to_string(),
    })?;
    let key = PublicKey::from(sig.public_key().clone());
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    let Some(signer) = signers.iter().find(|s| s.key.key_data() == key.key_data()) else {
        return Err(TrustError::Untrusted {
            commit: commit.to_string(),
            signer: format!("ssh key {fingerprint}"),
        });
    };
    let who = Signer {
        kind: "ssh",
        identity: signer.principals.clone(),
        fingerprint,
    };
    let bad = |why: String| TrustError::BadSignature {
        commit: commit.to_string(),
        signer: who.to_string(),
        why,
    };
    if sig.namespace() != NAMESPACE {
        return Err(bad(format!(
            "it is in namespace {:?}, not git's",
            sig.namespace()
        )));
    }
    if let Some(ns) = &signer.namespaces
        && !ns.iter().any(|n| n == NAMESPACE)
    {
        return Err(TrustError::Untrusted {
            commit: commit.to_string(),
            signer: format!("{who}, allowed only for namespaces {}", ns.join(",")),
        });
    }
    signer
        .key
        .verify(NAMESPACE, signed, &sig)
        .map_err(|e| bad(e.to_string()))?;
    let expired = |why: String| TrustError::Expired {
        commit: commit.to_string(),
        signer: who.to_string(),
        why,
    };
    if signer.valid_before.is_some_and(|t| now >= t) {
        return Err(expired("is valid only before its valid-before time".into()));
    }
    if signer.valid_after.is_some_and(|t| now < t) {
        return Err(expired("is not valid yet (valid-after)".into()));
    }
    Ok(who)
}

fn is_key_type(token: &str) -> bool {
    token.starts_with("ssh-") || token.starts_with("ecdsa-") || token.starts_with("sk-")
}

/// Splits a line on whitespace outside double quotes.
fn tokenize(line: &str) -> Vec<String> {
    split_unquoted(line, char::is_whitespace)
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect()
}

/// Splits `a="x,y",b` on commas outside quotes.
fn split_options(options: &str) -> Vec<String> {
    split_unquoted(options, |c| c == ',')
}

/// Splits `text` at each separator outside double quotes (kept in the parts).
fn split_unquoted(text: &str, is_separator: impl Fn(char) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if is_separator(c) && !quoted {
            out.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    out.push(current);
    out
}

/// `YYYYMMDD[HHMM[SS]][Z]`, as ssh-keygen writes times; UTC either way
/// (driftsync has no local time zone to assume).
fn time(text: &str) -> Result<SystemTime, String> {
    let digits = text.trim_end_matches(['Z', 'z']);
    let bad = || format!("not a time (YYYYMMDD[HHMM[SS]]): {text:?}");
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return Err(bad());
    }
    let part = |a: usize, b: usize| digits.get(a..b).unwrap_or("00");
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        part(0, 4),
        part(4, 6),
        part(6, 8),
        part(8, 10),
        part(10, 12),
        part(12, 14)
    );
    humantime::parse_rfc3339(&rfc).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_options_and_times_parse_as_ssh_keygen_writes_them() {
        assert_eq!(
            tokenize(r#"a@x namespaces="git,file" ssh-ed25519 AAAA c"#),
            [
                "a@x",
                r#"namespaces="git,file""#,
                "ssh-ed25519",
                "AAAA",
                "c"
            ]
        );
        assert_eq!(
            split_options(r#"namespaces="git,file",valid-before=20300101"#),
            [r#"namespaces="git,file""#, "valid-before=20300101"]
        );
        let t = |s| time(s).map(|t| humantime::format_rfc3339_seconds(t).to_string());
        assert_eq!(t("20300101").unwrap(), "2030-01-01T00:00:00Z");
        assert_eq!(t("203001021530Z").unwrap(), "2030-01-02T15:30:00Z");
        assert!(t("2030-01-01").is_err());
        assert!(t("20301301").is_err());
    }
}

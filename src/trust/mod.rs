//! Commit verification: whether a revision's commit is signed by a key the
//! operator trusts. The keys come from where driftsync runs
//! (`--verify-commits`, `DRIFTSYNC_VERIFY_COMMITS`), never from the
//! repository, so a repository can neither switch its check off nor vouch
//! for itself.
//!
//! Two kinds of key, as git signs with them: SSH keys listed in an
//! allowed-signers file (the format of `gpg.ssh.allowedSignersFile`), and
//! OpenPGP public keys (an armored keyring, as `gpg --export --armor`
//! writes it).
//!
//! Pure: it judges a signature and the bytes it signs (which `source` reads
//! from git) against the key files' text; it reads no git, and the time is
//! passed in.

mod allowed_signers;
mod openpgp;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use allowed_signers::AllowedSigner;

/// The keys commits must be signed with.
pub struct TrustedKeys {
    ssh: Vec<AllowedSigner>,
    pgp: Vec<pgp::composed::SignedPublicKey>,
}

/// Who signed a verified commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// `ssh` or `openpgp`.
    pub kind: &'static str,
    /// The allowed-signers principal, or the key's first user id.
    pub identity: String,
    /// `SHA256:…` for SSH keys, the hex fingerprint for OpenPGP.
    pub fingerprint: String,
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} key {})",
            self.identity, self.kind, self.fingerprint
        )
    }
}

/// Why trusted keys could not be loaded, or a commit is not trusted.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read the trusted keys {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}:{line}:{column}: {message}")]
    KeyFile {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: no keys found (an allowed-signers file or an armored OpenPGP keyring)")]
    NoKeys { path: PathBuf },
    #[error("commit {commit} is not signed, and --verify-commits requires a trusted signature")]
    Unsigned { commit: String },
    #[error("commit {commit} has a signature driftsync cannot read: {message}")]
    Malformed { commit: String, message: String },
    #[error("commit {commit} is signed by {signer}, which is not among the trusted keys")]
    Untrusted { commit: String, signer: String },
    #[error("commit {commit}: the signature by {signer} does not match the commit: {why}")]
    BadSignature {
        commit: String,
        signer: String,
        why: String,
    },
    #[error("commit {commit} is signed by {signer}, whose key {why}")]
    Expired {
        commit: String,
        signer: String,
        why: String,
    },
}

impl TrustedKeys {
    /// Loads each file: an armored OpenPGP keyring, or an allowed-signers
    /// file.
    ///
    /// # Errors
    /// An unreadable file, a malformed line (located), or a file with no key.
    pub fn load(paths: &[PathBuf]) -> Result<TrustedKeys, TrustError> {
        let mut keys = TrustedKeys {
            ssh: Vec::new(),
            pgp: Vec::new(),
        };
        for path in paths {
            let text = std::fs::read_to_string(path).map_err(|e| TrustError::Read {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let before = keys.ssh.len() + keys.pgp.len();
            if text.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
                keys.pgp.extend(openpgp::keyring(path, &text)?);
            } else {
                keys.ssh.extend(allowed_signers::parse(path, &text)?);
            }
            if keys.ssh.len() + keys.pgp.len() == before {
                return Err(TrustError::NoKeys { path: path.clone() });
            }
        }
        Ok(keys)
    }

    /// Whether `signature` (git's `gpgsig` header) over `signed` (the
    /// commit without it) is by a trusted key, valid at `now`.
    ///
    /// # Errors
    /// Unsigned, unreadable, untrusted, not matching, or expired.
    pub fn verify(
        &self,
        commit: &str,
        signature: Option<&[u8]>,
        signed: &[u8],
        now: SystemTime,
    ) -> Result<Signer, TrustError> {
        let Some(signature) = signature else {
            return Err(TrustError::Unsigned {
                commit: commit.to_string(),
            });
        };
        let text = String::from_utf8_lossy(signature);
        if text.contains("-----BEGIN SSH SIGNATURE-----") {
            allowed_signers::verify(&self.ssh, commit, &text, signed, now)
        } else if text.contains("-----BEGIN PGP SIGNATURE-----") {
            openpgp::verify(&self.pgp, commit, &text, signed, now)
        } else {
            Err(TrustError::Malformed {
                commit: commit.to_string(),
                message: "neither an SSH nor an OpenPGP signature (X.509 is not supported)".into(),
            })
        }
    }
}

/// `path` shown in errors.
fn shown(path: &Path) -> PathBuf {
    path.to_path_buf()
}

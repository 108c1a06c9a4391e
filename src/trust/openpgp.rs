//! OpenPGP signatures (git's default `gpg.format`) against armored public
//! keys. The signature must be by the primary key or a subkey of a trusted
//! key, and that key must not have expired (its self-signature's key
//! expiration time) by now.

use std::path::Path;
use std::time::{Duration, SystemTime};

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;

use super::{Signer, TrustError, shown};

/// The keys of an armored keyring.
pub(super) fn keyring(path: &Path, text: &str) -> Result<Vec<SignedPublicKey>, TrustError> {
    let bad = |message: String| {
        let line = text
            .lines()
            .position(|l| l.contains("BEGIN PGP PUBLIC KEY BLOCK"))
            .map_or(1, |n| n + 1);
        TrustError::KeyFile {
            path: shown(path),
            line,
            column: 1,
            message,
        }
    };
    let (keys, _) =
        SignedPublicKey::from_string_many(text).map_err(|e| bad(format!("not OpenPGP: {e}")))?;
    keys.map(|k| k.map_err(|e| bad(format!("a key does not parse: {e}"))))
        .collect()
}

/// Verifies an armored detached signature over `signed`.
pub(super) fn verify(
    keys: &[SignedPublicKey],
    commit: &str,
    armored: &str,
    signed: &[u8],
    now: SystemTime,
) -> Result<Signer, TrustError> {
    let (sig, _) = DetachedSignature::from_string(armored).map_err(|e| TrustError::Malformed {
        commit: commit.to_string(),
        message: e.to_string(),
    })?;
    let issuers: Vec<String> = sig
        .signature
        .issuer_fingerprint()
        .iter()
        .map(|f| format!("{f:X}"))
        .collect();
    let ids: Vec<String> = sig
        .signature
        .issuer_key_id()
        .iter()
        .map(|k| k.to_string().to_uppercase())
        .collect();
    let named =
        |fingerprint: String, id: String| issuers.contains(&fingerprint) || ids.contains(&id);
    for key in keys {
        let primary = &key.primary_key;
        let who = Signer {
            kind: "openpgp",
            identity: key
                .details
                .users
                .first()
                .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
                .unwrap_or_else(|| "(no user id)".into()),
            fingerprint: format!("{:X}", primary.fingerprint()),
        };
        let verified = if named(
            format!("{:X}", primary.fingerprint()),
            primary.legacy_key_id().to_string().to_uppercase(),
        ) {
            Some(sig.verify(primary, signed))
        } else {
            key.public_subkeys
                .iter()
                .find(|s| {
                    named(
                        format!("{:X}", s.key.fingerprint()),
                        s.key.legacy_key_id().to_string().to_uppercase(),
                    )
                })
                .map(|s| sig.verify(&s.key, signed))
        };
        let Some(verified) = verified else { continue };
        verified.map_err(|e| TrustError::BadSignature {
            commit: commit.to_string(),
            signer: who.to_string(),
            why: e.to_string(),
        })?;
        if let Some(end) = expires(key)
            && now >= end
        {
            return Err(TrustError::Expired {
                commit: commit.to_string(),
                signer: who.to_string(),
                why: format!("expired at {}", humantime::format_rfc3339_seconds(end)),
            });
        }
        return Ok(who);
    }
    let signer = issuers.first().or(ids.first()).map_or_else(
        || "an unnamed key".to_string(),
        |k| format!("OpenPGP key {k}"),
    );
    Err(TrustError::Untrusted {
        commit: commit.to_string(),
        signer,
    })
}

/// When the primary key expires: its creation time plus the key expiration
/// time of its newest self-signature that sets one.
fn expires(key: &SignedPublicKey) -> Option<SystemTime> {
    let created: SystemTime = key.primary_key.created_at().into();
    key.details
        .users
        .iter()
        .flat_map(|u| &u.signatures)
        .chain(&key.details.direct_signatures)
        .filter_map(|s| Some((s.created()?, s.key_expiration_time()?)))
        .max_by_key(|(at, _)| at.as_secs())
        .and_then(|(_, validity)| {
            let validity = Duration::from(validity);
            (validity > Duration::ZERO).then(|| created + validity)
        })
}

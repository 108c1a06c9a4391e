//! The `artifacts:` setting (in `defaults` and on a stack): the S3 bucket a
//! template too large to send inline is uploaded to before it is deployed.

use schemars::JsonSchema;
use serde::Deserialize;

/// Where templates over CloudFormation's 51,200-byte inline limit are
/// uploaded (as `aws cloudformation deploy --s3-bucket` does). A stack's own
/// settings win, key by key, over those in `defaults`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawArtifacts {
    /// The S3 bucket, in the stack's account. CloudFormation reads the
    /// template with the caller's credentials.
    pub bucket: Option<String>,
    /// Key prefix, e.g. `cloudformation/web`; the key is
    /// `<prefix>/<sha256 of the template>.template`.
    pub prefix: Option<String>,
    /// A KMS key ARN: encrypt with SSE-KMS instead of SSE-S3 (AES256).
    pub kms_key_id: Option<String>,
    /// Upload every template, not only those over 51,200 bytes.
    pub always: Option<bool>,
}

/// A stack's resolved `artifacts` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifacts {
    pub bucket: String,
    pub prefix: Option<String>,
    pub kms_key_id: Option<String>,
    pub always: bool,
}

/// The stack's settings over the defaults; `None` when neither has any.
/// Errors name the key at fault.
pub(super) fn resolve(
    defaults: Option<&RawArtifacts>,
    own: Option<&RawArtifacts>,
) -> Result<Option<Artifacts>, (&'static str, String)> {
    if defaults.is_none() && own.is_none() {
        return Ok(None);
    }
    let pick =
        |f: fn(&RawArtifacts) -> Option<String>| own.and_then(f).or_else(|| defaults.and_then(f));
    let bucket = pick(|a| a.bucket.clone()).ok_or((
        "bucket",
        "`artifacts` needs a `bucket` (on the stack or in `defaults.artifacts`)".to_string(),
    ))?;
    check_bucket(&bucket).map_err(|m| ("bucket", m))?;
    let prefix = pick(|a| a.prefix.clone());
    if let Some(p) = &prefix {
        check_prefix(p).map_err(|m| ("prefix", m))?;
    }
    let kms_key_id = pick(|a| a.kms_key_id.clone());
    if let Some(k) = &kms_key_id {
        check_kms_key(k).map_err(|m| ("kms_key_id", m))?;
    }
    let always = own
        .and_then(|a| a.always)
        .or_else(|| defaults.and_then(|a| a.always))
        .unwrap_or(false);
    Ok(Some(Artifacts {
        bucket,
        prefix,
        kms_key_id,
        always,
    }))
}

/// S3's bucket naming rules for general purpose buckets.
fn check_bucket(name: &str) -> Result<(), String> {
    let ok = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{name}\" is not an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit"
        ))
    }
}

/// Letters, digits and `-_.` in `/`-separated segments: S3's safe key
/// characters, so the key needs no encoding in a URL or a signature.
fn check_prefix(prefix: &str) -> Result<(), String> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 512
        && prefix.split('/').all(|s| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{prefix}\" is not a usable key prefix: letters, digits, '-', '_' and '.' in segments separated by single '/', without a leading or trailing '/'"
        ))
    }
}

fn check_kms_key(key: &str) -> Result<(), String> {
    let parts: Vec<&str> = key.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "kms"
        && (parts[5].starts_with("key/") || parts[5].starts_with("alias/"));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{key}\" is not a KMS key ARN (arn:aws:kms:us-east-1:123456789012:key/ID); an ARN lets the IAM policy name the key"
        ))
    }
}

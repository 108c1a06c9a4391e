//! Templates too large to send inline, as `aws cloudformation deploy
//! --s3-bucket` handles them: uploaded to the stack's `artifacts` bucket under
//! a content-addressed key (`<prefix>/<sha256>.template`, so a template is
//! stored once however often it is deployed), encrypted at rest, and passed
//! to CloudFormation as `TemplateURL`.
//!
//! The upload is one SigV4-signed S3 PutObject sent on the HTTP stack the AWS
//! crates already build (see docs/dependencies.md), with the credentials,
//! region and endpoint (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`) of the
//! stack's other clients. [`route`] is pure: `plan` uses it to refuse a
//! template that cannot be deployed before any AWS call.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_smithy_runtime_api::client::identity::Identity;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};

use super::RemediateError;
use crate::config::Artifacts;
use crate::live::Clients;

/// CloudFormation's limit on `TemplateBody` (the CloudFormation quotas page).
pub const MAX_TEMPLATE_BODY: usize = 51_200;
/// CloudFormation's limit on a template read from S3 ("1 MB"; cfn-lint's
/// reading, 1,000,000 bytes, the conservative one).
pub const MAX_TEMPLATE_URL: usize = 1_000_000;

/// How a template reaches CloudFormation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `TemplateBody`.
    Inline,
    /// Uploaded to the artifacts bucket, then `TemplateURL`.
    Upload,
}

/// Why a template cannot reach CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} bytes, over {} bytes, {how}", thousands(*.size), thousands(*.limit))]
pub struct TooLarge {
    pub size: usize,
    pub limit: usize,
    pub how: &'static str,
}

/// How a template of `size` bytes is deployed, or why it cannot be.
///
/// # Errors
/// [`TooLarge`], naming the size, the limit and what to set.
pub fn route(size: usize, artifacts: Option<&Artifacts>) -> Result<Route, TooLarge> {
    if size > MAX_TEMPLATE_URL {
        return Err(TooLarge {
            size,
            limit: MAX_TEMPLATE_URL,
            how: "the limit for a template in S3 (1 MB); split it into nested stacks",
        });
    }
    match artifacts {
        Some(a) if a.always || size > MAX_TEMPLATE_BODY => Ok(Route::Upload),
        Some(_) => Ok(Route::Inline),
        None if size > MAX_TEMPLATE_BODY => Err(TooLarge {
            size,
            limit: MAX_TEMPLATE_BODY,
            how: "the limit for a template sent inline; set `artifacts: {bucket: NAME}` (in `defaults` or on the stack) to upload it to S3 and deploy it from there",
        }),
        None => Ok(Route::Inline),
    }
}

/// `51200` as `51,200`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The object key: `<prefix>/<sha256 of the template>.template`.
pub fn key(artifacts: &Artifacts, template: &str) -> String {
    let hex: String = Sha256::digest(template.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    match artifacts.prefix.as_deref() {
        Some(p) => format!("{p}/{hex}.template"),
        None => format!("{hex}.template"),
    }
}

/// The object's URL, for the upload and as `TemplateURL`: path-style on a
/// configured endpoint (as the AWS CLI builds it), else AWS's virtual-hosted
/// style (path-style for bucket names with dots, which TLS cannot host).
pub fn object_url(endpoint: Option<&str>, region: &str, bucket: &str, key: &str) -> String {
    match endpoint {
        Some(e) => format!("{}/{bucket}/{key}", e.trim_end_matches('/')),
        None => {
            let domain = if region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            if bucket.contains('.') {
                format!("https://s3.{region}.{domain}/{bucket}/{key}")
            } else {
                format!("https://{bucket}.s3.{region}.{domain}/{key}")
            }
        }
    }
}

/// The S3 endpoint the stack's clients are configured with, if any:
/// `AWS_ENDPOINT_URL_S3` (or a profile's S3 `endpoint_url`), then the
/// global one, as the SDK resolves it.
fn configured_endpoint(clients: &Clients) -> Option<String> {
    use aws_types::service_config::ServiceConfigKey;
    let sdk = &clients.sdk;
    let key = ServiceConfigKey::builder()
        .service_id("s3")
        .env("AWS_ENDPOINT_URL_S3")
        .profile("endpoint_url")
        .build()
        .ok()?;
    sdk.service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| sdk.endpoint_url().map(String::from))
}

/// How long one upload may take, all attempts together.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);
const ATTEMPTS: u32 = 3;

/// Uploads `template` for `stack` (idempotent: the key is its digest) and
/// returns the URL to pass as `TemplateURL`.
///
/// # Errors
/// [`RemediateError::Upload`] with S3's error code and message.
pub async fn upload(
    clients: &Clients,
    stack: &str,
    artifacts: &Artifacts,
    template: &str,
) -> Result<String, RemediateError> {
    let key = key(artifacts, template);
    let url = object_url(
        configured_endpoint(clients).as_deref(),
        &clients.region,
        &artifacts.bucket,
        &key,
    );
    let failed = |message: String| RemediateError::Upload {
        stack: stack.to_string(),
        bucket: artifacts.bucket.clone(),
        key: key.clone(),
        message,
    };
    let attempts = async {
        let mut wait = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            match put(clients, artifacts, &url, template.as_bytes()).await {
                Ok(()) => return Ok(()),
                Err((retryable, message)) if !retryable || attempt == ATTEMPTS => {
                    return Err(message);
                }
                Err((_, message)) => {
                    tracing::warn!(%stack, %message, attempt, "template upload failed; retrying");
                }
            }
            attempt += 1;
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    };
    match tokio::time::timeout(UPLOAD_TIMEOUT, attempts).await {
        Ok(Ok(())) => Ok(url),
        Ok(Err(message)) => Err(failed(message)),
        Err(_) => Err(failed(format!(
            "no answer within {}s",
            UPLOAD_TIMEOUT.as_secs()
        ))),
    }
}

/// One signed PutObject; the error says whether another attempt may help.
async fn put(
    clients: &Clients,
    artifacts: &Artifacts,
    url: &str,
    body: &[u8],
) -> Result<(), (bool, String)> {
    let provider = clients
        .sdk
        .credentials_provider()
        .ok_or((false, "no AWS credentials are configured".to_string()))?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| (false, format!("cannot load AWS credentials: {e}")))?;
    let identity: Identity = credentials.into();
    let mut headers: Vec<(&str, &str)> = vec![("content-type", "application/octet-stream")];
    match artifacts.kms_key_id.as_deref() {
        Some(kms) => {
            headers.push(("x-amz-server-side-encryption", "aws:kms"));
            headers.push(("x-amz-server-side-encryption-aws-kms-key-id", kms));
        }
        None => headers.push(("x-amz-server-side-encryption", "AES256")),
    }
    // S3 signs the path as sent (no double encoding or normalisation) and
    // needs the payload's digest in `x-amz-content-sha256`.
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&clients.region)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| (false, format!("cannot sign the upload: {e}")))?
        .into();
    let signable = SignableRequest::new(
        "PUT",
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| (false, format!("cannot sign the upload: {e}")))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| (false, format!("cannot sign the upload: {e}")))?
        .into_parts();
    let mut request = http::Request::builder().method("PUT").uri(url);
    for (name, value) in &headers {
        request = request.header(*name, *value);
    }
    let mut request = request
        .body(Full::new(bytes::Bytes::copy_from_slice(body)))
        .map_err(|e| (false, format!("bad upload request: {e}")))?;
    instructions.apply_to_request_http1x(&mut request);

    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| {
            (
                false,
                format!("cannot load the system's CA certificates: {e}"),
            )
        })?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<bytes::Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    let response = client
        .request(request)
        .await
        .map_err(|e| (true, format!("cannot reach S3: {e}")))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let code = xml_field(&text, "Code").unwrap_or_else(|| status.as_str().to_string());
    let message = xml_field(&text, "Message").unwrap_or_default();
    let retryable = status.is_server_error() || code == "SlowDown" || code == "RequestTimeout";
    Err((retryable, format!("{code}: {message} (HTTP {status})")))
}

/// The text of the first `<name>` element of an S3 error document.
fn xml_field(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifacts(prefix: Option<&str>, always: bool) -> Artifacts {
        Artifacts {
            bucket: "deploy-artifacts".into(),
            prefix: prefix.map(String::from),
            kms_key_id: None,
            always,
        }
    }

    #[test]
    fn small_templates_go_inline_large_ones_to_s3_and_neither_past_one_megabyte() {
        let a = artifacts(None, false);
        assert_eq!(route(51_200, None).unwrap(), Route::Inline);
        assert_eq!(route(51_200, Some(&a)).unwrap(), Route::Inline);
        assert_eq!(route(51_201, Some(&a)).unwrap(), Route::Upload);
        assert_eq!(
            route(10, Some(&artifacts(None, true))).unwrap(),
            Route::Upload
        );
        let e = route(51_201, None).unwrap_err().to_string();
        assert!(
            e.contains("51,201 bytes") && e.contains("51,200") && e.contains("artifacts:"),
            "{e}"
        );
        let e = route(1_000_001, Some(&a)).unwrap_err().to_string();
        assert!(
            e.contains("1,000,001 bytes") && e.contains("1,000,000"),
            "{e}"
        );
    }

    #[test]
    fn the_key_is_the_templates_digest_under_the_prefix() {
        let digest = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert_eq!(
            key(&artifacts(None, false), "hello"),
            format!("{digest}.template")
        );
        assert_eq!(
            key(&artifacts(Some("cfn/web"), false), "hello"),
            format!("cfn/web/{digest}.template")
        );
    }

    #[test]
    fn urls_are_path_style_on_an_endpoint_and_virtual_hosted_on_aws() {
        assert_eq!(
            object_url(
                Some("http://127.0.0.1:4566/"),
                "us-east-1",
                "b",
                "k.template"
            ),
            "http://127.0.0.1:4566/b/k.template"
        );
        assert_eq!(
            object_url(None, "eu-west-1", "b", "p/k.template"),
            "https://b.s3.eu-west-1.amazonaws.com/p/k.template"
        );
        assert_eq!(
            object_url(None, "cn-north-1", "my.bucket", "k"),
            "https://s3.cn-north-1.amazonaws.com.cn/my.bucket/k"
        );
    }

    #[test]
    fn s3_error_documents_give_their_code_and_message() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert_eq!(xml_field(xml, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(xml_field(xml, "Message").as_deref(), Some("Access Denied"));
        assert_eq!(xml_field("", "Code"), None);
    }
}

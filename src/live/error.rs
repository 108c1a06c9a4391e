//! AWS failures in words: which operation, for which stack, where (region
//! and endpoint), and why ("connection refused", "no credentials found", a
//! non-AWS answer, AccessDenied with the IAM action driftsync needs), with
//! AWS's request id when it gave one. The SDK's full error chain is logged
//! at `-v` (info), never put in the message: it can be long, and it is the
//! SDK's wording, not ours.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::Clients;

/// Why live state could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    #[error("cannot assume {role_arn}: {message}")]
    AssumeRole { role_arn: String, message: String },
    #[error("{operation} for stack {stack}{} failed: {}{}", paren(place), cause(code, message), request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
    Api {
        operation: &'static str,
        stack: String,
        /// The region, and the endpoint when one is configured.
        place: Box<str>,
        /// AWS's error code, or driftsync's name for a failure before one
        /// (`ConnectionRefused`, `NoCredentials`, `NotAws`, ...).
        code: String,
        message: String,
        request_id: Option<Box<str>>,
        retryable: bool,
    },
    #[error("drift detection for stack {stack} failed: {reason}")]
    DetectionFailed { stack: String, reason: String },
    #[error("drift detection for stack {stack} did not finish within {seconds} s")]
    DetectionTimedOut { stack: String, seconds: u64 },
    #[error("{what} for stack {stack} is not valid JSON: {message}")]
    BadJson {
        what: &'static str,
        stack: String,
        message: String,
    },
}

/// ` (text)`, or nothing for no text.
fn paren(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(" ({text})")
    }
}

/// `code: message` for AWS's own errors; our words alone for the rest.
fn cause(code: &str, message: &str) -> String {
    match code {
        "ConnectionRefused" | "NoCredentials" | "NotAws" | "BadEndpoint" | "Timeout"
        | "Dispatch" | "Build" => message.to_string(),
        _ if message.is_empty() => code.to_string(),
        _ => format!("{code}: {message}"),
    }
}

impl LiveError {
    /// Whether a later attempt could succeed (throttling, a 5xx, a timeout).
    pub fn is_retryable(&self) -> bool {
        match self {
            LiveError::Api { retryable, .. } => *retryable,
            LiveError::DetectionTimedOut { .. } => true,
            _ => false,
        }
    }

    /// A request that could not be built (a missing required field).
    pub fn build(operation: &'static str, stack: &str, e: impl std::fmt::Display) -> LiveError {
        LiveError::Api {
            operation,
            stack: stack.to_string(),
            place: "".into(),
            code: "Build".into(),
            message: e.to_string(),
            request_id: None,
            retryable: false,
        }
    }

    /// The same failure, told for another stack that shared the call (one
    /// DescribeStacks per region answers for all of its stacks).
    pub fn for_stack(&self, name: &str) -> String {
        match self {
            LiveError::Api {
                operation,
                stack,
                place,
                code,
                message,
                request_id,
                retryable,
            } if stack != name => LiveError::Api {
                operation,
                stack: name.to_string(),
                place: place.clone(),
                code: code.clone(),
                message: message.clone(),
                request_id: request_id.clone(),
                retryable: *retryable,
            }
            .to_string(),
            other => other.to_string(),
        }
    }
}

/// Turns an SDK error into a [`LiveError::Api`] in words, keeping AWS's
/// error code and request id.
pub fn api_error<E>(
    clients: &Clients,
    operation: &'static str,
    stack: &str,
    e: SdkError<E, HttpResponse>,
) -> LiveError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    tracing::info!(operation, stack, place = %clients.place, error = %chain(&e), "AWS call failed");
    let (code, message, request_id) = match &e {
        SdkError::ServiceError(s) => match s.err().code() {
            Some(code) => (
                code.to_string(),
                with_needed_action(code, operation, s.err().message().unwrap_or_default()),
                s.err().meta().extra("aws_request_id").map(Box::from),
            ),
            None => not_aws(s.raw()),
        },
        SdkError::ResponseError(r) => not_aws(r.raw()),
        SdkError::TimeoutError(_) => ("Timeout".into(), "the request timed out".into(), None),
        other => {
            let (code, message) = dispatch_cause(other);
            (code.into(), message, None)
        }
    };
    let retryable = matches!(e, SdkError::TimeoutError(_))
        || code == "ConnectionRefused"
        || code == "Dispatch"
        || code.contains("Throttl")
        || code == "RequestLimitExceeded"
        || code.starts_with("InternalFailure")
        || code == "ServiceUnavailable";
    let message = if retryable {
        format!(
            "{message} {}",
            super::resilience::gave_up(|k| std::env::var(k).ok())
        )
    } else {
        message
    };
    LiveError::Api {
        operation,
        stack: stack.to_string(),
        place: clients.place.as_str().into(),
        code,
        message,
        request_id,
        retryable,
    }
}

/// The error and its causes, one Display each: never Debug, which can hold
/// a request body (parameter values) or a response body.
pub(super) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        // The SDK's endpoint errors print the whole request after this.
        let text = text
            .split(" to request `")
            .next()
            .unwrap_or_default()
            .to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// An answer that is not an AWS error: the status, and what the body is.
fn not_aws(raw: &HttpResponse) -> (String, String, Option<Box<str>>) {
    let kind = raw
        .headers()
        .get("content-type")
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    let message = format!(
        "the endpoint answered HTTP {} with a non-AWS body{kind}; is AWS_ENDPOINT_URL right?",
        raw.status().as_u16()
    );
    ("NotAws".into(), message, None)
}

/// Why a request never got an answer, from the error's causes.
fn dispatch_cause(e: &(dyn std::error::Error + 'static)) -> (&'static str, String) {
    let mut texts = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return ("ConnectionRefused", "connection refused".into());
        }
        texts.push(err.to_string());
        next = err.source();
    }
    let all = texts.join(": ").to_lowercase();
    if all.contains("connection refused") {
        ("ConnectionRefused", "connection refused".into())
    } else if all.contains("credentials") {
        (
            "NoCredentials",
            "no credentials found: set AWS_PROFILE (after `aws configure` or `aws sso login`), \
             or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                .into(),
        )
    } else if all.contains("relative url") || all.contains("invalid uri") || all.contains("scheme")
    {
        (
            "BadEndpoint",
            "the endpoint is not a URL (AWS_ENDPOINT_URL needs a scheme, e.g. https://)".into(),
        )
    } else {
        let innermost = texts.last().cloned().unwrap_or_default();
        ("Dispatch", format!("the request was not sent: {innermost}"))
    }
}

/// AccessDenied: name the IAM action the call needs.
fn with_needed_action(code: &str, operation: &str, message: &str) -> String {
    if !code.contains("AccessDenied") && code != "UnauthorizedOperation" {
        return message.to_string();
    }
    let service = match operation {
        "StartAutomationExecution" | "GetAutomationExecution" => "ssm",
        "LookupEvents" => "cloudtrail",
        "DescribeConfigRules" | "PutExternalEvaluation" | "GetComplianceDetailsByConfigRule" => {
            "config"
        }
        // CloudFormation and Cloud Control share the `cloudformation` prefix.
        _ => "cloudformation",
    };
    format!(
        "{message} (driftsync needs {service}:{operation}; `driftsync iam-policy` prints the whole policy)"
    )
}

//! Reads live AWS state: stacks as CloudFormation deployed them, their drift
//! as CloudFormation detects it, resources as Cloud Control reads them, and
//! who changed what from CloudTrail.
//!
//! Owns the AWS clients and how they are configured (the SDK's own
//! conventions: profiles, `AWS_REGION`, `AWS_ENDPOINT_URL`, web identity; one
//! assumed role per stack when the config names one), the client-side rate
//! limit, and the API call counts. It must not write anything to AWS, and it
//! does not judge what it reads: comparison is `drift`'s job.

mod account;
mod cfn;
mod cloudcontrol;
mod compliance;
mod detect;
mod stats;
mod trail;

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::Mutex;

pub use cfn::{
    LiveStack, StackResource, StackStatusClass, describe_stacks, get_template, list_resources,
};
pub use cloudcontrol::read_resource;
pub use compliance::{DRIFT_RULE, compliant_stacks};
pub use detect::{
    DetectOptions, ResourceDrift, StackDrift, detect_resource_drift, detect_resource_drift_in,
    detect_stack_drift,
};
pub use stats::Calls;

pub use trail::{Change, TrailEvent, lookup_events};

/// driftsync's SDK app id (user agent `app/driftsync`), and the session
/// name of the roles it assumes: how its own calls show in CloudTrail.
pub const APP_ID: &str = "driftsync";

/// Why live state could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    #[error("cannot assume {role_arn}: {message}")]
    AssumeRole { role_arn: String, message: String },
    #[error("{operation} failed for stack {stack}: {code}: {message}")]
    Api {
        operation: &'static str,
        stack: String,
        code: String,
        message: String,
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

impl LiveError {
    /// Whether a later attempt could succeed (throttling, a 5xx, a timeout).
    pub fn is_retryable(&self) -> bool {
        match self {
            LiveError::Api { retryable, .. } => *retryable,
            LiveError::DetectionTimedOut { .. } => true,
            _ => false,
        }
    }
}

/// Clients for one account and region.
#[derive(Clone)]
pub struct Clients {
    pub region: String,
    pub cfn: aws_sdk_cloudformation::Client,
    pub cloudcontrol: aws_sdk_cloudcontrol::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub config: aws_sdk_config::Client,
}

/// Clients by (region, role ARN).
type ClientCache = HashMap<(String, Option<String>), Arc<Clients>>;

/// The AWS side of a run: the base SDK configuration from the environment,
/// and clients per (region, role), created on first use and shared.
pub struct Aws {
    base: SdkConfig,
    clients: Mutex<ClientCache>,
}

impl Aws {
    /// Loads the SDK configuration the standard way (environment, profiles,
    /// SSO, web identity, container and instance credentials), with the
    /// SDK's adaptive retry mode: a client-side rate limit that backs off on
    /// throttling and recovers, and a retry quota so one throttle never
    /// becomes a storm of retries.
    pub async fn from_env() -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::adaptive().with_max_attempts(4));
        // The app id marks driftsync's own calls in CloudTrail (user agent
        // `app/driftsync`), so attribution can leave them out.
        if let Ok(app) = aws_config::AppName::new(APP_ID) {
            loader = loader.app_name(app);
        }
        let base = loader.load().await;
        Aws {
            base,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Clients for a region, as the role when one is given.
    ///
    /// # Errors
    /// [`LiveError::AssumeRole`] when the role cannot be assumed.
    pub async fn clients(
        &self,
        region: &str,
        role_arn: Option<&str>,
    ) -> Result<Arc<Clients>, LiveError> {
        let key = (region.to_string(), role_arn.map(String::from));
        let mut cache = self.clients.lock().await;
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let mut builder = self.base.to_builder();
        builder.set_region(Some(Region::new(region.to_string())));
        if let Some(arn) = role_arn {
            let provider = aws_config::sts::AssumeRoleProvider::builder(arn)
                .session_name(APP_ID)
                .region(Region::new(region.to_string()))
                .configure(&self.base)
                .build()
                .await;
            builder.set_credentials_provider(Some(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            ));
        }
        let config = builder.build();
        if role_arn.is_some() {
            account::check_credentials(&config)
                .await
                .map_err(|message| LiveError::AssumeRole {
                    role_arn: role_arn.unwrap_or_default().to_string(),
                    message,
                })?;
        }
        let clients = Arc::new(Clients {
            region: region.to_string(),
            cfn: aws_sdk_cloudformation::Client::new(&config),
            cloudcontrol: aws_sdk_cloudcontrol::Client::new(&config),
            cloudtrail: aws_sdk_cloudtrail::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            config: aws_sdk_config::Client::new(&config),
        });
        cache.insert(key, clients.clone());
        Ok(clients)
    }
}

/// Turns an SDK error into a [`LiveError::Api`], keeping the AWS error code.
pub fn api_error<E, R>(
    operation: &'static str,
    stack: &str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> LiveError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let (code, message) = match &e {
        SdkError::ServiceError(s) => (
            s.err().code().unwrap_or("Unknown").to_string(),
            s.err().message().unwrap_or_default().to_string(),
        ),
        SdkError::TimeoutError(_) => ("Timeout".into(), "the request timed out".into()),
        SdkError::DispatchFailure(d) => (
            "DispatchFailure".into(),
            format!("{:?}", d.as_connector_error().map(|c| c.to_string())),
        ),
        other => (
            "Unknown".into(),
            aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
        ),
    };
    let retryable = matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_))
        || code.contains("Throttl")
        || code == "RequestLimitExceeded"
        || code.starts_with("InternalFailure")
        || code == "ServiceUnavailable";
    LiveError::Api {
        operation,
        stack: stack.to_string(),
        code,
        message,
        retryable,
    }
}

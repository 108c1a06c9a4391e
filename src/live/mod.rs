//! Reads live AWS state: stacks as CloudFormation deployed them, their drift
//! as CloudFormation detects it, resources as Cloud Control reads them, and
//! who changed what from CloudTrail.
//!
//! Owns the AWS clients and how they are configured (the SDK's own
//! conventions: profiles, `AWS_REGION`, `AWS_ENDPOINT_URL`, web identity; one
//! assumed role per stack when the config names one), retries and timeouts
//! (`resilience`), and the API call counts. It must not write anything to AWS, and it
//! does not judge what it reads: comparison is `drift`'s job.

mod account;
mod cfn;
mod cloudcontrol;
mod compliance;
mod detect;
mod error;
mod resilience;
mod stats;
mod trail;

use std::collections::HashMap;
use std::sync::Arc;

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
pub use error::{LiveError, api_error};
pub use resilience::{ATTEMPT_TIMEOUT, MAX_ATTEMPTS, OPERATION_TIMEOUT};
pub use stats::Calls;

pub use trail::{Change, TrailEvent, lookup_events};

/// driftsync's SDK app id (user agent `app/driftsync`), and the session
/// name of the roles it assumes: how its own calls show in CloudTrail.
pub const APP_ID: &str = "driftsync";

/// Clients for one account and region.
#[derive(Clone)]
pub struct Clients {
    pub region: String,
    /// Where requests go, for errors: the region, and the endpoint when
    /// `AWS_ENDPOINT_URL` (or a profile) sets one.
    pub place: String,
    pub cfn: aws_sdk_cloudformation::Client,
    pub cloudcontrol: aws_sdk_cloudcontrol::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub config: aws_sdk_config::Client,
    /// The configuration the clients were built from (credentials, region,
    /// endpoint), for the one request sent without an SDK client: the
    /// template upload (`remediate::artifacts`).
    pub sdk: SdkConfig,
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
    /// SSO, web identity, container and instance credentials), with
    /// driftsync's retries and timeouts (see `resilience`).
    pub async fn from_env() -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(resilience::timeout_config());
        if let Some(retry) = resilience::retry_config(|k| std::env::var(k).ok()) {
            loader = loader.retry_config(retry);
        }
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
            place: match config.endpoint_url() {
                Some(url) => format!("{region} at {}", without_userinfo(url)),
                None => region.to_string(),
            },
            cfn: aws_sdk_cloudformation::Client::new(&config),
            cloudcontrol: aws_sdk_cloudcontrol::Client::new(&config),
            cloudtrail: aws_sdk_cloudtrail::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            config: aws_sdk_config::Client::new(&config),
            sdk: config,
        });
        cache.insert(key, clients.clone());
        Ok(clients)
    }
}

/// An endpoint URL without any `user:password@` in it.
fn without_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, host)) if !rest[..rest.find('@').unwrap_or(0)].contains('/') => {
                format!("{scheme}://{host}")
            }
            _ => url.to_string(),
        },
        None => url.to_string(),
    }
}

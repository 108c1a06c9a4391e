//! CloudTrail LookupEvents by resource name, newest first: the events as
//! CloudTrail records them. Which of them made a drift is judged by
//! `check::attribution`, not here.

use std::time::SystemTime;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde::Serialize;

use super::{Calls, Clients, LiveError, api_error};

/// One change to a resource, as reports show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub principal: String,
    pub event: String,
    /// RFC 3339.
    pub time: String,
    /// The drifted properties this call can have changed; empty when the
    /// whole resource is in question (a deleted resource).
    pub property_paths: Vec<String>,
}

/// One CloudTrail event on a resource.
#[derive(Debug, Clone, Default)]
pub struct TrailEvent {
    pub principal: String,
    /// `SetQueueAttributes`.
    pub event: String,
    /// `sqs.amazonaws.com`.
    pub source: String,
    /// RFC 3339.
    pub time: String,
    pub at: Option<SystemTime>,
    /// The whole CloudTrail record (`readOnly`, `errorCode`, `userAgent`,
    /// `userIdentity`, `requestParameters`, ...).
    pub detail: serde_json::Value,
}

/// The events CloudTrail holds on a resource since `since`, newest first
/// (one page of 50).
///
/// # Errors
/// A [`LiveError::Api`].
pub async fn lookup_events(
    clients: &Clients,
    stack: &str,
    resource_name: &str,
    since: SystemTime,
    calls: &Calls,
) -> Result<Vec<TrailEvent>, LiveError> {
    let attr = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::ResourceName)
        .attribute_value(resource_name)
        .build()
        .map_err(|e| LiveError::build("LookupEvents", stack, e))?;
    calls.record("LookupEvents");
    let out = clients
        .cloudtrail
        .lookup_events()
        .lookup_attributes(attr)
        .start_time(aws_smithy_types::DateTime::from(since))
        .max_results(50)
        .send()
        .await
        .map_err(|e| api_error(clients, "LookupEvents", stack, e))?;
    Ok(out
        .events()
        .iter()
        .map(|e| {
            let detail: serde_json::Value = e
                .cloud_trail_event()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default();
            TrailEvent {
                principal: e
                    .username()
                    .map(String::from)
                    .or_else(|| detail["userIdentity"]["arn"].as_str().map(String::from))
                    .unwrap_or_else(|| "unknown".into()),
                event: e.event_name().unwrap_or_default().to_string(),
                source: e.event_source().unwrap_or_default().to_string(),
                time: e
                    .event_time()
                    .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                    .unwrap_or_default(),
                at: e.event_time().and_then(|t| SystemTime::try_from(*t).ok()),
                detail,
            }
        })
        .collect())
}

//! Who changed a resource: CloudTrail LookupEvents by resource name, newest
//! first, without read-only calls or CloudFormation's own.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde::Serialize;

use super::{Calls, Clients, LiveError, api_error};

/// One change to a resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub principal: String,
    pub event: String,
    /// RFC 3339.
    pub time: String,
}

/// The latest mutating events on a resource within `window`, at most `limit`.
///
/// # Errors
/// A [`LiveError::Api`].
pub async fn recent_changes(
    clients: &Clients,
    stack: &str,
    resource_name: &str,
    window: Duration,
    limit: usize,
    calls: &Calls,
) -> Result<Vec<Change>, LiveError> {
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
        .start_time(aws_smithy_types::DateTime::from(SystemTime::now() - window))
        .max_results(50)
        .send()
        .await
        .map_err(|e| api_error(clients, "LookupEvents", stack, e))?;
    let mut changes = Vec::new();
    for e in out.events() {
        let detail: serde_json::Value = e
            .cloud_trail_event()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        if detail["readOnly"] == serde_json::Value::Bool(true) || by_cloudformation(&detail) {
            continue;
        }
        let principal = e
            .username()
            .map(String::from)
            .or_else(|| detail["userIdentity"]["arn"].as_str().map(String::from))
            .unwrap_or_else(|| "unknown".into());
        let time = e
            .event_time()
            .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
            .unwrap_or_default();
        changes.push(Change {
            principal,
            event: e.event_name().unwrap_or_default().to_string(),
            time,
        });
        if changes.len() == limit {
            break;
        }
    }
    Ok(changes)
}

/// CloudFormation's own calls (deploys, reverts) are not out-of-band changes.
fn by_cloudformation(detail: &serde_json::Value) -> bool {
    let says = |k: &str| {
        detail[k]
            .as_str()
            .is_some_and(|v| v.contains("cloudformation.amazonaws.com"))
    };
    says("sourceIPAddress")
        || says("userAgent")
        || detail["userIdentity"]["invokedBy"]
            .as_str()
            .is_some_and(|v| v.contains("cloudformation"))
}

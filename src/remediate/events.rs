//! Waiting for a stack operation to end while streaming its events.

use std::collections::HashSet;
use std::time::Duration;

use super::RemediateError;
use super::changeset::{StackEvent, describe_stack};
use crate::live::{Calls, Clients, api_error};

/// Polls until the stack leaves `*_IN_PROGRESS`; returns its final status and,
/// for a failure, the first failing resource's reason. Only events carrying
/// `token` (this operation's ClientRequestToken) are streamed, when AWS sets it.
pub(super) async fn wait_for_stack(
    clients: &Clients,
    stack: &str,
    token: &str,
    deadline: tokio::time::Instant,
    on_event: &(dyn Fn(&StackEvent) + Sync),
    calls: &Calls,
) -> Result<(String, Option<String>), RemediateError> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut failure: Option<String> = None;
    let mut wait = Duration::from_millis(250);
    loop {
        calls.record("DescribeStackEvents");
        let events = clients
            .cfn
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| {
                RemediateError::Live(api_error(clients, "DescribeStackEvents", stack, e))
            })?;
        // Newest first; stream oldest first.
        for e in events.stack_events().iter().rev() {
            let id = e.event_id().unwrap_or_default().to_string();
            let ours = e.client_request_token().is_none_or(|t| t == token);
            if !ours || !seen.insert(id) {
                continue;
            }
            let status = e
                .resource_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let event = StackEvent {
                time: e
                    .timestamp()
                    .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                    .unwrap_or_default(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                status: status.clone(),
                reason: e.resource_status_reason().map(String::from),
            };
            if failure.is_none() && status.ends_with("_FAILED") && event.logical_id != stack {
                failure = Some(format!(
                    "{}: {}",
                    event.logical_id,
                    event.reason.clone().unwrap_or_else(|| status.clone())
                ));
            }
            on_event(&event);
        }
        let now = describe_stack(clients, stack, calls).await?;
        let status = now
            .as_ref()
            .and_then(|s| s.stack_status())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if !status.ends_with("_IN_PROGRESS") {
            let reason = failure.or_else(|| {
                now.as_ref()
                    .and_then(|s| s.stack_status_reason())
                    .map(String::from)
            });
            return Ok((status, reason));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(RemediateError::TimedOut {
                stack: stack.to_string(),
                what: format!("the stack ({status})"),
            });
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

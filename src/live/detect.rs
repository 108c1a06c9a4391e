//! Drift through CloudFormation: DetectStackDrift, DescribeStackDriftDetection
//! Status polled with backoff, DescribeStackResourceDrifts; or
//! DetectStackResourceDrift for one resource. A detection that finished
//! recently enough is reused instead of started again.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudformation::types::{StackDriftDetectionStatus, StackResourceDrift};
use indexmap::IndexMap;

use super::{Calls, Clients, LiveError, LiveStack, api_error};
use crate::template::Value;

/// How to run drift detection.
#[derive(Debug, Clone)]
pub struct DetectOptions {
    /// Reuse a detection that finished within this age (and after the last
    /// update); `None` always starts a new one.
    pub max_age: Option<Duration>,
    /// Give up on a detection after this long.
    pub timeout: Duration,
    /// First and longest wait between status polls.
    pub poll_initial: Duration,
    pub poll_max: Duration,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            max_age: None,
            timeout: Duration::from_secs(600),
            poll_initial: Duration::from_millis(250),
            poll_max: Duration::from_secs(5),
        }
    }
}

/// The drift of one stack, as CloudFormation reports it.
#[derive(Debug, Clone)]
pub struct StackDrift {
    /// The detection that produced it (`None` when a recent one was reused).
    pub detection_id: Option<String>,
    pub reused: bool,
    pub resources: Vec<ResourceDrift>,
}

/// One resource's drift, as CloudFormation reports it.
#[derive(Debug, Clone)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub type_name: String,
    /// `IN_SYNC`, `MODIFIED`, `DELETED`, `NOT_CHECKED` or `UNKNOWN`.
    pub status: String,
    pub expected: Option<IndexMap<String, Value>>,
    pub actual: Option<IndexMap<String, Value>>,
    /// CloudFormation's own differences: path, type, expected and actual JSON.
    pub differences: Vec<(String, String, Option<String>, Option<String>)>,
    pub checked_at: Option<SystemTime>,
}

fn parse_props(
    text: Option<&str>,
    stack: &str,
) -> Result<Option<IndexMap<String, Value>>, LiveError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| LiveError::BadJson {
        what: "drift properties",
        stack: stack.to_string(),
        message: e.to_string(),
    })?;
    Ok(match Value::from_json(&json) {
        Value::Map(m) => Some(m),
        _ => None,
    })
}

fn from_sdk(d: &StackResourceDrift, stack: &str) -> Result<ResourceDrift, LiveError> {
    Ok(ResourceDrift {
        logical_id: d.logical_resource_id.clone().unwrap_or_default(),
        physical_id: d.physical_resource_id.clone(),
        type_name: d.resource_type.clone().unwrap_or_default(),
        status: d
            .stack_resource_drift_status
            .as_ref()
            .map_or("UNKNOWN", |x| x.as_str())
            .to_string(),
        expected: parse_props(d.expected_properties(), stack)?,
        actual: parse_props(d.actual_properties(), stack)?,
        differences: d
            .property_differences()
            .iter()
            .map(|p| {
                (
                    p.property_path.clone().unwrap_or_default(),
                    p.difference_type
                        .as_ref()
                        .map_or("NOT_EQUAL", |x| x.as_str())
                        .to_string(),
                    p.expected_value.clone(),
                    p.actual_value.clone(),
                )
            })
            .collect(),
        checked_at: d.timestamp.and_then(|t| SystemTime::try_from(t).ok()),
    })
}

/// Whether the stack's last detection is recent enough to reuse.
fn reusable(stack: &LiveStack, max_age: Option<Duration>) -> bool {
    let (Some(max_age), Some(checked)) = (max_age, stack.last_drift_check) else {
        return false;
    };
    let fresh = SystemTime::now()
        .duration_since(checked)
        .is_ok_and(|age| age <= max_age);
    let after_update = stack.last_updated.is_none_or(|u| checked >= u);
    let finished = matches!(stack.drift_status.as_deref(), Some("DRIFTED" | "IN_SYNC"));
    fresh && after_update && finished
}

/// Detects a stack's drift (or reuses a recent detection) and reads every
/// resource's result.
///
/// # Errors
/// When detection fails, times out, or an API call fails.
pub async fn detect_stack_drift(
    clients: &Clients,
    stack: &LiveStack,
    opts: &DetectOptions,
    calls: &Calls,
) -> Result<StackDrift, LiveError> {
    let (detection_id, reused) = if reusable(stack, opts.max_age) {
        (None, true)
    } else {
        (
            Some(start_and_wait(clients, stack, opts, calls).await?),
            false,
        )
    };
    let mut resources = Vec::new();
    let mut pages = clients
        .cfn
        .describe_stack_resource_drifts()
        .stack_name(&stack.stack_id)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        calls.record("DescribeStackResourceDrifts");
        let page =
            page.map_err(|e| api_error(clients, "DescribeStackResourceDrifts", &stack.name, e))?;
        for d in page.stack_resource_drifts() {
            resources.push(from_sdk(d, &stack.name)?);
        }
    }
    Ok(StackDrift {
        detection_id,
        reused,
        resources,
    })
}

/// Starts a detection, respecting CloudFormation's one-at-a-time rule (a
/// detection already running is waited out), and polls until it ends.
async fn start_and_wait(
    clients: &Clients,
    stack: &LiveStack,
    opts: &DetectOptions,
    calls: &Calls,
) -> Result<String, LiveError> {
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let mut wait = opts.poll_initial;
    let id = loop {
        calls.record("DetectStackDrift");
        match clients
            .cfn
            .detect_stack_drift()
            .stack_name(&stack.stack_id)
            .send()
            .await
        {
            Ok(out) => match out.stack_drift_detection_id {
                Some(id) => break id,
                None => {
                    return Err(LiveError::DetectionFailed {
                        stack: stack.name.clone(),
                        reason: "no detection id returned".into(),
                    });
                }
            },
            Err(e) => {
                let err = api_error(clients, "DetectStackDrift", &stack.name, e);
                let busy = matches!(&err, LiveError::Api { message, .. } if message.contains("already in progress"));
                if !busy || tokio::time::Instant::now() >= deadline {
                    return Err(err);
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(opts.poll_max);
            }
        }
    };
    let mut wait = opts.poll_initial;
    loop {
        tokio::time::sleep(wait).await;
        calls.record("DescribeStackDriftDetectionStatus");
        let s = clients
            .cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(|e| api_error(clients, "DescribeStackDriftDetectionStatus", &stack.name, e))?;
        match s.detection_status {
            Some(StackDriftDetectionStatus::DetectionComplete) => return Ok(id),
            Some(StackDriftDetectionStatus::DetectionFailed) => {
                // A failed detection still reports the resources it could check;
                // say why, but only give up when nothing was checked.
                let reason = s
                    .detection_status_reason
                    .unwrap_or_else(|| "no reason given".into());
                if s.drifted_stack_resource_count.is_none() {
                    return Err(LiveError::DetectionFailed {
                        stack: stack.name.clone(),
                        reason,
                    });
                }
                tracing::warn!(stack = %stack.name, %reason, "drift detection partly failed");
                return Ok(id);
            }
            _ if tokio::time::Instant::now() >= deadline => {
                return Err(LiveError::DetectionTimedOut {
                    stack: stack.name.clone(),
                    seconds: opts.timeout.as_secs(),
                });
            }
            _ => wait = (wait * 2).min(opts.poll_max),
        }
    }
}

/// Detects drift of one resource (DetectStackResourceDrift), synchronously.
///
/// # Errors
/// A [`LiveError::Api`].
pub async fn detect_resource_drift(
    clients: &Clients,
    stack: &LiveStack,
    logical_id: &str,
    calls: &Calls,
) -> Result<ResourceDrift, LiveError> {
    detect_resource_drift_in(clients, &stack.stack_id, &stack.name, logical_id, calls).await
}

/// [`detect_resource_drift`] by stack name or id.
///
/// # Errors
/// A [`LiveError::Api`].
pub async fn detect_resource_drift_in(
    clients: &Clients,
    stack_id: &str,
    stack_name: &str,
    logical_id: &str,
    calls: &Calls,
) -> Result<ResourceDrift, LiveError> {
    calls.record("DetectStackResourceDrift");
    let out = clients
        .cfn
        .detect_stack_resource_drift()
        .stack_name(stack_id)
        .logical_resource_id(logical_id)
        .send()
        .await
        .map_err(|e| api_error(clients, "DetectStackResourceDrift", stack_name, e))?;
    let drift = out
        .stack_resource_drift
        .ok_or_else(|| LiveError::DetectionFailed {
            stack: stack_name.to_string(),
            reason: format!("no result for {logical_id}"),
        })?;
    from_sdk(&drift, stack_name)
}

//! Stacks as CloudFormation deployed them: status, parameters, tags, drift
//! information, the deployed template and the physical resource ids.

use std::collections::HashMap;
use std::time::SystemTime;

use aws_sdk_cloudformation::types::{Stack, TemplateStage};
use indexmap::IndexMap;

use super::{Calls, Clients, LiveError, api_error};

/// One deployed stack.
#[derive(Debug, Clone)]
pub struct LiveStack {
    pub name: String,
    pub stack_id: String,
    pub account: Option<String>,
    pub region: String,
    /// CloudFormation's StackStatus, e.g. `UPDATE_COMPLETE`.
    pub status: String,
    pub status_reason: Option<String>,
    /// Deployed parameter values (`****` for NoEcho ones).
    pub parameters: IndexMap<String, String>,
    pub tags: IndexMap<String, String>,
    /// `DRIFTED`, `IN_SYNC`, `NOT_CHECKED` or `UNKNOWN`.
    pub drift_status: Option<String>,
    pub last_drift_check: Option<SystemTime>,
    pub last_updated: Option<SystemTime>,
}

/// What a stack's status means for checking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackStatusClass {
    /// Settled: compare away.
    Stable,
    /// A create, update, delete or rollback is running: check later.
    InProgress,
    /// Stuck after a failure; an operator must act first.
    Failed,
    /// Created by a change set that was never executed.
    ReviewInProgress,
    /// Deleted: as good as not deployed.
    Deleted,
}

impl LiveStack {
    pub fn class(&self) -> StackStatusClass {
        classify(&self.status)
    }
}

pub(crate) fn classify(status: &str) -> StackStatusClass {
    match status {
        "REVIEW_IN_PROGRESS" => StackStatusClass::ReviewInProgress,
        "DELETE_COMPLETE" => StackStatusClass::Deleted,
        s if s.ends_with("_IN_PROGRESS") => StackStatusClass::InProgress,
        s if s.ends_with("_FAILED") || s == "ROLLBACK_COMPLETE" => StackStatusClass::Failed,
        _ => StackStatusClass::Stable,
    }
}

fn system_time(t: Option<&aws_smithy_types::DateTime>) -> Option<SystemTime> {
    t.and_then(|d| SystemTime::try_from(*d).ok())
}

fn from_sdk(s: &Stack, region: &str) -> LiveStack {
    let stack_id = s.stack_id().unwrap_or_default().to_string();
    LiveStack {
        name: s.stack_name().unwrap_or_default().to_string(),
        account: super::account::account_of_arn(&stack_id).map(String::from),
        stack_id,
        region: region.to_string(),
        status: s
            .stack_status()
            .map(|x| x.as_str().to_string())
            .unwrap_or_default(),
        status_reason: s.stack_status_reason().map(String::from),
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_string(),
                    p.parameter_value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
        tags: s
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect(),
        drift_status: s
            .drift_information()
            .and_then(|d| d.stack_drift_status())
            .map(|x| x.as_str().to_string()),
        last_drift_check: system_time(s.drift_information().and_then(|d| d.last_check_timestamp())),
        last_updated: system_time(s.last_updated_time().or(s.creation_time())),
    }
}

/// More stacks than this in one account and region are read with one
/// paginated listing instead of one call each.
const LIST_THRESHOLD: usize = 8;

/// Describes the named stacks in one account and region; `None` for a
/// stack that does not exist. Few stacks are described one by one; many
/// with one paginated DescribeStacks over the account, which is far fewer
/// calls for hundreds of stacks.
///
/// # Errors
/// A [`LiveError::Api`] for anything but "does not exist".
pub async fn describe_stacks(
    clients: &Clients,
    names: &[&str],
    calls: &HashMap<String, Calls>,
    run: &Calls,
) -> Result<HashMap<String, Option<LiveStack>>, LiveError> {
    let mut out: HashMap<String, Option<LiveStack>> =
        names.iter().map(|n| (n.to_string(), None)).collect();
    if names.len() > LIST_THRESHOLD {
        let mut pages = clients.cfn.describe_stacks().into_paginator().send();
        while let Some(page) = pages.next().await {
            run.record("DescribeStacks");
            let page = page.map_err(|e| api_error(clients, "DescribeStacks", "*", e))?;
            for s in page.stacks() {
                let live = from_sdk(s, &clients.region);
                if let Some(slot) = out.get_mut(&live.name)
                    && live.class() != StackStatusClass::Deleted
                {
                    *slot = Some(live);
                }
            }
        }
        return Ok(out);
    }
    for name in names {
        let c = calls.get(*name).cloned().unwrap_or_default();
        c.record("DescribeStacks");
        match clients.cfn.describe_stacks().stack_name(*name).send().await {
            Ok(o) => {
                let live = o.stacks().first().map(|s| from_sdk(s, &clients.region));
                out.insert(
                    name.to_string(),
                    live.filter(|l| l.class() != StackStatusClass::Deleted),
                );
            }
            Err(e) => {
                let err = api_error(clients, "DescribeStacks", name, e);
                if let LiveError::Api { code, message, .. } = &err
                    && code == "ValidationError"
                    && message.contains("does not exist")
                {
                    continue;
                }
                return Err(err);
            }
        }
    }
    Ok(out)
}

/// The template CloudFormation last deployed, as it was submitted.
///
/// # Errors
/// A [`LiveError::Api`].
pub async fn get_template(
    clients: &Clients,
    stack: &LiveStack,
    calls: &Calls,
) -> Result<String, LiveError> {
    calls.record("GetTemplate");
    let out = clients
        .cfn
        .get_template()
        .stack_name(&stack.stack_id)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|e| api_error(clients, "GetTemplate", &stack.name, e))?;
    Ok(out.template_body.unwrap_or_default())
}

/// A resource of a deployed stack.
#[derive(Debug, Clone)]
pub struct StackResource {
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub type_name: String,
    pub status: String,
}

/// Every resource of a deployed stack with its physical id.
///
/// # Errors
/// A [`LiveError::Api`].
pub async fn list_resources(
    clients: &Clients,
    stack: &LiveStack,
    calls: &Calls,
) -> Result<Vec<StackResource>, LiveError> {
    let mut out = Vec::new();
    let mut pages = clients
        .cfn
        .list_stack_resources()
        .stack_name(&stack.stack_id)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        calls.record("ListStackResources");
        let page = page.map_err(|e| api_error(clients, "ListStackResources", &stack.name, e))?;
        for r in page.stack_resource_summaries() {
            out.push(StackResource {
                logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                physical_id: r.physical_resource_id().map(String::from),
                type_name: r.resource_type().unwrap_or_default().to_string(),
                status: r
                    .resource_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_for_checking() {
        assert_eq!(classify("UPDATE_COMPLETE"), StackStatusClass::Stable);
        assert_eq!(
            classify("UPDATE_ROLLBACK_COMPLETE"),
            StackStatusClass::Stable
        );
        assert_eq!(classify("UPDATE_IN_PROGRESS"), StackStatusClass::InProgress);
        assert_eq!(
            classify("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            StackStatusClass::InProgress
        );
        assert_eq!(classify("UPDATE_ROLLBACK_FAILED"), StackStatusClass::Failed);
        assert_eq!(classify("ROLLBACK_COMPLETE"), StackStatusClass::Failed);
        assert_eq!(
            classify("REVIEW_IN_PROGRESS"),
            StackStatusClass::ReviewInProgress
        );
        assert_eq!(classify("DELETE_COMPLETE"), StackStatusClass::Deleted);
    }
}

//! What became of an operation a killed run started: read-only questions
//! to AWS (DescribeChangeSet, DescribeStacks) that let the next run record
//! how an attempt left in progress ended, without acting again.

use aws_sdk_cloudformation::types::{ChangeSetStatus, ExecutionStatus};

use super::RemediateError;
use super::changeset::{describe, describe_stack};
use crate::live::{Calls, Clients};

/// How an operation started by an earlier run stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// It ran to completion (or CloudFormation found nothing to change).
    Done,
    /// It ran and failed, for this reason.
    Failed(String),
    /// AWS is still working on it: leave it in progress.
    Running,
    /// It never ran: the change set was never executed, or no such change
    /// set or stack exists (the run died before creating it, or it was
    /// deleted). Why, in words.
    NeverRan(String),
}

/// The fate of change set `name` of `stack` (a deploy or a drift revert).
///
/// # Errors
/// An API failure other than "not found".
pub async fn change_set(
    clients: &Clients,
    stack: &str,
    name: &str,
    calls: &Calls,
) -> Result<Fate, RemediateError> {
    let Some(state) = describe(clients, stack, name, calls).await? else {
        return Ok(Fate::NeverRan(format!(
            "there is no change set {name}: it was never created, or was deleted"
        )));
    };
    let reason = state.reason.unwrap_or_default();
    Ok(match (state.status, state.execution) {
        (_, Some(ExecutionStatus::ExecuteComplete)) => Fate::Done,
        (_, Some(ExecutionStatus::ExecuteFailed)) => Fate::Failed(format!(
            "change set {name} was executed and failed: {reason}"
        )),
        (ChangeSetStatus::Failed, _)
            if reason.contains("didn't contain changes")
                || reason.contains("No updates are to be performed") =>
        {
            Fate::Done
        }
        (ChangeSetStatus::Failed, _) => {
            Fate::Failed(format!("change set {name} could not be created: {reason}"))
        }
        (_, Some(ExecutionStatus::ExecuteInProgress | ExecutionStatus::Unavailable))
        | (ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress, _) => Fate::Running,
        (_, Some(ExecutionStatus::Available)) => {
            Fate::NeverRan(format!("change set {name} was created but never executed"))
        }
        (status, execution) => Fate::NeverRan(format!(
            "change set {name} is {} ({}), not executed",
            status.as_str(),
            execution.as_ref().map_or("no execution", |e| e.as_str())
        )),
    })
}

/// The fate of stack `stack`'s creation (CreateStack, no change set).
///
/// # Errors
/// An API failure other than "does not exist".
pub async fn stack_creation(
    clients: &Clients,
    stack: &str,
    calls: &Calls,
) -> Result<Fate, RemediateError> {
    let found = match describe_stack(clients, stack, calls).await {
        Ok(found) => found,
        Err(RemediateError::Live(crate::live::LiveError::Api { message, .. }))
            if message.contains("does not exist") =>
        {
            None
        }
        Err(e) => return Err(e),
    };
    let Some(found) = found else {
        return Ok(Fate::NeverRan(format!("there is no stack {stack}")));
    };
    let status = found
        .stack_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    Ok(if status.ends_with("_IN_PROGRESS") {
        Fate::Running
    } else if status.ends_with("_COMPLETE") && !status.contains("ROLLBACK") {
        Fate::Done
    } else {
        Fate::Failed(format!("stack {stack} is {status}"))
    })
}

//! Change sets: deploy pending commits, or revert drift with
//! `DeploymentMode=REVERT_DRIFT`. Create, wait, inspect (refusing
//! replacements unless allowed), execute, then wait for the stack while
//! streaming its events. Names and tokens are deterministic, so a rerun after
//! a crash finds the change set it started instead of making a second one.

use std::time::Duration;

use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, DeploymentMode, ExecutionStatus, Parameter,
    Replacement, Stack, Tag,
};
use serde::Serialize;

use super::RemediateError;
use crate::live::{Calls, Clients, api_error};

/// What the change set is for.
#[derive(Debug, Clone)]
pub enum ChangeSetKind {
    /// Deploy the committed template and parameters.
    Deploy {
        template_body: String,
        parameters: Vec<(String, String)>,
    },
    /// Put drifted resources back to the deployed template (same template).
    RevertDrift,
}

#[derive(Debug, Clone)]
pub struct ChangeSetRequest {
    pub stack: String,
    pub kind: ChangeSetKind,
    /// Deterministic: the same work gets the same name.
    pub name: String,
    pub capabilities: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub allow_replacement: bool,
    pub timeout: Duration,
    /// Where a template too large to send inline is uploaded.
    pub artifacts: Option<crate::config::Artifacts>,
}

/// One stack event, as it streams in.
#[derive(Debug, Clone, Serialize)]
pub struct StackEvent {
    pub time: String,
    pub logical_id: String,
    pub status: String,
    pub reason: Option<String>,
}

/// How a change set ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ChangeSetOutcome {
    /// Executed; the stack reached a complete state.
    Applied {
        change_set: String,
        stack_status: String,
        changes: usize,
    },
    /// CloudFormation found nothing to change.
    NoChanges { change_set: String },
    /// It would replace resources and that is not allowed; deleted unexecuted.
    Refused {
        change_set: String,
        replacements: Vec<String>,
    },
    /// Executed and rolled back (or failed); `reason` names the failing resource.
    Failed {
        change_set: String,
        stack_status: String,
        reason: String,
    },
}

/// Runs one change set to its end. `on_event` sees stack events as they arrive.
///
/// # Errors
/// An API failure or a timeout; refusals and rollbacks are outcomes, not errors.
pub async fn run_change_set(
    clients: &Clients,
    req: &ChangeSetRequest,
    on_event: &(dyn Fn(&StackEvent) + Sync),
    calls: &Calls,
) -> Result<ChangeSetOutcome, RemediateError> {
    let deadline = tokio::time::Instant::now() + req.timeout;
    let existing = describe(clients, &req.stack, &req.name, calls).await?;
    let status = match existing {
        Some(s) => s,
        None => {
            create(clients, req, calls).await?;
            wait_created(clients, req, deadline, calls).await?
        }
    };
    let ChangeSetState {
        status,
        execution,
        reason,
        replacements,
        changes,
    } = status;
    if status == ChangeSetStatus::Failed {
        let reason = reason.unwrap_or_default();
        // CloudFormation fails a change set that would change nothing.
        if reason.contains("didn't contain changes")
            || reason.contains("No updates are to be performed")
        {
            let _ = delete(clients, req, calls).await;
            return Ok(ChangeSetOutcome::NoChanges {
                change_set: req.name.clone(),
            });
        }
        return Err(RemediateError::ChangeSetFailed {
            stack: req.stack.clone(),
            change_set: req.name.clone(),
            reason,
        });
    }
    if execution == Some(ExecutionStatus::ExecuteComplete) {
        return Ok(ChangeSetOutcome::Applied {
            change_set: req.name.clone(),
            stack_status: "UPDATE_COMPLETE".into(),
            changes,
        });
    }
    if execution == Some(ExecutionStatus::Available) {
        if !replacements.is_empty() && !req.allow_replacement {
            delete(clients, req, calls).await?;
            return Ok(ChangeSetOutcome::Refused {
                change_set: req.name.clone(),
                replacements,
            });
        }
        calls.record("ExecuteChangeSet");
        clients
            .cfn
            .execute_change_set()
            .stack_name(&req.stack)
            .change_set_name(&req.name)
            .client_request_token(&req.name)
            .send()
            .await
            .map_err(|e| {
                RemediateError::Live(api_error(clients, "ExecuteChangeSet", &req.stack, e))
            })?;
    }
    let (stack_status, reason) =
        super::events::wait_for_stack(clients, &req.stack, &req.name, deadline, on_event, calls)
            .await?;
    if stack_status == "UPDATE_COMPLETE" {
        Ok(ChangeSetOutcome::Applied {
            change_set: req.name.clone(),
            stack_status,
            changes,
        })
    } else {
        Ok(ChangeSetOutcome::Failed {
            change_set: req.name.clone(),
            stack_status,
            reason: reason.unwrap_or_else(|| "no reason given".into()),
        })
    }
}

pub(super) struct ChangeSetState {
    pub(super) status: ChangeSetStatus,
    pub(super) execution: Option<ExecutionStatus>,
    pub(super) reason: Option<String>,
    /// `logical id (True|Conditional)` for each change that replaces.
    replacements: Vec<String>,
    changes: usize,
}

pub(super) async fn describe(
    clients: &Clients,
    stack: &str,
    name: &str,
    calls: &Calls,
) -> Result<Option<ChangeSetState>, RemediateError> {
    calls.record("DescribeChangeSet");
    match clients
        .cfn
        .describe_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await
    {
        Ok(out) => {
            let replacements = out
                .changes()
                .iter()
                .filter_map(|c| c.resource_change())
                .filter(|rc| {
                    matches!(
                        rc.replacement(),
                        Some(Replacement::True | Replacement::Conditional)
                    )
                })
                .map(|rc| {
                    let how = rc.replacement().map(|r| r.as_str()).unwrap_or_default();
                    format!("{} ({how})", rc.logical_resource_id().unwrap_or_default())
                })
                .collect();
            Ok(Some(ChangeSetState {
                status: out
                    .status()
                    .cloned()
                    .unwrap_or(ChangeSetStatus::CreatePending),
                execution: out.execution_status().cloned(),
                reason: out.status_reason().map(String::from),
                replacements,
                changes: out.changes().len(),
            }))
        }
        Err(e) => {
            let err = api_error(clients, "DescribeChangeSet", stack, e);
            match &err {
                crate::live::LiveError::Api { code, .. }
                    if code == "ChangeSetNotFound" || code == "ChangeSetNotFoundException" =>
                {
                    Ok(None)
                }
                _ => Err(RemediateError::Live(err)),
            }
        }
    }
}

async fn create(
    clients: &Clients,
    req: &ChangeSetRequest,
    calls: &Calls,
) -> Result<(), RemediateError> {
    let mut call = clients
        .cfn
        .create_change_set()
        .stack_name(&req.stack)
        .change_set_name(&req.name)
        .client_token(&req.name)
        .change_set_type(ChangeSetType::Update)
        .description("driftsync")
        .set_capabilities(Some(sdk_capabilities(req)))
        .set_tags(Some(sdk_tags(req)));
    match &req.kind {
        ChangeSetKind::Deploy {
            template_body,
            parameters,
        } => {
            call = match template_source(clients, req, template_body).await? {
                Source::Body(b) => call.template_body(b),
                Source::Url(u) => call.template_url(u),
            }
            .set_parameters(Some(sdk_parameters(parameters)));
        }
        ChangeSetKind::RevertDrift => {
            // An omitted parameter would take its Default (or fail): keep
            // every deployed value, as `aws cloudformation deploy` does.
            let keep = deployed_parameter_keys(clients, &req.stack, calls)
                .await?
                .into_iter()
                .map(|k| {
                    Parameter::builder()
                        .parameter_key(k)
                        .use_previous_value(true)
                        .build()
                })
                .collect();
            call = call
                .use_previous_template(true)
                .set_parameters(Some(keep))
                .deployment_mode(DeploymentMode::RevertDrift);
        }
    }
    calls.record("CreateChangeSet");
    call.send()
        .await
        .map_err(|e| RemediateError::Live(api_error(clients, "CreateChangeSet", &req.stack, e)))?;
    Ok(())
}

/// The stack as DescribeStacks shows it now.
pub(super) async fn describe_stack(
    clients: &Clients,
    stack: &str,
    calls: &Calls,
) -> Result<Option<Stack>, RemediateError> {
    calls.record("DescribeStacks");
    let out = clients
        .cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| RemediateError::Live(api_error(clients, "DescribeStacks", stack, e)))?;
    Ok(out.stacks().first().cloned())
}

/// The names of the stack's deployed parameters, read now.
async fn deployed_parameter_keys(
    clients: &Clients,
    stack: &str,
    calls: &Calls,
) -> Result<Vec<String>, RemediateError> {
    Ok(describe_stack(clients, stack, calls)
        .await?
        .iter()
        .flat_map(|s| s.parameters())
        .filter_map(|p| p.parameter_key().map(String::from))
        .collect())
}

async fn wait_created(
    clients: &Clients,
    req: &ChangeSetRequest,
    deadline: tokio::time::Instant,
    calls: &Calls,
) -> Result<ChangeSetState, RemediateError> {
    let mut wait = Duration::from_millis(200);
    loop {
        if let Some(s) = describe(clients, &req.stack, &req.name, calls).await?
            && matches!(
                s.status,
                ChangeSetStatus::CreateComplete | ChangeSetStatus::Failed
            )
        {
            return Ok(s);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(RemediateError::TimedOut {
                stack: req.stack.clone(),
                what: format!("change set {}", req.name),
            });
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

async fn delete(
    clients: &Clients,
    req: &ChangeSetRequest,
    calls: &Calls,
) -> Result<(), RemediateError> {
    calls.record("DeleteChangeSet");
    clients
        .cfn
        .delete_change_set()
        .stack_name(&req.stack)
        .change_set_name(&req.name)
        .send()
        .await
        .map_err(|e| RemediateError::Live(api_error(clients, "DeleteChangeSet", &req.stack, e)))?;
    Ok(())
}

/// A change set name from the work it does: `driftsync-<kind>-<12 hex>`.
pub fn change_set_name(kind: &str, parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("driftsync-{kind}-{hex}")
}

/// Creates a stack that does not exist yet (CreateStack, with the request's
/// name as its token) and waits for it.
///
/// # Errors
/// An API failure or a timeout; a failed create is an outcome.
pub async fn create_stack(
    clients: &Clients,
    req: &ChangeSetRequest,
    on_event: &(dyn Fn(&StackEvent) + Sync),
    calls: &Calls,
) -> Result<ChangeSetOutcome, RemediateError> {
    let ChangeSetKind::Deploy {
        template_body,
        parameters,
    } = &req.kind
    else {
        return Err(RemediateError::Protocol {
            stack: req.stack.clone(),
            message: "a new stack needs a template".into(),
        });
    };
    let call = clients.cfn.create_stack().stack_name(&req.stack);
    let call = match template_source(clients, req, template_body).await? {
        Source::Body(b) => call.template_body(b),
        Source::Url(u) => call.template_url(u),
    };
    calls.record("CreateStack");
    let sent = call
        .set_parameters(Some(sdk_parameters(parameters)))
        .set_capabilities(Some(sdk_capabilities(req)))
        .set_tags(Some(sdk_tags(req)))
        .client_request_token(&req.name)
        .send()
        .await;
    if let Err(e) = sent {
        let err = api_error(clients, "CreateStack", &req.stack, e);
        // A rerun after a crash: the stack is already being created; wait for it.
        if !matches!(&err, crate::live::LiveError::Api { code, .. } if code == "AlreadyExistsException")
        {
            return Err(RemediateError::Live(err));
        }
    }
    let deadline = tokio::time::Instant::now() + req.timeout;
    let (status, reason) =
        super::events::wait_for_stack(clients, &req.stack, &req.name, deadline, on_event, calls)
            .await?;
    Ok(if status == "CREATE_COMPLETE" {
        ChangeSetOutcome::Applied {
            change_set: req.name.clone(),
            stack_status: status,
            changes: 0,
        }
    } else {
        ChangeSetOutcome::Failed {
            change_set: req.name.clone(),
            stack_status: status,
            reason: reason.unwrap_or_default(),
        }
    })
}

/// A template as CloudFormation gets it.
enum Source<'a> {
    Body(&'a str),
    Url(String),
}

/// Inline, or uploaded to the artifacts bucket first (see `artifacts`).
async fn template_source<'a>(
    clients: &Clients,
    req: &ChangeSetRequest,
    body: &'a str,
) -> Result<Source<'a>, RemediateError> {
    let artifacts = req.artifacts.as_ref();
    let route = super::artifacts::route(body.len(), artifacts).map_err(|too_large| {
        RemediateError::TemplateTooLarge {
            stack: req.stack.clone(),
            too_large,
        }
    })?;
    match route {
        super::artifacts::Route::Inline => Ok(Source::Body(body)),
        super::artifacts::Route::Upload => {
            let Some(a) = artifacts else {
                return Ok(Source::Body(body));
            };
            let url = super::artifacts::upload(clients, &req.stack, a, body).await?;
            Ok(Source::Url(url))
        }
    }
}

fn sdk_capabilities(req: &ChangeSetRequest) -> Vec<Capability> {
    req.capabilities
        .iter()
        .map(|c| Capability::from(c.as_str()))
        .collect()
}

fn sdk_tags(req: &ChangeSetRequest) -> Vec<Tag> {
    req.tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn sdk_parameters(parameters: &[(String, String)]) -> Vec<Parameter> {
    parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .collect()
}

//! Property-level reverts: an RFC 6902 patch applied through Cloud Control
//! UpdateResource, either directly or by the SSM Automation runbook that
//! `driftsync bootstrap` installs (auditable, runs as its own role). Client
//! tokens make a rerun after a crash join the first attempt instead of
//! patching twice.

use std::time::Duration;

use aws_sdk_cloudcontrol::types::OperationStatus;
use aws_sdk_ssm::types::AutomationExecutionStatus;
use serde::Serialize;

use super::RemediateError;
use super::patch::PatchOp;
use crate::live::{Calls, Clients, api_error};

/// The runbook `driftsync bootstrap` installs.
pub const RUNBOOK_NAME: &str = "driftsync-RevertProperties";

/// How to apply the patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    CloudControl,
    Ssm {
        document: String,
        assume_role: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct RevertRequest {
    pub stack: String,
    pub logical_id: String,
    pub type_name: String,
    /// The resource's primary identifier (its physical id for most types).
    pub identifier: String,
    pub ops: Vec<PatchOp>,
    /// Deterministic for the work, so a repeat joins the first attempt.
    pub token: String,
    pub via: Via,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RevertOutcome {
    Applied { request: String },
    Failed { request: String, reason: String },
}

/// Whether the runbook is installed in the clients' account and region
/// (DescribeDocument; a missing document is AWS's `InvalidDocument`).
///
/// # Errors
/// Any other API failure (AccessDenied, throttling past the retries).
pub async fn runbook_installed(
    clients: &Clients,
    stack: &str,
    calls: &Calls,
) -> Result<bool, RemediateError> {
    calls.record("DescribeDocument");
    match clients
        .ssm
        .describe_document()
        .name(RUNBOOK_NAME)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => match api_error(clients, "DescribeDocument", stack, e) {
            crate::live::LiveError::Api { code, .. } if code == "InvalidDocument" => Ok(false),
            err => Err(RemediateError::Live(err)),
        },
    }
}

/// Applies the patch and waits for it to finish.
///
/// # Errors
/// An API failure (a missing runbook says how to install it) or a timeout.
pub async fn revert(
    clients: &Clients,
    req: &RevertRequest,
    calls: &Calls,
) -> Result<RevertOutcome, RemediateError> {
    let patch = serde_json::to_string(&req.ops).unwrap_or_else(|_| "[]".into());
    match &req.via {
        Via::CloudControl => cloud_control(clients, req, patch, calls).await,
        Via::Ssm {
            document,
            assume_role,
        } => ssm(clients, req, patch, document, assume_role.as_deref(), calls).await,
    }
}

async fn cloud_control(
    clients: &Clients,
    req: &RevertRequest,
    patch: String,
    calls: &Calls,
) -> Result<RevertOutcome, RemediateError> {
    calls.record("UpdateResource");
    let event = clients
        .cloudcontrol
        .update_resource()
        .type_name(&req.type_name)
        .identifier(&req.identifier)
        .patch_document(patch)
        .client_token(&req.token)
        .send()
        .await
        .map_err(|e| RemediateError::Live(api_error(clients, "UpdateResource", &req.stack, e)))?
        .progress_event
        .ok_or_else(|| RemediateError::Protocol {
            stack: req.stack.clone(),
            message: "UpdateResource returned no progress event".into(),
        })?;
    let token = event.request_token().unwrap_or_default().to_string();
    let deadline = tokio::time::Instant::now() + req.timeout;
    let mut status = event.operation_status().cloned();
    let mut message = event.status_message().map(String::from);
    let mut wait = Duration::from_millis(200);
    while matches!(
        status,
        Some(OperationStatus::Pending | OperationStatus::InProgress) | None
    ) {
        if tokio::time::Instant::now() >= deadline {
            return Err(RemediateError::TimedOut {
                stack: req.stack.clone(),
                what: format!("Cloud Control request {token}"),
            });
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
        calls.record("GetResourceRequestStatus");
        let e = clients
            .cloudcontrol
            .get_resource_request_status()
            .request_token(&token)
            .send()
            .await
            .map_err(|e| {
                RemediateError::Live(api_error(
                    clients,
                    "GetResourceRequestStatus",
                    &req.stack,
                    e,
                ))
            })?
            .progress_event;
        status = e.as_ref().and_then(|e| e.operation_status().cloned());
        message = e
            .as_ref()
            .and_then(|e| e.status_message().map(String::from))
            .or(message);
    }
    Ok(match status {
        Some(OperationStatus::Success) => RevertOutcome::Applied { request: token },
        other => RevertOutcome::Failed {
            request: token,
            reason: message.unwrap_or_else(|| {
                format!(
                    "Cloud Control ended {}",
                    other.map(|s| s.as_str().to_string()).unwrap_or_default()
                )
            }),
        },
    })
}

async fn ssm(
    clients: &Clients,
    req: &RevertRequest,
    patch: String,
    document: &str,
    assume_role: Option<&str>,
    calls: &Calls,
) -> Result<RevertOutcome, RemediateError> {
    let mut start = clients
        .ssm
        .start_automation_execution()
        .document_name(document)
        .client_token(uuid_like(&req.token))
        .parameters("TypeName", vec![req.type_name.clone()])
        .parameters("Identifier", vec![req.identifier.clone()])
        .parameters("PatchDocument", vec![patch])
        .parameters("ClientToken", vec![req.token.clone()]);
    if let Some(role) = assume_role {
        start = start.parameters("AutomationAssumeRole", vec![role.to_string()]);
    }
    calls.record("StartAutomationExecution");
    let id = match start.send().await {
        Ok(out) => out.automation_execution_id.unwrap_or_default(),
        Err(e) => {
            let err = api_error(clients, "StartAutomationExecution", &req.stack, e);
            if let crate::live::LiveError::Api { code, .. } = &err
                && code.contains("AutomationDefinitionNotFound")
            {
                return Err(RemediateError::RunbookMissing {
                    document: document.to_string(),
                });
            }
            return Err(RemediateError::Live(err));
        }
    };
    let deadline = tokio::time::Instant::now() + req.timeout;
    let mut wait = Duration::from_millis(250);
    loop {
        calls.record("GetAutomationExecution");
        let exec = clients
            .ssm
            .get_automation_execution()
            .automation_execution_id(&id)
            .send()
            .await
            .map_err(|e| {
                RemediateError::Live(api_error(clients, "GetAutomationExecution", &req.stack, e))
            })?
            .automation_execution;
        let status = exec
            .as_ref()
            .and_then(|e| e.automation_execution_status().cloned());
        match status {
            Some(AutomationExecutionStatus::Success) => {
                return Ok(RevertOutcome::Applied { request: id });
            }
            Some(
                AutomationExecutionStatus::Failed
                | AutomationExecutionStatus::Timedout
                | AutomationExecutionStatus::Cancelled
                | AutomationExecutionStatus::CompletedWithFailure,
            ) => {
                let reason = exec
                    .as_ref()
                    .and_then(|e| e.failure_message().map(String::from))
                    .or_else(|| {
                        exec.as_ref()?.step_executions().iter().find_map(|s| {
                            s.failure_message()
                                .map(|m| format!("{}: {m}", s.step_name().unwrap_or_default()))
                        })
                    })
                    .unwrap_or_else(|| {
                        format!(
                            "the automation ended {}",
                            status.map(|s| s.as_str().to_string()).unwrap_or_default()
                        )
                    });
                return Ok(RevertOutcome::Failed {
                    request: id,
                    reason,
                });
            }
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(RemediateError::TimedOut {
                stack: req.stack.clone(),
                what: format!("automation {id}"),
            });
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

/// SSM wants a UUID-shaped ClientToken (36 characters); derive one from ours.
fn uuid_like(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let h: String = Sha256::digest(token.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The runbook: apply an RFC 6902 patch through Cloud Control, wait for it,
/// and fail unless it succeeded. Installed by `driftsync bootstrap`.
pub const RUNBOOK: &str = r#"schemaVersion: '0.3'
description: >-
  driftsync: revert drifted properties of one resource by applying an RFC 6902
  patch through Cloud Control UpdateResource, leaving its identity and every
  other property as they are; then wait for the request and fail unless it succeeded.
assumeRole: '{{ AutomationAssumeRole }}'
parameters:
  AutomationAssumeRole:
    type: String
    description: The role the automation runs as (needs the resource type's Cloud Control update permissions).
    default: ''
  TypeName:
    type: String
    description: The CloudFormation resource type, e.g. AWS::EC2::SecurityGroup.
  Identifier:
    type: String
    description: The resource's primary identifier.
  PatchDocument:
    type: String
    description: The RFC 6902 patch, in CloudFormation property names.
  ClientToken:
    type: String
    description: Idempotency token; a repeat joins the first request.
outputs:
  - Patch.RequestToken
mainSteps:
  - name: Patch
    action: aws:executeAwsApi
    inputs:
      Service: cloudcontrol
      Api: UpdateResource
      TypeName: '{{ TypeName }}'
      Identifier: '{{ Identifier }}'
      PatchDocument: '{{ PatchDocument }}'
      ClientToken: '{{ ClientToken }}'
    outputs:
      - Name: RequestToken
        Selector: $.ProgressEvent.RequestToken
        Type: String
  - name: WaitForRequest
    action: aws:waitForAwsResourceProperty
    timeoutSeconds: 900
    inputs:
      Service: cloudcontrol
      Api: GetResourceRequestStatus
      RequestToken: '{{ Patch.RequestToken }}'
      PropertySelector: $.ProgressEvent.OperationStatus
      DesiredValues: [SUCCESS, FAILED, CANCEL_COMPLETE]
  - name: RequireSuccess
    action: aws:assertAwsResourceProperty
    inputs:
      Service: cloudcontrol
      Api: GetResourceRequestStatus
      RequestToken: '{{ Patch.RequestToken }}'
      PropertySelector: $.ProgressEvent.OperationStatus
      DesiredValues: [SUCCESS]
    isEnd: true
"#;

//! Carries a plan out: each step under a state-store action (so a rerun
//! after a crash joins the first attempt or skips what finished), the AWS
//! call through `remediate`, a fresh detection to verify reverts, and a line
//! in the audit log for every decision and action.

use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use serde::Serialize;
use serde_json::json;

use super::SyncOptions;
use crate::check::StackCheck;
use crate::drift::{self, Mode};
use crate::live::{self, Aws, Calls, Clients};
use crate::load::{Snapshot, StackState};
use crate::plan::{RevertPath, StackPlan, Step};
use crate::remediate::{
    self, ChangeSetKind, ChangeSetOutcome, ChangeSetRequest, RevertOutcome, RevertRequest,
    StackEvent, Via,
};
use crate::store::{ActionIntent, AuditEvent, Begin, Outcome, OutcomeKind, Store};
use crate::template::PropertyPath;
use crate::template::schema::SchemaFacts;

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    Applied,
    /// CloudFormation found nothing to change.
    NoChanges,
    Failed,
    /// Not done on purpose (it would replace a resource; a create-only revert).
    Refused,
    /// A previous run finished it.
    AlreadyDone,
    /// Left to another part of driftsync (codify: the PR bot).
    Deferred,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    /// Index into the plan's steps.
    pub step: usize,
    pub result: StepResult,
    pub reason: Option<String>,
    /// For reverts: whether a fresh detection found the properties in sync.
    pub verified: Option<bool>,
    pub detail: serde_json::Value,
    /// Time spent changing AWS (the revert or change set, waits included).
    pub act_ms: Option<u64>,
    /// Time spent detecting drift again to verify it.
    pub verify_ms: Option<u64>,
    /// Stack events seen while a change set ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<StackEvent>,
}

impl StepResult {
    /// The audit log's word for it: `applied` and `no_changes` both left
    /// AWS as the step wanted, so both are `succeeded` there (the step's own
    /// `result` stays in the line's `detail`).
    pub fn outcome(self) -> OutcomeKind {
        match self {
            StepResult::Applied | StepResult::NoChanges => OutcomeKind::Succeeded,
            StepResult::Failed => OutcomeKind::Failed,
            StepResult::Refused => OutcomeKind::Refused,
            StepResult::AlreadyDone => OutcomeKind::AlreadyDone,
            StepResult::Deferred => OutcomeKind::Deferred,
        }
    }
}

impl StepOutcome {
    pub(super) fn new(step: usize, result: StepResult, reason: Option<String>) -> Self {
        StepOutcome {
            step,
            result,
            reason,
            verified: None,
            detail: json!({}),
            act_ms: None,
            verify_ms: None,
            events: Vec::new(),
        }
    }
}

fn audit(store: &Mutex<Store>, event: AuditEvent) {
    let mut st = store.lock().unwrap_or_else(|p| p.into_inner());
    if let Err(e) = st.audit(&event) {
        tracing::error!(error = %e, "cannot write the audit log");
    }
}

#[allow(clippy::too_many_arguments)] // A stack's whole run context; a struct would only rename it.
pub(super) async fn apply_plan(
    snapshot: &Snapshot,
    aws: &Aws,
    store: &Mutex<Store>,
    plan: &StackPlan,
    check: &StackCheck,
    opts: &SyncOptions,
    calls: &Calls,
    observed: SystemTime,
) -> Vec<StepOutcome> {
    let revision = snapshot.revision.sha.clone();
    let event = |logical_id: Option<&str>,
                 path: Option<String>,
                 action: &str,
                 reason: String,
                 outcome: Option<OutcomeKind>,
                 detail: serde_json::Value| AuditEvent {
        time: SystemTime::now(),
        actor: opts.actor.clone(),
        revision: Some(revision.clone()),
        stack: plan.name.clone(),
        logical_id: logical_id.map(String::from),
        property_path: path,
        action: action.to_string(),
        reason,
        outcome,
        detail,
    };
    for d in &plan.decisions {
        let action = if d.blocked.is_some() {
            "blocked".to_string()
        } else {
            format!("{:?}", d.action).to_lowercase()
        };
        let reason = d.blocked.clone().unwrap_or_else(|| d.reason.clone());
        audit(
            store,
            event(
                Some(&d.logical_id),
                d.property_path.as_ref().map(|p| p.to_string()),
                &action,
                reason,
                None,
                json!({"rule": d.rule, "kind": d.kind}),
            ),
        );
    }

    let Some(state) = snapshot.stacks.iter().find(|s| s.spec.name == plan.name) else {
        return Vec::new();
    };
    let clients = match aws
        .clients(&plan.region, state.spec.role_arn.as_deref())
        .await
    {
        Ok(c) => c,
        Err(e) => return vec![StepOutcome::new(0, StepResult::Failed, Some(e.to_string()))],
    };
    let mut outcomes = Vec::new();
    let mut codified = None;
    for (i, step) in plan.steps.iter().enumerate() {
        let outcome = match step {
            Step::Refused { reason, .. } => {
                StepOutcome::new(i, StepResult::Refused, Some(reason.clone()))
            }
            // One branch for all of the stack's codify steps, made at the first.
            Step::Codify { .. } => match codified {
                None => {
                    let o = super::codify::run(snapshot, plan, check, opts, i).await;
                    codified = Some(i);
                    o
                }
                Some(first) => StepOutcome::new(
                    i,
                    outcomes
                        .get(first)
                        .map_or(StepResult::Deferred, |o: &StepOutcome| o.result),
                    Some(format!("on the branch of step {first}")),
                ),
            },
            _ => {
                let ctx = (revision.as_str(), opts, calls, observed);
                run_step(store, &clients, state, check, step, i, ctx).await
            }
        };
        let (logical_id, path) = subject(step);
        audit(
            store,
            event(
                logical_id,
                path,
                step_action(step),
                outcome
                    .reason
                    .clone()
                    .unwrap_or_else(|| "as planned".into()),
                Some(outcome.result.outcome()),
                json!({"step": step, "result": outcome.result, "verified": outcome.verified, "detail": outcome.detail}),
            ),
        );
        outcomes.push(outcome);
    }
    // The circuit breaker counts runs that failed to change what they set out to.
    let failed = outcomes.iter().any(|o| o.result == StepResult::Failed);
    let applied = outcomes
        .iter()
        .any(|o| matches!(o.result, StepResult::Applied | StepResult::NoChanges));
    let mut st = store.lock().unwrap_or_else(|p| p.into_inner());
    let r = if failed {
        st.record_failure(&plan.name, SystemTime::now()).map(|_| ())
    } else if applied {
        st.record_success(&plan.name)
    } else {
        Ok(())
    };
    if let Err(e) = r {
        tracing::warn!(stack = %plan.name, error = %e, "cannot update the circuit breaker");
    }
    outcomes
}

fn step_action(step: &Step) -> &'static str {
    match step {
        Step::RevertProperties { .. } => "revert",
        Step::RevertDrift { .. } => "revert_drift",
        Step::Deploy { .. } => "deploy",
        Step::Create { .. } => "create",
        Step::Codify { .. } => "codify",
        Step::Refused { .. } => "refuse",
    }
}

fn subject(step: &Step) -> (Option<&str>, Option<String>) {
    let paths = |p: &[PropertyPath]| {
        Some(
            p.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
    };
    match step {
        Step::RevertProperties {
            logical_id,
            paths: p,
            ..
        }
        | Step::Codify {
            logical_id,
            paths: p,
        } => (Some(logical_id), paths(p)),
        Step::Refused {
            logical_id,
            property_path,
            ..
        } => (
            Some(logical_id),
            property_path.as_ref().map(|p| p.to_string()),
        ),
        Step::RevertDrift { .. } | Step::Deploy { .. } | Step::Create { .. } => (None, None),
    }
}

/// The idempotency key and description of a step that changes AWS.
pub(super) fn intent(step: &Step, stack: &str, revision: &str) -> Option<ActionIntent> {
    let (key, logical_id, path, action) = match step {
        Step::RevertProperties {
            token,
            logical_id,
            paths,
            ..
        } => (
            token.clone(),
            logical_id.clone(),
            paths
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(","),
            crate::store::REVERT,
        ),
        Step::RevertDrift { change_set, .. } => (
            change_set.clone(),
            String::new(),
            String::new(),
            "revert_drift",
        ),
        Step::Deploy { change_set, .. } => {
            (change_set.clone(), String::new(), String::new(), "deploy")
        }
        Step::Create { change_set } => (change_set.clone(), String::new(), String::new(), "create"),
        _ => return None,
    };
    Some(ActionIntent {
        idempotency_key: key,
        stack: stack.to_string(),
        logical_id,
        property_path: path,
        action: action.to_string(),
        revision: revision.to_string(),
        detail: serde_json::to_value(step).unwrap_or_default(),
    })
}

async fn run_step(
    store: &Mutex<Store>,
    clients: &Clients,
    state: &StackState,
    check: &StackCheck,
    step: &Step,
    index: usize,
    // The revision, options, call counter, and when AWS was last read.
    (revision, opts, calls, observed): (&str, &SyncOptions, &Calls, SystemTime),
) -> StepOutcome {
    let Some(intent) = intent(step, &state.spec.name, revision) else {
        return StepOutcome::new(index, StepResult::Deferred, None);
    };
    // No action without a durable record: the attempt's row and its
    // `started` audit line are written together before AWS is touched.
    let (logical_id, path) = subject(step);
    let started_line = AuditEvent {
        time: SystemTime::now(),
        actor: opts.actor.clone(),
        revision: Some(revision.to_string()),
        stack: state.spec.name.clone(),
        logical_id: logical_id.map(String::from),
        property_path: path,
        action: step_action(step).to_string(),
        reason: "about to change AWS".into(),
        outcome: Some(OutcomeKind::Started),
        detail: json!({"step": step}),
    };
    let begun = store
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .begin_audited(&intent, observed, SystemTime::now(), &started_line);
    let (id, attempt) = match begun {
        Ok(Begin::Done(rec)) => {
            let mut o = StepOutcome::new(
                index,
                StepResult::AlreadyDone,
                rec.outcome
                    .as_ref()
                    .and_then(|o| o.reason().map(String::from)),
            );
            o.detail = json!({"finished": rec.finished_at.map(crate::check::rfc3339), "outcome": rec.outcome.as_ref().map(Outcome::as_str)});
            return o;
        }
        // A run that died mid-step: the deterministic name or token makes
        // doing it again join the first attempt.
        Ok(Begin::InProgress(rec)) => (rec.id, rec.attempt),
        Ok(Begin::New(id, attempt)) => (id, attempt),
        Err(e) => {
            return StepOutcome::new(
                index,
                StepResult::Failed,
                Some(format!(
                    "nothing was done: the action could not be recorded before acting: {}",
                    chain(&e)
                )),
            );
        }
    };
    let step = &for_attempt(step, attempt);
    let started = Instant::now();
    let mut outcome = execute(clients, state, check, step, index, opts, calls).await;
    let spent = started.elapsed().as_millis() as u64;
    outcome.act_ms = Some(spent.saturating_sub(outcome.verify_ms.unwrap_or(0)));
    let finished = match outcome.result {
        StepResult::Applied | StepResult::NoChanges => Outcome::Succeeded,
        StepResult::Refused => Outcome::Refused {
            reason: outcome.reason.clone().unwrap_or_default(),
        },
        _ => Outcome::Failed {
            reason: outcome.reason.clone().unwrap_or_default(),
        },
    };
    let mut st = store.lock().unwrap_or_else(|p| p.into_inner());
    if let Err(e) = st.finish(id, &finished, SystemTime::now()) {
        tracing::error!(error = %e, "cannot record the action's outcome");
    }
    // Credit a verified revert, so drift that comes back counts as a flip-flop.
    if let (
        Step::RevertProperties {
            logical_id, paths, ..
        },
        Some(true),
    ) = (step, outcome.verified)
    {
        for p in paths {
            let _ = st.resolve(
                &super::drift_key(check, logical_id, p),
                SystemTime::now(),
                Some(id),
            );
        }
    }
    outcome
}

/// An error and its causes, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// The step with the attempt's own client token or change set name: AWS
/// keeps a token's result, so a retry under the first token would only be
/// told the old failure again. The first attempt keeps the plan's.
fn for_attempt(step: &Step, attempt: u32) -> Step {
    let mut step = step.clone();
    if attempt > 1 {
        match &mut step {
            Step::RevertProperties { token: name, .. }
            | Step::RevertDrift {
                change_set: name, ..
            }
            | Step::Deploy {
                change_set: name, ..
            }
            | Step::Create { change_set: name } => name.push_str(&format!("-{attempt}")),
            Step::Codify { .. } | Step::Refused { .. } => {}
        }
    }
    step
}

async fn execute(
    clients: &Clients,
    state: &StackState,
    check: &StackCheck,
    step: &Step,
    index: usize,
    opts: &SyncOptions,
    calls: &Calls,
) -> StepOutcome {
    let stack = &state.spec.name;
    match step {
        Step::RevertProperties {
            logical_id,
            type_name,
            identifier,
            via,
            patch,
            token,
            paths,
            ..
        } => {
            let via = match via {
                RevertPath::CloudControl => Via::CloudControl,
                RevertPath::Ssm => Via::Ssm {
                    document: remediate::RUNBOOK_NAME.into(),
                    assume_role: None,
                },
            };
            let req = RevertRequest {
                stack: stack.clone(),
                logical_id: logical_id.clone(),
                type_name: type_name.clone(),
                identifier: identifier.clone(),
                ops: patch.clone(),
                token: token.clone(),
                via,
                timeout: opts.timeout,
            };
            match remediate::revert(clients, &req, calls).await {
                Ok(RevertOutcome::Applied { request }) => {
                    let mut o = StepOutcome::new(index, StepResult::Applied, None);
                    o.detail = json!({"request": request});
                    let t = Instant::now();
                    o.verified = verify(clients, check, logical_id, paths, calls).await;
                    o.verify_ms = Some(t.elapsed().as_millis() as u64);
                    if o.verified == Some(false) {
                        o.reason = Some(
                            "applied, but a fresh detection still finds the properties drifted"
                                .into(),
                        );
                    }
                    o
                }
                Ok(RevertOutcome::Failed { request, reason }) => {
                    let mut o = StepOutcome::new(index, StepResult::Failed, Some(reason));
                    o.detail = json!({"request": request});
                    o
                }
                Err(e) => StepOutcome::new(index, StepResult::Failed, Some(e.to_string())),
            }
        }
        Step::RevertDrift {
            change_set,
            resources,
            allow_replacement,
        } => {
            let req = change_set_request(
                state,
                change_set,
                ChangeSetKind::RevertDrift,
                *allow_replacement,
                opts,
            );
            let mut o = run_change_set(clients, &req, index, calls, false).await;
            if o.result == StepResult::Applied {
                let t = Instant::now();
                let mut all = true;
                for r in resources {
                    all &= verify(clients, check, r, &[], calls).await.unwrap_or(true);
                }
                o.verified = Some(all);
                o.verify_ms = Some(t.elapsed().as_millis() as u64);
            }
            o
        }
        Step::Deploy {
            change_set,
            allow_replacement,
            ..
        } => {
            let ctx = (index, opts, calls);
            deploy(clients, state, change_set, *allow_replacement, false, ctx).await
        }
        Step::Create { change_set } => {
            deploy(
                clients,
                state,
                change_set,
                false,
                true,
                (index, opts, calls),
            )
            .await
        }
        Step::Codify { .. } | Step::Refused { .. } => {
            StepOutcome::new(index, StepResult::Deferred, None)
        }
    }
}

/// Deploys the committed template and parameters: a change set, or for a
/// stack not deployed yet (`new_stack`), a create.
async fn deploy(
    clients: &Clients,
    state: &StackState,
    change_set: &str,
    allow_replacement: bool,
    new_stack: bool,
    (index, opts, calls): (usize, &SyncOptions, &Calls),
) -> StepOutcome {
    let (Some(text), Some(inputs)) = (&state.template_text, &state.inputs) else {
        return StepOutcome::new(
            index,
            StepResult::Failed,
            Some("the committed template did not load".into()),
        );
    };
    let kind = ChangeSetKind::Deploy {
        template_body: text.clone(),
        parameters: inputs
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    let req = change_set_request(state, change_set, kind, allow_replacement, opts);
    run_change_set(clients, &req, index, calls, new_stack).await
}

fn change_set_request(
    state: &StackState,
    name: &str,
    kind: ChangeSetKind,
    allow_replacement: bool,
    opts: &SyncOptions,
) -> ChangeSetRequest {
    ChangeSetRequest {
        stack: state.spec.name.clone(),
        kind,
        name: name.to_string(),
        capabilities: state
            .spec
            .capabilities
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        tags: state
            .spec
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        allow_replacement,
        timeout: opts.timeout,
        artifacts: state.spec.artifacts.clone(),
    }
}

/// Runs a change set (or, for a stack not deployed yet, a create) and
/// streams its events into the outcome.
async fn run_change_set(
    clients: &Clients,
    req: &ChangeSetRequest,
    index: usize,
    calls: &Calls,
    new_stack: bool,
) -> StepOutcome {
    let events = Mutex::new(Vec::new());
    let on_event = |e: &StackEvent| {
        tracing::info!(stack = %req.stack, resource = %e.logical_id, status = %e.status, reason = e.reason.as_deref().unwrap_or(""), "stack event");
        events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e.clone());
    };
    let result = if new_stack {
        remediate::changeset::create_stack(clients, req, &on_event, calls).await
    } else {
        remediate::run_change_set(clients, req, &on_event, calls).await
    };
    let mut o = match result {
        Ok(ChangeSetOutcome::Applied { .. }) => StepOutcome::new(index, StepResult::Applied, None),
        Ok(ChangeSetOutcome::NoChanges { .. }) => StepOutcome::new(
            index,
            StepResult::NoChanges,
            Some("CloudFormation found nothing to change".into()),
        ),
        Ok(ChangeSetOutcome::Refused { replacements, .. }) => StepOutcome::new(
            index,
            StepResult::Refused,
            Some(format!(
                "the change set would replace {}; set allow_replacement: true to allow it",
                replacements.join(", ")
            )),
        ),
        Ok(ChangeSetOutcome::Failed {
            stack_status,
            reason,
            ..
        }) => StepOutcome::new(
            index,
            StepResult::Failed,
            Some(format!("{stack_status}: {reason}")),
        ),
        Err(e) => StepOutcome::new(index, StepResult::Failed, Some(e.to_string())),
    };
    o.detail = json!({"change_set": req.name});
    o.events = events.into_inner().unwrap_or_else(|p| p.into_inner());
    o
}

/// Detects the resource's drift again: true when none of `paths` (all
/// paths when empty) still drifts; `None` when CloudFormation cannot say.
async fn verify(
    clients: &Clients,
    check: &StackCheck,
    logical_id: &str,
    paths: &[PropertyPath],
    calls: &Calls,
) -> Option<bool> {
    // A nested stack's resource is detected in its own stack.
    let nested = check
        .drift
        .iter()
        .find(|r| r.logical_id == logical_id)
        .and_then(|r| r.nested_stack.as_ref());
    let (stack_id, logical_id) = match nested {
        Some(n) => (n.stack_id.as_str(), n.logical_id.as_str()),
        None => (check.name.as_str(), logical_id),
    };
    let d = match live::detect_resource_drift_in(clients, stack_id, &check.name, logical_id, calls)
        .await
    {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(stack = %check.name, resource = %logical_id, error = %e, "cannot verify");
            return None;
        }
    };
    if d.status == "NOT_CHECKED" {
        return None;
    }
    let (Some(expected), Some(actual)) = (&d.expected, &d.actual) else {
        return Some(d.status == "IN_SYNC");
    };
    let no_tags = indexmap::IndexMap::new();
    let ctx = drift::Context {
        schema: SchemaFacts::embedded(),
        stack_tags: &no_tags,
        ignore: &[],
    };
    let input = drift::ResourceInput {
        stack: &check.name,
        logical_id,
        type_name: &d.type_name,
        expected,
        actual,
        mode: Mode::CloudFormation,
        attached: &[],
    };
    let left = drift::compare(&input, &ctx);
    Some(!left.iter().any(|x| {
        x.ignored_by.is_none()
            && (paths.is_empty()
                || paths.iter().any(|p| {
                    x.property_path.is_within(&p.to_string())
                        || p.is_within(&x.property_path.to_string())
                }))
    }))
}

//! Settles the attempts a killed run left in progress, at the start of the
//! next `sync --apply` of their stack, so that no `actions` row stays in
//! progress for ever: what became of each is read from AWS and recorded in
//! the table and the audit log, without acting again.
//!
//! Only attempts whose step is not in this run's plan are settled here (the
//! action may have worked before the kill, so its drift is gone and its key
//! never comes up). An attempt whose step is in the plan is joined by that
//! step instead: the same client token or change set name makes AWS answer
//! with the first operation, which is followed to its end.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::json;

use super::SyncOptions;
use crate::check::StackCheck;
use crate::live::{Aws, Calls};
use crate::load::Snapshot;
use crate::plan::StackPlan;
use crate::remediate::fate::{self, Fate};
use crate::store::{ActionRecord, AuditEvent, Outcome, Store};

/// Settles the stack's unfinished attempts that `plan` has no step for.
/// Failures to ask AWS or to record leave the attempt in progress, for the
/// next run to settle; they never stop this run.
pub(super) async fn settle(
    (snapshot, aws, store): (&Snapshot, &Aws, &Mutex<Store>),
    check: &StackCheck,
    plan: &StackPlan,
    opts: &SyncOptions,
    calls: &Calls,
) {
    let unfinished = store
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .unfinished(&check.name);
    let unfinished = match unfinished {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(stack = %check.name, error = %e, "cannot read the attempts in progress");
            return;
        }
    };
    let planned: HashSet<String> = plan
        .steps
        .iter()
        .filter_map(|s| super::apply::intent(s, &check.name, ""))
        .map(|i| i.idempotency_key)
        .collect();
    for rec in unfinished
        .iter()
        .filter(|r| !planned.contains(&r.intent.idempotency_key))
    {
        let fate = match ask(snapshot, aws, check, rec, calls).await {
            Ok(Some(fate)) => fate,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(stack = %check.name, action = %rec.id, error = %e, "cannot tell what became of an attempt a run left in progress");
                continue;
            }
        };
        let said = |what: String| {
            format!(
                "a run stopped during attempt {} and this run settled it: {what}",
                rec.attempt
            )
        };
        let outcome = match fate {
            Fate::Running => {
                tracing::info!(stack = %check.name, action = %rec.id, "an attempt a run left is still running in AWS; left in progress");
                continue;
            }
            Fate::Done => Outcome::Succeeded,
            Fate::Failed(why) => Outcome::Failed { reason: said(why) },
            Fate::NeverRan(why) => Outcome::Interrupted { reason: said(why) },
        };
        record(store, rec, &outcome, opts, &said);
    }
}

/// What became of `rec`'s attempt; `None` when AWS cannot say yet.
async fn ask(
    snapshot: &Snapshot,
    aws: &Aws,
    check: &StackCheck,
    rec: &ActionRecord,
    calls: &Calls,
) -> Result<Option<Fate>, Box<dyn std::error::Error + Send + Sync>> {
    let key = &rec.intent.idempotency_key;
    // The attempt's own name, as `apply::for_attempt` made it.
    let name = if rec.attempt > 1 {
        format!("{key}-{}", rec.attempt)
    } else {
        key.clone()
    };
    if rec.intent.action == crate::store::REVERT {
        return Ok(revert_fate(check, rec));
    }
    let role = snapshot
        .stacks
        .iter()
        .find(|s| s.spec.name == check.name)
        .and_then(|s| s.spec.role_arn.as_deref());
    let clients = aws.clients(&check.region, role).await?;
    Ok(Some(match rec.intent.action.as_str() {
        "create" => fate::stack_creation(&clients, &check.name, calls).await?,
        _ => fate::change_set(&clients, &check.name, &name, calls).await?,
    }))
}

/// A property revert, judged by this run's drift detection (Cloud Control
/// keeps no lookup by client token): none of its properties drifting any
/// more means it took effect; still drifting, that it did not. `None` when
/// the resource's drift is unknown (not checked, deleted).
fn revert_fate(check: &StackCheck, rec: &ActionRecord) -> Option<Fate> {
    // The check lists a resource in sync only if it has differences to show.
    let Some(resource) = check
        .drift
        .iter()
        .find(|r| r.logical_id == rec.intent.logical_id)
    else {
        return Some(Fate::Done);
    };
    if !matches!(resource.status.as_str(), "IN_SYNC" | "MODIFIED") {
        return None;
    }
    let paths: Vec<&str> = rec.intent.property_path.split(',').collect();
    let still = resource.differences.iter().any(|d| {
        d.ignored_by.is_none()
            && paths.iter().any(|p| {
                d.property_path.is_within(p) || p.starts_with(&d.property_path.to_string())
            })
    });
    Some(if still {
        Fate::NeverRan("its properties still drift, so the revert did not take effect".into())
    } else {
        Fate::Done
    })
}

fn record(
    store: &Mutex<Store>,
    rec: &ActionRecord,
    outcome: &Outcome,
    opts: &SyncOptions,
    said: &dyn Fn(String) -> String,
) {
    let now = SystemTime::now();
    let mut st = store.lock().unwrap_or_else(|p| p.into_inner());
    if let Err(e) = st.finish(rec.id, outcome, now) {
        tracing::warn!(action = %rec.id, error = %e, "cannot record how an attempt in progress ended");
        return;
    }
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let event = AuditEvent {
        time: now,
        actor: opts.actor.clone(),
        revision: Some(rec.intent.revision.clone()),
        stack: rec.intent.stack.clone(),
        logical_id: non_empty(&rec.intent.logical_id),
        property_path: non_empty(&rec.intent.property_path),
        action: rec.intent.action.clone(),
        reason: outcome
            .reason()
            .map_or_else(|| said("AWS shows it took effect".into()), String::from),
        outcome: Some(outcome.kind()),
        detail: json!({"action_id": rec.id, "attempt": rec.attempt, "settled": true}),
    };
    if let Err(e) = st.audit(&event) {
        tracing::error!(error = %e, "cannot write the audit log");
    }
}

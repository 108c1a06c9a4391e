//! `sync`: the reconcile loop. Per stack: check (live state, pending, drift)
//! → record what was seen → decide (policy) → plan → with `--apply`, carry
//! the plan out step by step and verify each revert by detecting again.
//!
//! Owns the order of the stages and the bookkeeping around actions (the
//! state store's idempotency keys, flip-flop counters, circuit breaker, the
//! audit log). It must not print (the CLI does), and it never acts beyond
//! the plan a dry run shows.

mod apply;
mod codify;
mod history;
pub mod review;
mod settle;
pub mod verdict;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::check::{self, CheckOptions, CheckReport, StackCheck};
use crate::drift::{digest, loop_path};
use crate::live::{Aws, Calls};
use crate::load::Snapshot;
use crate::plan::{self, StackPlan};
use crate::policy::Policy;
use crate::store::{DriftKey, Store};
use crate::template::PropertyPath;

pub use apply::{StepOutcome, StepResult};
pub use history::StoreHistory;

/// How to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Carry the plan out; without it, a dry run.
    pub apply: bool,
    pub check: CheckOptions,
    /// How long one remediation may take.
    pub timeout: Duration,
    /// Who is acting, for the audit log.
    pub actor: String,
    /// Publish verdicts to AWS Config where `driftsync bootstrap` made the rule.
    pub publish_verdicts: bool,
    /// The repository codify steps push their branch to; `None` defers them.
    pub codify: Option<CodifyRepo>,
}

/// How `sync --apply` reaches the repository to push codify branches.
#[derive(Debug, Clone)]
pub struct CodifyRepo {
    /// A local path or a URL, as `--repo` takes it.
    pub spec: String,
    pub options: crate::source::SourceOptions,
}

/// What `sync` did, or (without `--apply`) would do.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub schema_version: u32,
    pub revision: String,
    pub generated_at: String,
    pub applied: bool,
    pub summary: SyncSummary,
    pub stacks: Vec<StackSync>,
    pub stats: SyncStats,
    /// The check the plans were made from, for SARIF and annotations (not
    /// part of the JSON: the plans already carry what it found).
    #[serde(skip)]
    pub check: CheckReport,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncSummary {
    pub stacks: usize,
    /// Steps in the plans (changes to AWS, codify proposals, refusals).
    pub planned: usize,
    pub applied: usize,
    pub failed: usize,
    pub refused: usize,
    /// Decisions a limit stopped (flip-flops, revert limits, open circuits).
    pub blocked: usize,
    /// Stacks that could not be checked.
    pub errors: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncStats {
    pub duration_ms: u64,
    /// Where the time went: checking (live state, pending, drift), deciding
    /// (state, policy, plan), acting on AWS, and verifying reverts.
    pub phases_ms: Phases,
    pub api_calls: std::collections::BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Phases {
    pub detect: u64,
    pub decide: u64,
    pub act: u64,
    pub verify: u64,
}

/// One stack: its plan and, with `--apply`, how each step went.
#[derive(Debug, Clone, Serialize)]
pub struct StackSync {
    #[serde(flatten)]
    pub plan: StackPlan,
    pub outcomes: Vec<StepOutcome>,
    /// How long each open drift has been open (for reports and SLOs), by `logical_id path`.
    pub drift_age_secs: std::collections::BTreeMap<String, u64>,
    /// Codify pull requests closed because their drift is gone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closed_pull_requests: Vec<review::Review>,
}

/// Syncs every stack of the snapshot (those `opts.check.stacks` names, or all).
pub async fn run(
    snapshot: &Snapshot,
    aws: &Aws,
    store: &Mutex<Store>,
    policy: &Policy,
    opts: &SyncOptions,
) -> SyncReport {
    let started = Instant::now();
    // What AWS showed from here on decides; older records do not.
    let observed = SystemTime::now();
    let report = check::run(snapshot, aws, &opts.check, &|_| {}).await;
    let mut phases = Phases {
        detect: started.elapsed().as_millis() as u64,
        ..Phases::default()
    };
    let calls = Calls::default();
    let mut stacks = Vec::with_capacity(report.stacks.len());
    for stack in &report.stacks {
        let (s, decide) =
            sync_stack(snapshot, aws, store, policy, stack, opts, &calls, observed).await;
        phases.decide += decide.as_millis() as u64;
        for o in &s.outcomes {
            phases.act += o.act_ms.unwrap_or(0);
            phases.verify += o.verify_ms.unwrap_or(0);
        }
        stacks.push(s);
    }
    if opts.apply && opts.publish_verdicts {
        verdict::publish_all(aws, snapshot, &stacks, &calls).await;
    }
    let mut api_calls = report.stats.api_calls.clone();
    for (op, n) in calls.snapshot() {
        *api_calls.entry(op).or_default() += n;
    }
    let summary = summarize(&stacks);
    SyncReport {
        schema_version: 1,
        revision: snapshot.revision.sha.clone(),
        generated_at: check::rfc3339(SystemTime::now()),
        applied: opts.apply,
        summary,
        stacks,
        stats: SyncStats {
            duration_ms: started.elapsed().as_millis() as u64,
            phases_ms: phases,
            api_calls,
        },
        check: report,
    }
}

fn summarize(stacks: &[StackSync]) -> SyncSummary {
    let mut s = SyncSummary {
        stacks: stacks.len(),
        ..SyncSummary::default()
    };
    for st in stacks {
        s.planned += st.plan.steps.len();
        for d in st.plan.decisions.iter().filter(|d| d.blocked.is_some()) {
            // A replacement the policy does not allow is a refusal, counted as
            // a failure; the other limits are a stop that needs a person.
            if d.blocked_by == Some(crate::policy::LimitKind::Replacement) {
                s.refused += 1;
            } else {
                s.blocked += 1;
            }
        }
        s.errors += usize::from(st.plan.error.is_some());
        for o in &st.outcomes {
            match o.result {
                StepResult::Applied | StepResult::NoChanges => s.applied += 1,
                StepResult::Failed => s.failed += 1,
                StepResult::Refused => s.refused += 1,
                StepResult::AlreadyDone | StepResult::Deferred => {}
            }
        }
        if st.outcomes.is_empty() {
            s.refused += st
                .plan
                .steps
                .iter()
                .filter(|x| matches!(x, plan::Step::Refused { .. }))
                .count();
        }
    }
    s
}

impl SyncReport {
    /// 1 when a stack could not be checked or a step failed or was refused;
    /// 2 when there was something to do (planned, or done); 0 otherwise.
    pub fn exit_code(&self) -> u8 {
        let s = &self.summary;
        if s.errors > 0 || s.failed > 0 || s.refused > 0 {
            1
        } else if s.planned > 0
            || s.blocked > 0
            || self.stacks.iter().any(|x| !x.plan.decisions.is_empty())
        {
            2
        } else {
            0
        }
    }
}

/// One drift as the state store knows it.
struct Observed {
    /// Its identity: an unordered list's element by content (see
    /// [`drift::loop_path`]), so loop protection counts the same drift.
    key: DriftKey,
    /// A digest of the live value, for drift episodes.
    hash: String,
    actor: Option<String>,
    /// The property path as reported, for `drift_age_secs`.
    shown: String,
}

/// Every real difference (and deleted resource) of a stack, as state keys.
fn drift_keys(check: &StackCheck) -> Vec<Observed> {
    let mut out = Vec::new();
    for r in check.drift.iter().filter(|r| r.is_drifted()) {
        let actor = r.changed_by.first().map(|c| c.principal.clone());
        if r.status == "DELETED" {
            out.push(Observed {
                key: DriftKey::new(&check.name, &r.logical_id, ""),
                hash: "deleted".to_string(),
                actor,
                shown: format!("{} ", r.logical_id),
            });
            continue;
        }
        for d in r.differences.iter().filter(|d| d.ignored_by.is_none()) {
            let value = d.actual.as_ref().map(|v| v.to_json()).unwrap_or_default();
            out.push(Observed {
                key: DriftKey::new(&check.name, &r.logical_id, loop_path(&r.type_name, d)),
                hash: digest(&value),
                actor: actor.clone(),
                shown: format!("{} {}", r.logical_id, d.property_path),
            });
        }
    }
    out
}

/// The state key of `logical_id`'s drift at `path`, as [`drift_keys`] makes it.
fn drift_key(check: &StackCheck, logical_id: &str, path: &PropertyPath) -> DriftKey {
    let found = check
        .drift
        .iter()
        .filter(|r| r.logical_id == logical_id)
        .find_map(|r| {
            let d = r.differences.iter().find(|d| d.property_path == *path)?;
            Some(loop_path(&r.type_name, d))
        });
    DriftKey::new(
        &check.name,
        logical_id,
        found.unwrap_or_else(|| path.to_string()),
    )
}

/// Whether the revert runbook is installed where the stack lives, asked
/// only when `revert.via: auto` has a property to revert.
async fn runbook(
    snapshot: &Snapshot,
    aws: &Aws,
    check: &StackCheck,
    decisions: &crate::policy::StackDecisions,
    calls: &Calls,
) -> plan::Runbook {
    let reverts = decisions.decisions.iter().any(|d| {
        d.kind == crate::config::DecisionKind::Drift
            && d.action == crate::config::Action::Revert
            && d.is_actionable()
    });
    if decisions.revert_via != crate::config::RevertVia::Auto || !reverts {
        return plan::Runbook::NotAsked;
    }
    let Some(state) = snapshot.stacks.iter().find(|s| s.spec.name == check.name) else {
        return plan::Runbook::NotAsked;
    };
    let clients = match aws
        .clients(&check.region, state.spec.role_arn.as_deref())
        .await
    {
        Ok(c) => c,
        Err(e) => return plan::Runbook::Unknown(e.to_string()),
    };
    match crate::remediate::runbook_installed(&clients, &check.name, calls).await {
        Ok(true) => plan::Runbook::Installed,
        Ok(false) => plan::Runbook::Missing,
        Err(e) => {
            tracing::warn!(stack = %check.name, error = %e, "cannot tell whether the revert runbook is installed; reverting through Cloud Control");
            plan::Runbook::Unknown(e.to_string())
        }
    }
}

#[allow(clippy::too_many_arguments)] // A stack's whole run context; a struct would only rename it.
async fn sync_stack(
    snapshot: &Snapshot,
    aws: &Aws,
    store: &Mutex<Store>,
    policy: &Policy,
    check: &StackCheck,
    opts: &SyncOptions,
    calls: &Calls,
    observed: SystemTime,
) -> (StackSync, Duration) {
    let now = SystemTime::now();
    let deciding = Instant::now();
    let limits = policy.limits(&check.name);
    let keys = drift_keys(check);
    let mut epochs: HashMap<String, String> = HashMap::new();
    let mut ages = std::collections::BTreeMap::new();

    // What was seen: drift episodes, and drift that came back after a revert.
    let decisions = {
        let mut st = store.lock().unwrap_or_else(|p| p.into_inner());
        // A dry run reads the state but writes nothing anywhere.
        if check.error.is_none() && !opts.apply {
            for o in &keys {
                if let Ok(Some(age)) = st.age(&o.key, now) {
                    ages.insert(o.shown.clone(), age.as_secs());
                }
                if let Ok(drifts) = st.open_drifts(&check.name)
                    && let Some(r) = drifts.iter().find(|r| r.key == o.key)
                {
                    epochs.insert(o.key.logical_id.clone(), check::rfc3339(r.first_seen));
                }
            }
        }
        if check.error.is_none() && opts.apply {
            for o in &keys {
                match st.observe(&o.key, &o.hash, now) {
                    Ok(obs) => {
                        let epoch = epochs.entry(o.key.logical_id.clone()).or_default();
                        let seen = check::rfc3339(obs.first_seen);
                        if seen > *epoch {
                            *epoch = seen;
                        }
                        ages.insert(
                            o.shown.clone(),
                            now.duration_since(obs.first_seen)
                                .unwrap_or_default()
                                .as_secs(),
                        );
                        if obs.reappeared_after_revert
                            && let Err(e) =
                                st.record_flip_flop(&o.key, o.actor.as_deref(), limits.window, now)
                        {
                            tracing::warn!(key = %o.key, error = %e, "cannot record a flip-flop");
                        }
                    }
                    Err(e) => tracing::warn!(key = %o.key, error = %e, "cannot record drift"),
                }
            }
            let present: Vec<DriftKey> = keys.iter().map(|o| o.key.clone()).collect();
            if let Err(e) = st.resolve_absent(&check.name, &present, now, None) {
                tracing::warn!(stack = %check.name, error = %e, "cannot record resolved drift");
            }
        }
        policy.decide(check, &StoreHistory { store: &st, policy }, now)
    };
    for d in decisions
        .decisions
        .iter()
        .filter(|d| d.limit_overridden.is_some())
    {
        tracing::warn!(
            stack = %check.name,
            logical_id = %d.logical_id,
            "a guard violation is reverted although loop protection would stop it: {}",
            d.reason
        );
    }

    let runbook = runbook(snapshot, aws, check, &decisions, calls).await;
    let mut plan = plan::build(
        check,
        &decisions,
        &snapshot.revision.sha,
        &runbook,
        &|logical_id| epochs.get(logical_id).cloned().unwrap_or_default(),
    );
    if let Some(state) = snapshot.stacks.iter().find(|s| s.spec.name == check.name)
        && let Some(text) = &state.template_text
    {
        plan::check_template_size(&mut plan, text.len(), state.spec.artifacts.as_ref());
    }
    let decided = deciding.elapsed();
    // Attempts a killed run left: settled from AWS before acting again.
    let checked = matches!(
        check.status,
        check::CheckStatus::InSync
            | check::CheckStatus::Drifted
            | check::CheckStatus::Pending
            | check::CheckStatus::DriftedAndPending
    );
    if opts.apply && check.error.is_none() && checked {
        settle::settle((snapshot, aws, store), check, &plan, opts, calls).await;
    }
    let mut outcomes = Vec::new();
    if opts.apply && !plan.steps.is_empty() {
        outcomes =
            apply::apply_plan(snapshot, aws, store, &plan, check, opts, calls, observed).await;
    }
    let mut closed_pull_requests = Vec::new();
    let settled = check.error.is_none() && check.status != check::CheckStatus::Skipped;
    if let (true, true, Some(settings)) = (opts.apply, settled, &snapshot.config.github) {
        let keep = outcomes
            .iter()
            .find_map(|o| o.detail.get("branch").and_then(|b| b.as_str()));
        match review::close_stale(settings, &check.name, keep).await {
            Ok(closed) => closed_pull_requests = closed,
            Err(e) => {
                tracing::warn!(stack = %check.name, error = %e, "cannot close stale codify pull requests")
            }
        }
    }
    let synced = StackSync {
        plan,
        outcomes,
        drift_age_secs: ages,
        closed_pull_requests,
    };
    (synced, decided)
}

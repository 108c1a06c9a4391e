//! `check`: for every stack, is git ahead of the stack (pending), and has the
//! live stack moved away from its template (drift)?
//!
//! Owns the per-stack pipeline — live stack → pending diff → drift detection
//! (CloudFormation, or Cloud Control with `deep`) → noise filter → attribution
//! — and the report it produces. [`check_stack`] handles one stack and is what
//! a scheduler calls; [`run`] checks every stack with bounded concurrency. It
//! must not print (the CLI does) or change anything in AWS.

mod attribution;
mod deep;
mod model;
mod nested;
mod pending;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use tokio::sync::Semaphore;

use crate::config::Ignore;
use crate::drift::{self, Mode};
use crate::live::{self, Aws, Calls, DetectOptions, LiveStack, StackStatusClass};
use crate::load::{Snapshot, StackState};
use crate::template::PropertyPath;
use crate::template::resolve::DesiredStack;
use crate::template::schema::SchemaFacts;

pub use model::{
    CheckReport, CheckStatus, ConfigVerdict, Location, NestedIn, PendingChange, ResourceReport,
    StackCheck, Summary,
};

/// How to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Compare through Cloud Control instead of CloudFormation's detection.
    pub deep: bool,
    /// Only this resource (DetectStackResourceDrift), in the named stacks.
    pub resource: Option<String>,
    /// Only these stacks (all when empty).
    pub stacks: Vec<String>,
    /// Stacks checked at once.
    pub concurrency: usize,
    pub detect: DetectOptions,
    /// Look up who changed drifted resources in CloudTrail.
    pub attribution: bool,
    pub attribution_window: Duration,
    /// Skip drift detection for stacks AWS Config's drift rule found
    /// compliant within this age (and since their last update).
    pub trust_config: Option<Duration>,
    /// The whole run's deadline: a stack not checked by then is reported
    /// as timed out (the flag that set it, for the message).
    pub deadline: Option<(Duration, &'static str)>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            deep: false,
            resource: None,
            stacks: Vec::new(),
            concurrency: 8,
            detect: DetectOptions::default(),
            attribution: true,
            attribution_window: Duration::from_secs(90 * 24 * 3600),
            trust_config: None,
            deadline: None,
        }
    }
}

/// Checks every stack of a snapshot. `progress` is called as each stack finishes.
pub async fn run(
    snapshot: &Snapshot,
    aws: &Aws,
    opts: &CheckOptions,
    progress: &(dyn Fn(&StackCheck) + Sync),
) -> CheckReport {
    let started = Instant::now();
    let deadline = opts
        .deadline
        .map(|(d, flag)| (tokio::time::Instant::now() + d, timed_out(d, flag)));
    let run_calls = Calls::default();
    let chosen: Vec<&StackState> = snapshot
        .stacks
        .iter()
        .filter(|s| opts.stacks.is_empty() || opts.stacks.iter().any(|n| n == &s.spec.name))
        .collect();

    // Describe stacks once per (region, role): hundreds of stacks cost a few
    // paginated calls, not one each.
    let mut groups: IndexMap<(String, Option<String>), Vec<&StackState>> = IndexMap::new();
    for s in &chosen {
        groups
            .entry((s.spec.region.clone(), s.spec.role_arn.clone()))
            .or_default()
            .push(s);
    }
    let per_stack: std::collections::HashMap<String, Calls> = chosen
        .iter()
        .map(|s| (s.spec.name.clone(), run_calls.child()))
        .collect();
    let mut described: std::collections::HashMap<String, Result<Option<LiveStack>, String>> =
        std::collections::HashMap::new();
    let mut trusted: std::collections::HashMap<String, SystemTime> =
        std::collections::HashMap::new();
    for ((region, role), stacks) in &groups {
        let names: Vec<&str> = stacks.iter().map(|s| s.spec.name.as_str()).collect();
        let describe = async {
            let clients = aws.clients(region, role.as_deref()).await;
            let result = match &clients {
                // Err(Ok(_)): the call failed; Err(Err(_)): no clients to call with.
                Ok(c) => live::describe_stacks(c, &names, &per_stack, &run_calls)
                    .await
                    .map_err(Ok),
                Err(e) => Err(Err(e.to_string())),
            };
            (clients.ok(), result)
        };
        let (clients, result) = match &deadline {
            Some((at, why)) => tokio::time::timeout_at(*at, describe)
                .await
                .unwrap_or_else(|_| (None, Err(Err(why.clone())))),
            None => describe.await,
        };
        if let (Some(age), Some(c), Ok(_)) = (opts.trust_config, &clients, &result) {
            // One query per account and region; a failure only costs the saving.
            match live::compliant_stacks(c, live::DRIFT_RULE, age, SystemTime::now(), &run_calls)
                .await
            {
                Ok(found) => trusted.extend(found),
                Err(e) => {
                    tracing::warn!(%region, error = %e, "cannot read AWS Config compliance; detecting drift instead")
                }
            }
        }
        for name in names {
            let r = match &result {
                Ok(map) => Ok(map.get(name).cloned().flatten()),
                // Each stack's error names that stack.
                Err(Ok(e)) => Err(e.for_stack(name)),
                Err(Err(e)) => Err(e.clone()),
            };
            described.insert(name.to_string(), r);
        }
    }

    let limit = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let checks = chosen.iter().map(|state| {
        let limit = limit.clone();
        let deadline = &deadline;
        let calls = per_stack[&state.spec.name].clone();
        let live = described.remove(&state.spec.name).unwrap_or(Ok(None));
        let verdict = match &live {
            Ok(Some(l)) => trusted.get(&l.stack_id).copied(),
            _ => None,
        };
        async move {
            let _permit = limit.acquire().await.expect("semaphore is never closed");
            let check = match live {
                Ok(live) => {
                    let ignore = &snapshot.config.ignore;
                    let one = check_stack(state, aws, live, opts, ignore, verdict, &calls);
                    match deadline {
                        Some((at, why)) => tokio::time::timeout_at(*at, one)
                            .await
                            .unwrap_or_else(|_| StackCheck::error(state, why.clone())),
                        None => one.await,
                    }
                }
                Err(e) => StackCheck::error(state, e),
            };
            let check = check.with_calls(&calls);
            progress(&check);
            check
        }
    });
    let stacks = futures_util::future::join_all(checks).await;
    CheckReport::new(snapshot, stacks, run_calls.snapshot(), started.elapsed())
}

/// The error of a stack the run's deadline cut short.
fn timed_out(d: Duration, flag: &str) -> String {
    format!(
        "timed out: the run's deadline of {} ({flag}) passed before this stack was checked",
        humantime::format_duration(d)
    )
}

/// Checks one stack whose live state has been described (`None`: not
/// deployed). `config_compliant_at`: when AWS Config's drift rule last found
/// it compliant, if recently enough to trust (see `CheckOptions::trust_config`).
pub async fn check_stack(
    state: &StackState,
    aws: &Aws,
    live: Option<LiveStack>,
    opts: &CheckOptions,
    ignore: &[Ignore],
    config_compliant_at: Option<SystemTime>,
    calls: &Calls,
) -> StackCheck {
    let Some(desired) = &state.desired else {
        let first = state
            .diagnostics
            .iter()
            .find(|d| d.diagnostic.severity == crate::template::validate::Severity::Error);
        let why = first
            .map(|d| format!("{}: {}", d.place(), d.diagnostic.message))
            .unwrap_or_else(|| "the template does not load".into());
        return StackCheck::error(state, format!("cannot check: {why}"));
    };
    let Some(live) = live else {
        return StackCheck::new(state, None).with_status(CheckStatus::NotDeployed);
    };
    let mut check = StackCheck::new(state, Some(&live));
    match live.class() {
        StackStatusClass::Stable => {}
        StackStatusClass::InProgress => {
            return check.skipped(format!(
                "{} is in progress; check again when it settles",
                live.status
            ));
        }
        StackStatusClass::Failed => {
            let reason = live.status_reason.as_deref().unwrap_or("no reason given");
            return check.failed_state(format!(
                "the stack is {} ({reason}); fix or roll it back first",
                live.status
            ));
        }
        StackStatusClass::ReviewInProgress | StackStatusClass::Deleted => {
            return check.with_status(CheckStatus::NotDeployed);
        }
    }
    let clients = match aws
        .clients(&live.region, state.spec.role_arn.as_deref())
        .await
    {
        Ok(c) => c,
        Err(e) => return StackCheck::error(state, e.to_string()),
    };

    // Pending: the committed desired state against what CloudFormation deployed.
    let deployed = match pending::deployed(&clients, state, desired, &live, calls).await {
        Ok(d) => d,
        Err(e) => return check.fail(e.to_string()),
    };
    check.pending = pending::pending(&deployed.desired, desired);

    // AWS Config ran CloudFormation's detection recently and found no drift,
    // and nothing was deployed since: trust it rather than detect again.
    // Deep checks and single resources see what Config cannot, so never skip them.
    let trustable = !(opts.deep || state.spec.deep) && opts.resource.is_none();
    if let Some(at) = config_compliant_at
        && trustable
        && live.last_updated.is_none_or(|updated| updated <= at)
    {
        check.config_verdict = Some(ConfigVerdict {
            rule: live::DRIFT_RULE.to_string(),
            evaluated_at: rfc3339(at),
        });
        check.locate(state);
        return check.settle();
    }

    // Drift: CloudFormation's detection, or Cloud Control with `deep`.
    let schema = SchemaFacts::embedded();
    let ctx = drift::Context {
        schema,
        stack_tags: &live.tags,
        ignore,
    };
    let resources = if opts.deep || state.spec.deep {
        deep::deep_drift(
            &clients,
            state,
            &deployed,
            &live,
            opts.resource.as_deref(),
            &ctx,
            calls,
        )
        .await
    } else {
        cloudformation_drift(&clients, state, &live, opts, &ctx, calls).await
    };
    match resources {
        Ok(mut r) => {
            for report in &mut r {
                mask_secrets(report, &deployed.desired, desired);
            }
            check.drift = r;
        }
        Err(e) => return check.fail(e.to_string()),
    }

    // Guards and break-glass tags need the whole live resource; CloudFormation's
    // detection returns only what the template declares. Read the drifted
    // ones through Cloud Control (one call each; types it cannot read keep
    // what detection returned).
    if !(opts.deep || state.spec.deep) {
        for r in check
            .drift
            .iter_mut()
            .filter(|r| r.is_drifted() && r.status != "DELETED")
        {
            let Some(physical) = r.physical_id.clone() else {
                continue;
            };
            match live::read_resource(&clients, &state.spec.name, &r.type_name, &physical, calls)
                .await
            {
                Ok(props) => r.actual = Some(props),
                Err(e) => {
                    tracing::debug!(stack = %state.spec.name, resource = %r.logical_id, error = %e, "no full live properties")
                }
            }
        }
    }

    // Attribution: who made each drifted change, from CloudTrail.
    if opts.attribution {
        let since = SystemTime::now() - opts.attribution_window;
        for r in check.drift.iter_mut().filter(|r| r.is_drifted()) {
            let Some(physical) = r.physical_id.clone() else {
                continue;
            };
            let events = match live::lookup_events(
                &clients,
                &state.spec.name,
                &physical,
                since,
                calls,
            )
            .await
            {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(stack = %state.spec.name, resource = %r.logical_id, error = %e, "no CloudTrail attribution");
                    continue;
                }
            };
            let paths: Vec<PropertyPath> = r
                .differences
                .iter()
                .filter(|d| !d.is_ignored())
                .map(|d| d.property_path.clone())
                .collect();
            let tag_property = schema
                .get(&r.type_name)
                .and_then(|f| f.tagging.as_ref())
                .and_then(|t| t.tag_property.clone())
                .unwrap_or_else(|| "/Tags".into());
            let is_tag = |p: &PropertyPath| p.is_within(&tag_property);
            let drifted = attribution::Drifted {
                type_name: &r.type_name,
                paths: &paths,
                is_tag: &is_tag,
                since: live.last_updated,
            };
            r.changed_by = attribution::changed_by(&events, &drifted, 3);
        }
    }
    check.locate(state);
    check.settle()
}

async fn cloudformation_drift(
    clients: &live::Clients,
    state: &StackState,
    live: &LiveStack,
    opts: &CheckOptions,
    ctx: &drift::Context<'_>,
    calls: &Calls,
) -> Result<Vec<ResourceReport>, live::LiveError> {
    let drifts = match &opts.resource {
        Some(id) => vec![live::detect_resource_drift(clients, live, id, calls).await?],
        None => {
            live::detect_stack_drift(clients, live, &opts.detect, calls)
                .await?
                .resources
        }
    };
    let mut out = Vec::new();
    // DescribeStackResourceDrifts leaves out resources whose types CloudFormation
    // cannot check; they are NOT_CHECKED, not in sync. Nested stacks are
    // checked on their own, as CloudFormation's detection does not descend.
    if opts.resource.is_none() {
        let listed = live::list_resources(clients, live, calls).await?;
        for r in &listed {
            if r.type_name != nested::TYPE && !drifts.iter().any(|d| d.logical_id == r.logical_id) {
                out.push(not_checked(r, None, None));
            }
        }
        out.extend(
            nested::drift(clients, &state.spec.name, &listed, &opts.detect, ctx, calls).await,
        );
    }
    for d in drifts {
        out.push(report_of(&state.spec.name, d, ctx, None));
    }
    Ok(out)
}

/// A resource the detection left out.
fn not_checked(
    r: &live::StackResource,
    nested_stack: Option<NestedIn>,
    note: Option<String>,
) -> ResourceReport {
    ResourceReport {
        logical_id: nested_stack.as_ref().map_or_else(
            || r.logical_id.clone(),
            |n| format!("{}/{}", n.path, r.logical_id),
        ),
        physical_id: r.physical_id.clone(),
        type_name: r.type_name.clone(),
        status: "NOT_CHECKED".into(),
        differences: Vec::new(),
        changed_by: Vec::new(),
        location: None,
        locations: Vec::new(),
        checked_at: None,
        actual: None,
        nested_stack,
        note,
    }
}

/// One resource's detection result as a report, compared by the noise filter.
fn report_of(
    stack: &str,
    d: live::ResourceDrift,
    ctx: &drift::Context<'_>,
    nested_stack: Option<NestedIn>,
) -> ResourceReport {
    let logical_id = nested_stack.as_ref().map_or_else(
        || d.logical_id.clone(),
        |n| format!("{}/{}", n.path, d.logical_id),
    );
    let differences = match (&d.expected, &d.actual) {
        (Some(expected), Some(actual)) => drift::compare(
            &drift::ResourceInput {
                stack,
                logical_id: &logical_id,
                type_name: &d.type_name,
                expected,
                actual,
                mode: Mode::CloudFormation,
                attached: &[],
            },
            ctx,
        ),
        _ => drift::from_cloudformation(stack, &logical_id, &d.type_name, &d.differences, ctx),
    };
    ResourceReport {
        logical_id,
        physical_id: d.physical_id,
        type_name: d.type_name,
        status: d.status,
        differences,
        changed_by: Vec::new(),
        location: None,
        locations: Vec::new(),
        checked_at: d.checked_at.map(rfc3339),
        actual: d.actual,
        nested_stack,
        note: None,
    }
}

/// Secrets show nowhere: a property the deployed or the committed template
/// builds from a secret is masked in the report (and so in the state and
/// audit log, which record the report's values).
fn mask_secrets(report: &mut ResourceReport, deployed: &DesiredStack, committed: &DesiredStack) {
    let sides = [deployed, committed].map(|d| d.resources.get(&report.logical_id));
    drift::mask_secrets(&mut report.differences, |path| {
        sides.iter().flatten().any(|r| r.is_secret(path))
    });
}

/// RFC 3339 in UTC, as every report writes times.
pub fn rfc3339(t: SystemTime) -> String {
    aws_smithy_types::DateTime::from(t)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

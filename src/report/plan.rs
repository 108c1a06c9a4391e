//! Human and markdown views of a plan (`driftsync plan`, `sync`), with the
//! outcome of each step once `sync --apply` ran.

use std::fmt::Write;

use super::count;
use super::md;
use super::style::{bold, dim, green, red, yellow};
use crate::config::Action;
use crate::plan::Step;
use crate::policy::RuleRef;
use crate::sync::{StackSync, StepOutcome, StepResult, SyncReport};

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Report => "report",
        Action::Revert => "revert",
        Action::Reapply => "reapply",
        Action::Codify => "codify",
        Action::Ignore => "ignore",
    }
}

/// One line describing a step.
pub fn step_text(step: &Step) -> String {
    match step {
        Step::RevertProperties {
            logical_id,
            paths,
            via,
            patch,
            ..
        } => {
            let ops: Vec<String> = patch
                .iter()
                .map(|o| format!("{} {}", o.op, o.path))
                .collect();
            let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
            format!(
                "revert {logical_id} {} via {} ({})",
                paths.join(", "),
                serde_json::to_value(via)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                ops.join("; ")
            )
        }
        Step::RevertDrift {
            change_set,
            resources,
            ..
        } => format!(
            "revert drift of {} with change set {change_set} (REVERT_DRIFT)",
            resources.join(", ")
        ),
        Step::Create { change_set } => {
            format!("create the stack from the committed template ({change_set})")
        }
        Step::Deploy {
            change_set,
            changes,
            ..
        } => format!(
            "deploy the commit with change set {change_set} ({changes} change{})",
            if *changes == 1 { "" } else { "s" }
        ),
        Step::Codify { logical_id, paths } => {
            let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
            format!("codify {logical_id} {} (pull request)", paths.join(", "))
        }
        Step::Refused {
            logical_id,
            property_path,
            reason,
        } => {
            let path = property_path
                .as_ref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default();
            format!("refused: {logical_id}{path}: {reason}")
        }
    }
}

fn outcome_text(o: &StepOutcome) -> String {
    let verified = match o.verified {
        Some(true) => " (verified in sync)",
        Some(false) => " (NOT verified)",
        None => "",
    };
    let reason = o
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    match o.result {
        StepResult::Applied => green(&format!("✓ applied{verified}{reason}")),
        StepResult::NoChanges => green(&format!("✓ nothing to change{reason}")),
        StepResult::AlreadyDone => dim(&format!("✓ already done by an earlier run{reason}")),
        StepResult::Deferred => dim(&format!("… deferred{reason}")),
        StepResult::Refused => red(&format!("✗ refused{reason}")),
        StepResult::Failed => red(&format!("✗ failed{reason}")),
    }
}

/// The human view.
pub fn render(report: &SyncReport, revision_line: &str) -> String {
    let mut out = String::new();
    let mode = if report.applied {
        "sync --apply"
    } else {
        "plan (dry run)"
    };
    let _ = writeln!(
        out,
        "{} {} {}",
        bold(&format!("driftsync {mode}")),
        dim("at"),
        revision_line
    );
    for s in &report.stacks {
        let _ = writeln!(out);
        stack(&mut out, s);
    }
    let _ = writeln!(out);
    summary(&mut out, report);
    out
}

/// The closing lines; their words agree with the exit code (1 errors,
/// 2 something planned, done or left, 0 nothing).
fn summary(out: &mut String, report: &SyncReport) {
    let m = &report.summary;
    if m.errors > 0 {
        let _ = writeln!(
            out,
            "{}",
            red(&format!(
                "{} could not be checked (see the errors above).",
                count(m.errors, "stack")
            ))
        );
    }
    // Differences the policy leaves as they are (report, ignore): no step.
    let left_alone: usize = report
        .stacks
        .iter()
        .flat_map(|s| &s.plan.decisions)
        .filter(|d| d.blocked.is_none() && matches!(d.action, Action::Report | Action::Ignore))
        .count();
    if report.applied {
        // Steps that changed something (not "nothing to change").
        let changed_in = |s: &StackSync| {
            s.outcomes
                .iter()
                .filter(|o| o.result == StepResult::Applied)
                .count()
        };
        let touched: Vec<&str> = report
            .stacks
            .iter()
            .filter(|s| changed_in(s) > 0)
            .map(|s| s.plan.name.as_str())
            .collect();
        let changed_steps: usize = report.stacks.iter().map(changed_in).sum();
        let changed = if changed_steps == 0 {
            "Changed: nothing.".to_string()
        } else {
            format!(
                "Changed: {} applied in {} ({}).",
                count(changed_steps, "step"),
                count(touched.len(), "stack"),
                touched.join(", ")
            )
        };
        let _ = writeln!(out, "{}", bold(&changed));
        let mut left = Vec::new();
        for (n, what) in [(m.failed, "failed"), (m.refused, "refused")] {
            if n > 0 {
                left.push(format!("{} {what}", count(n, "step")));
            }
        }
        if m.blocked > 0 {
            left.push(format!(
                "{} blocked by limits",
                count(m.blocked, "decision")
            ));
        }
        if left_alone > 0 {
            left.push(format!(
                "{} left by the policy",
                count(left_alone, "difference")
            ));
        }
        let left = if left.is_empty() {
            "Left: nothing.".to_string()
        } else {
            format!("Left: {}.", left.join(", "))
        };
        let _ = writeln!(out, "{}", bold(&left));
    } else if m.planned > 0 || m.blocked > 0 {
        let stacks = report
            .stacks
            .iter()
            .filter(|s| !s.plan.steps.is_empty())
            .count();
        let blocked = if m.blocked > 0 {
            format!("; {} blocked by limits", count(m.blocked, "decision"))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{}",
            bold(&format!(
                "Plan: {} in {}{blocked}.",
                count(m.planned, "step"),
                count(stacks, "stack")
            ))
        );
        let _ = writeln!(
            out,
            "{}",
            dim("Run `driftsync sync --apply` to carry it out.")
        );
    } else if left_alone > 0 {
        let _ = writeln!(
            out,
            "{}",
            bold(&format!(
                "No steps: {} left as they are by the policy (see above).",
                count(left_alone, "difference")
            ))
        );
    } else if report.exit_code() == 0 {
        let _ = writeln!(out, "{}", green("Nothing to do."));
    } else if m.errors == 0 {
        let _ = writeln!(
            out,
            "{}",
            bold("No steps: the decisions above need a person.")
        );
    }
}

/// A drift's age to the minute (`3h 2m`), or `<1m`.
fn age_text(secs: u64) -> String {
    if secs < 60 {
        return "<1m".into();
    }
    humantime::format_duration(std::time::Duration::from_secs(secs - secs % 60)).to_string()
}

fn stack(out: &mut String, s: &StackSync) {
    let p = &s.plan;
    let place = p
        .account
        .as_deref()
        .map_or(p.region.clone(), |a| format!("{}, {a}", p.region));
    let status = serde_json::to_value(p.status)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {} {}",
        bold(&format!("Stack {}", p.name)),
        dim(&format!("({place})")),
        status
    );
    if let Some(e) = &p.error {
        let _ = writeln!(out, "  {}", red(&format!("error: {e}")));
        return;
    }
    if p.circuit_open {
        let _ = writeln!(
            out,
            "  {}",
            red(
                "circuit breaker open: recent runs failed; nothing but a guard violation's \
                 revert runs until it cools down"
            )
        );
    }
    for d in &p.decisions {
        let path = d
            .property_path
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "(whole resource)".into());
        let kind = serde_json::to_value(d.kind)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let verdict = match &d.blocked {
            Some(why) => red(&format!("blocked: {why}")),
            None => {
                let a = action_word(d.action);
                let word = match d.action {
                    Action::Revert | Action::Reapply => yellow(a),
                    _ => a.to_string(),
                };
                // A guard's message is printed on its own line below.
                let why = match d.rule {
                    RuleRef::Guard { .. } => {
                        format!("({}: a guard violation is always reverted)", d.rule)
                    }
                    _ => format!("({}: {})", d.rule, d.reason),
                };
                format!("{word} {}", dim(&why))
            }
        };
        let age = s
            .drift_age_secs
            .get(&format!(
                "{} {}",
                d.logical_id,
                d.property_path
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            ))
            .map(|secs| dim(&format!(" (drifted for {})", age_text(*secs))))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {} {}{age} → {verdict}",
            dim(&kind),
            bold(&d.logical_id),
            path
        );
        for g in &d.guard_violations {
            let _ = writeln!(
                out,
                "      {}",
                red(&format!("guard {} ({}): {}", g.rule, g.file, g.message))
            );
        }
        if let Some(kind) = d.limit_overridden {
            let _ = writeln!(
                out,
                "      {}",
                red(&format!(
                    "WARNING: loop protection ({}) would stop this revert; a guard violation \
                     is reverted anyway. Find who keeps reopening it.",
                    kind.as_str()
                ))
            );
        }
        if let Some(until) = &d.tolerated_until {
            let left = d
                .tolerated_remaining_secs
                .map(|s| {
                    format!(
                        ", {} left",
                        humantime::format_duration(std::time::Duration::from_secs(s))
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      {}",
                yellow(&format!("break-glass: tolerated until {until}{left}"))
            );
        }
    }
    for r in &s.closed_pull_requests {
        let _ = writeln!(
            out,
            "  {}",
            dim(&format!(
                "closed codify pull request {}: its drift is gone",
                r.outcome.url().unwrap_or_default()
            ))
        );
    }
    if !p.steps.is_empty() {
        let _ = writeln!(out, "  {}", bold("Steps:"));
        for (i, step) in p.steps.iter().enumerate() {
            let _ = writeln!(out, "    {}. {}", i + 1, step_text(step));
            if let Some(o) = s.outcomes.iter().find(|o| o.step == i) {
                let _ = writeln!(out, "       {}", outcome_text(o));
            }
        }
    }
}

/// The markdown view (pull request comments, job summaries).
pub fn render_markdown(report: &SyncReport) -> String {
    let mut out = String::new();
    let short = &report.revision[..report.revision.len().min(12)];
    let mode = if report.applied { "sync" } else { "plan" };
    let _ = writeln!(out, "## driftsync {mode} at `{short}`\n");
    let _ = writeln!(
        out,
        "| Stack | Resource | Property | Kind | Decision | Why |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for s in &report.stacks {
        for d in &s.plan.decisions {
            let path = d
                .property_path
                .as_ref()
                .map(|p| md::code(&p.to_string()))
                .unwrap_or_else(|| "—".into());
            let decision = match &d.blocked {
                Some(_) => "**blocked**".to_string(),
                None => action_word(d.action).to_string(),
            };
            let why = d
                .blocked
                .clone()
                .unwrap_or_else(|| format!("{} ({})", d.reason, d.rule));
            let why = md::text(&why);
            let kind = serde_json::to_value(d.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {path} | {kind} | {decision} | {why} |",
                md::code(&s.plan.name),
                md::code(&d.logical_id)
            );
        }
    }
    for s in report.stacks.iter().filter(|s| !s.plan.steps.is_empty()) {
        let _ = writeln!(out, "\n### {}\n", md::code(&s.plan.name));
        for (i, step) in s.plan.steps.iter().enumerate() {
            let result = s
                .outcomes
                .iter()
                .find(|o| o.step == i)
                .map(|o| format!(" — {:?}", o.result).to_lowercase())
                .unwrap_or_default();
            let _ = writeln!(out, "{}. {}{result}", i + 1, md::text(&step_text(step)));
        }
    }
    out
}

//! Human and markdown views of a plan (`driftsync plan`, `sync`), with the
//! outcome of each step once `sync --apply` ran.

use std::fmt::Write;

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
    let m = &report.summary;
    if report.applied {
        let _ = writeln!(
            out,
            "{}",
            bold(&format!(
                "{} steps: {} applied, {} failed, {} refused; {} blocked by limits.",
                m.planned, m.applied, m.failed, m.refused, m.blocked
            ))
        );
    } else if m.planned == 0 && m.blocked == 0 {
        // Words and exit code agree: decisions that only report exit 2.
        let reported: usize = report.stacks.iter().map(|s| s.plan.decisions.len()).sum();
        let line = if reported == 0 {
            green("Nothing to do.")
        } else {
            bold(&format!("No steps to take; {reported} reported."))
        };
        let _ = writeln!(out, "{line}");
    } else {
        let _ = writeln!(
            out,
            "{}",
            bold(&format!(
                "Plan: {} steps in {} stacks; {} blocked by limits.",
                m.planned,
                report
                    .stacks
                    .iter()
                    .filter(|s| !s.plan.steps.is_empty())
                    .count(),
                m.blocked
            ))
        );
        let _ = writeln!(
            out,
            "{}",
            dim("Run `driftsync sync --apply` to carry it out.")
        );
    }
    out
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
            red("circuit breaker open: recent runs failed; nothing runs until it cools down")
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
                .map(|p| format!("`{p}`"))
                .unwrap_or_else(|| "—".into());
            let decision = match &d.blocked {
                Some(_) => "**blocked**".to_string(),
                None => action_word(d.action).to_string(),
            };
            let why = d
                .blocked
                .clone()
                .unwrap_or_else(|| format!("{} ({})", d.reason, d.rule))
                .replace('|', "\\|");
            let kind = serde_json::to_value(d.kind)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {path} | {kind} | {decision} | {why} |",
                s.plan.name, d.logical_id
            );
        }
    }
    for s in report.stacks.iter().filter(|s| !s.plan.steps.is_empty()) {
        let _ = writeln!(out, "\n### `{}`\n", s.plan.name);
        for (i, step) in s.plan.steps.iter().enumerate() {
            let result = s
                .outcomes
                .iter()
                .find(|o| o.step == i)
                .map(|o| format!(" — {:?}", o.result).to_lowercase())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{}. {}{result}",
                i + 1,
                step_text(step).replace('|', "\\|")
            );
        }
    }
    out
}

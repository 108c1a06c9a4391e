//! The human view of a `check` report, like `terraform plan`: one block per
//! stack, `~` modified, `+` added, `-` removed, expected → actual, and who
//! changed it.

use std::fmt::Write;

use super::style::{bold, dim, green, red, yellow};
use crate::check::{CheckReport, CheckStatus, StackCheck};
use crate::drift::DifferenceKind;
use crate::template::diff::ChangeKind;

use super::{change_text, show, suppression_text};

/// Renders the report; `revision_line` describes the commit.
pub fn render(report: &CheckReport, revision_line: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} {}",
        bold("driftsync check"),
        dim("at"),
        revision_line
    );
    for s in &report.stacks {
        let _ = writeln!(out);
        stack(&mut out, s);
    }
    let _ = writeln!(out);
    let m = &report.summary;
    let mut parts = vec![format!("{} in sync", m.in_sync)];
    if m.drifted > 0 {
        parts.push(red(&format!("{} drifted", m.drifted)));
    }
    if m.pending > 0 {
        parts.push(yellow(&format!("{} pending", m.pending)));
    }
    if m.not_deployed > 0 {
        parts.push(yellow(&format!("{} not deployed", m.not_deployed)));
    }
    if m.skipped > 0 {
        parts.push(format!("{} skipped", m.skipped));
    }
    if m.errors > 0 {
        parts.push(red(&format!("{} could not be checked", m.errors)));
    }
    let calls: u64 = report.stats.api_calls.values().sum();
    let _ = writeln!(
        out,
        "{} {}",
        bold(&format!("{}:", super::count(m.stacks, "stack"))),
        parts.join(", ")
    );
    let _ = writeln!(
        out,
        "{}",
        dim(&format!(
            "{} in {:.1} s",
            super::count(calls as usize, "AWS API call"),
            report.stats.duration_ms as f64 / 1000.0
        ))
    );
    out
}

fn stack(out: &mut String, s: &StackCheck) {
    let place = match &s.account {
        Some(a) => format!("{}, {a}", s.region),
        None => s.region.clone(),
    };
    let verdict = match s.status {
        CheckStatus::InSync => green("in sync"),
        CheckStatus::Drifted => red("DRIFTED"),
        CheckStatus::Pending => yellow("PENDING: git is ahead of the stack"),
        CheckStatus::DriftedAndPending => red("DRIFTED, and git is ahead of the stack"),
        CheckStatus::NotDeployed => yellow("NOT DEPLOYED"),
        CheckStatus::Skipped => dim(&format!(
            "skipped: {}",
            s.skipped_reason.as_deref().unwrap_or("")
        )),
        CheckStatus::Error => red(&format!(
            "ERROR: {}",
            s.error.as_deref().unwrap_or("unknown")
        )),
    };
    let _ = writeln!(
        out,
        "{} {} {}",
        bold(&format!("Stack {}", s.name)),
        dim(&format!("({place})")),
        verdict
    );
    if let Some(v) = &s.config_verdict {
        let _ = writeln!(
            out,
            "  {}",
            dim(&format!(
                "drift not detected again: AWS Config rule {} found it compliant at {}",
                v.rule, v.evaluated_at
            ))
        );
    }
    for r in s.drift.iter().filter(|r| r.status != "NOT_CHECKED") {
        let sign = match r.status.as_str() {
            "DELETED" => red("-"),
            "IN_SYNC" => dim("="),
            _ => yellow("~"),
        };
        let id = r.physical_id.as_deref().unwrap_or("");
        let deleted = if r.status == "DELETED" {
            format!(" {}", red("deleted out of band"))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {sign} {} {} {}{deleted}",
            bold(&r.logical_id),
            dim(&format!("({})", r.type_name)),
            dim(id)
        );
        for d in &r.differences {
            let sign = match d.kind {
                DifferenceKind::Add => green("+"),
                DifferenceKind::Remove => red("-"),
                DifferenceKind::NotEqual => yellow("~"),
            };
            match suppression_text(d) {
                Some(why) => {
                    let _ = writeln!(
                        out,
                        "      {} {}",
                        dim(&format!("{} {}: {}", "·", d.property_path, change_text(d))),
                        dim(&format!("({why})"))
                    );
                }
                None => {
                    let _ = writeln!(out, "      {sign} {}: {}", d.property_path, change_text(d));
                }
            }
        }
        for c in &r.changed_by {
            let _ = writeln!(
                out,
                "        {}",
                dim(&format!(
                    "changed by {} ({}, {})",
                    c.principal, c.event, c.time
                ))
            );
        }
    }
    let mut last = "";
    for p in &s.pending {
        if p.logical_id != last {
            let whole = p.is_whole_resource();
            let sign = match p.change {
                ChangeKind::Add if whole => green("+"),
                ChangeKind::Remove if whole => red("-"),
                _ => yellow("~"),
            };
            let what = match p.change {
                ChangeKind::Add if whole => " to create",
                ChangeKind::Remove if whole => " to delete",
                _ => " to update",
            };
            let forces = if p.replacement {
                format!(" {}", red("# forces replacement"))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {sign} {} {}{}{forces}",
                bold(&p.logical_id),
                dim(&format!("({})", p.type_name)),
                dim(what)
            );
            last = &p.logical_id;
        }
        if let Some(path) = p.what() {
            let text = match p.change {
                ChangeKind::Add => show(&p.committed),
                ChangeKind::Remove => show(&p.deployed),
                ChangeKind::Modify => format!("{} → {}", show(&p.deployed), show(&p.committed)),
            };
            let sign = match p.change {
                ChangeKind::Add => green("+"),
                ChangeKind::Remove => red("-"),
                ChangeKind::Modify => yellow("~"),
            };
            let why = p
                .caused_by
                .as_ref()
                .map(|c| format!(" {}", dim(&format!("({})", c.reason))))
                .unwrap_or_default();
            let _ = writeln!(out, "      {sign} {path}: {text}{why}");
        }
    }
    for r in s.not_checked().filter(|r| r.note.is_some()) {
        let note = r.note.as_deref().unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}",
            dim(&format!("not checked: {}: {note}", r.logical_id))
        );
    }
    let not_checked: Vec<&str> = s
        .not_checked()
        .filter(|r| r.note.is_none())
        .map(|r| r.logical_id.as_str())
        .collect();
    if !not_checked.is_empty() {
        let _ = writeln!(
            out,
            "  {}",
            dim(&format!(
                "not checked (CloudFormation cannot detect drift on their types): {}",
                not_checked.join(", ")
            ))
        );
    }
}

//! Markdown for PR comments and GitHub job summaries: a summary table, then
//! a table of drifted properties and pending changes per stack.

use std::fmt::Write;

use crate::check::{CheckReport, CheckStatus, StackCheck};
use crate::drift::DifferenceKind;
use crate::template::Value;

use super::md::{code, text};
use super::suppression_text;

fn value(v: &Option<Value>) -> String {
    match v {
        None => "—".into(),
        Some(v) => code(&v.to_string()),
    }
}

fn badge(s: &StackCheck) -> &'static str {
    match s.status {
        CheckStatus::InSync => "✅ in sync",
        CheckStatus::Drifted => "🔴 drifted",
        CheckStatus::Pending => "🟡 pending",
        CheckStatus::DriftedAndPending => "🔴 drifted, 🟡 pending",
        CheckStatus::NotDeployed => "⚪ not deployed",
        CheckStatus::Skipped => "⏸️ skipped",
        CheckStatus::Error => "❌ error",
    }
}

pub fn render(report: &CheckReport) -> String {
    let mut out = String::new();
    let short = &report.revision[..report.revision.len().min(12)];
    let m = &report.summary;
    let _ = writeln!(out, "## driftsync check at `{short}`\n");
    let _ = writeln!(
        out,
        "**{}** stacks: {} in sync, {} drifted, {} pending, {} not deployed, {} errors.\n",
        m.stacks, m.in_sync, m.drifted, m.pending, m.not_deployed, m.errors
    );
    let _ = writeln!(
        out,
        "| Stack | Region | Status | Drifted resources | Pending changes |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|");
    for s in &report.stacks {
        let drifted = s.drift.iter().filter(|r| r.is_drifted()).count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {drifted} | {} |",
            code(&s.name),
            s.region,
            badge(s),
            s.pending.len()
        );
    }
    for s in &report.stacks {
        stack(&mut out, s);
    }
    out
}

fn stack(out: &mut String, s: &StackCheck) {
    let drift: Vec<_> = s
        .drift
        .iter()
        .filter(|r| r.status != "NOT_CHECKED")
        .collect();
    if drift.is_empty() && s.pending.is_empty() && s.error.is_none() {
        return;
    }
    let _ = writeln!(out, "\n### {} — {}\n", code(&s.name), badge(s));
    if let Some(e) = &s.error {
        let _ = writeln!(out, "> {}\n", code(e));
    }
    if !drift.is_empty() {
        let _ = writeln!(
            out,
            "| Resource | Property | Change | Template | Live | Changed by |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for r in drift {
            let who = r
                .changed_by
                .first()
                .map(|c| code(&format!("{} ({}, {})", c.principal, c.event, c.time)))
                .unwrap_or_else(|| "—".into());
            let name = format!("{} ({})", code(&r.logical_id), text(&r.type_name));
            if r.status == "DELETED" {
                let _ = writeln!(out, "| {name} | — | deleted | — | — | {who} |");
            }
            for d in &r.differences {
                let change = match (d.kind, suppression_text(d)) {
                    (_, Some(why)) => format!("_{}_", text(&why)),
                    (DifferenceKind::Add, None) => "added".into(),
                    (DifferenceKind::Remove, None) => "removed".into(),
                    (DifferenceKind::NotEqual, None) => "changed".into(),
                };
                let _ = writeln!(
                    out,
                    "| {name} | {} | {change} | {} | {} | {who} |",
                    code(&d.property_path.to_string()),
                    value(&d.expected),
                    value(&d.actual)
                );
            }
        }
    }
    if !s.pending.is_empty() {
        let _ = writeln!(out, "\n**Pending** (committed but not deployed):\n");
        let _ = writeln!(
            out,
            "| Resource | Property | Change | Deployed | Committed |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        for p in &s.pending {
            let path = p.what().map_or("—".to_string(), |p| code(&p.to_string()));
            let change = format!(
                "{:?}{}",
                p.change,
                if p.replacement { " (replaces)" } else { "" }
            )
            .to_lowercase();
            let _ = writeln!(
                out,
                "| {} ({}) | {path} | {change} | {} | {} |",
                code(&p.logical_id),
                text(&p.type_name),
                value(&p.deployed),
                value(&p.committed)
            );
        }
    }
}

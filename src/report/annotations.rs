//! GitHub Actions workflow commands: a `::warning` at the template line of
//! each drifted property and pending change, so the run's summary and the
//! pull request's files point at the lines that drifted. Warnings, not
//! errors: whether drift fails the job is the workflow's choice
//! (`fail-on-drift`), and an error annotation on a passing job misleads.

use crate::check::CheckReport;

/// Escapes a workflow command's message.
fn message(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn property(s: &str) -> String {
    message(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &CheckReport) -> String {
    let mut out = String::new();
    for s in &report.stacks {
        for r in &s.drift {
            for (i, d) in r
                .differences
                .iter()
                .enumerate()
                .filter(|(_, d)| d.ignored_by.is_none())
            {
                let Some(loc) = r
                    .locations
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| r.location.clone())
                else {
                    continue;
                };
                let title = format!("Drift in {}: {}", s.name, r.logical_id);
                out.push_str(&format!(
                    "::warning file={},line={},col={},title={}::{} {}\n",
                    property(&loc.file),
                    loc.line,
                    loc.column,
                    property(&title),
                    d.property_path,
                    message(&super::change_text(d))
                ));
            }
        }
        for p in &s.pending {
            let Some(loc) = &p.location else { continue };
            let path = p.what().unwrap_or_default();
            out.push_str(&format!(
                "::warning file={},line={},col={},title={}::{} {path} is committed but not deployed\n",
                property(&loc.file),
                loc.line,
                loc.column,
                property(&format!("Pending in {}", s.name)),
                p.logical_id
            ));
        }
    }
    out
}

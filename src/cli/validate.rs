//! `driftsync validate`: the config and every stack's template at a revision.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use super::output::{bold, dim, green, red, yellow};
use super::{GlobalArgs, Out, OutputFormat, exit, open_source};
use crate::load::{self, FileDiagnostic, LoadError, Snapshot};
use crate::template::validate::Severity;

pub(super) fn run(g: &GlobalArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let source = open_source(g)?;
    let revision = source.resolve(g.rev.as_deref())?;
    let snapshot = match load::load(&source, &revision, &g.config) {
        Ok(s) => s,
        // A broken config is a validation finding, reported like the others.
        Err(LoadError::Config(e)) => {
            return report_config_error(g, out, &revision.sha, &e);
        }
        Err(e) => return Err(e.into()),
    };
    let valid = snapshot.stacks.iter().all(|s| !s.has_errors()) && !snapshot.config_has_errors();
    match g.output {
        OutputFormat::Json => writeln!(
            out,
            "{}",
            super::output::sorted_json(to_json(&snapshot, valid))?
        )?,
        OutputFormat::Human | OutputFormat::Markdown | OutputFormat::Sarif => {
            human(&snapshot, out)?
        }
    }
    Ok(ExitCode::from(if valid {
        exit::CLEAN
    } else {
        exit::ERROR
    }))
}

fn report_config_error(
    g: &GlobalArgs,
    out: &mut Out,
    sha: &str,
    e: &crate::config::ConfigError,
) -> anyhow::Result<ExitCode> {
    match g.output {
        OutputFormat::Json => {
            let (file, line, column, message) = match e {
                crate::config::ConfigError::Invalid {
                    file,
                    location,
                    message,
                } => (
                    file.clone(),
                    Some(location.line),
                    Some(location.col),
                    message.clone(),
                ),
                crate::config::ConfigError::Unlocated { file, message } => {
                    (file.clone(), None, None, message.clone())
                }
            };
            let v = json!({
                "schema_version": 1, "command": "validate", "revision": sha, "config": g.config, "valid": false,
                "stacks": [],
                "diagnostics": [{"severity": "error", "code": "config-error", "file": file, "line": line, "column": column, "message": message}],
            });
            writeln!(out, "{}", super::output::sorted_json(v)?)?;
        }
        OutputFormat::Human | OutputFormat::Markdown | OutputFormat::Sarif => {
            writeln!(out, "{} {e}", red("error:"))?;
        }
    }
    Ok(ExitCode::from(exit::ERROR))
}

fn diagnostic_json(d: &FileDiagnostic) -> serde_json::Value {
    json!({
        "severity": d.diagnostic.severity,
        "code": d.diagnostic.code,
        "file": d.file,
        "line": d.diagnostic.location.map(|l| l.line),
        "column": d.diagnostic.location.map(|l| l.col),
        "message": d.diagnostic.message,
    })
}

fn to_json(s: &Snapshot, valid: bool) -> serde_json::Value {
    json!({
        "schema_version": 1,
        "command": "validate",
        "revision": s.revision.sha,
        "config": s.config.path,
        "valid": valid,
        "stacks": s.stacks.iter().map(|st| json!({
            "name": st.spec.name,
            "region": st.spec.region,
            "template": st.spec.template,
            "valid": !st.has_errors(),
            "resources": st.desired.as_ref().map(|d| d.resources.len()),
            "diagnostics": st.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "diagnostics": s.config_diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
    })
}

fn human(s: &Snapshot, out: &mut Out) -> anyhow::Result<()> {
    writeln!(
        out,
        "{} {} {}",
        bold("driftsync validate"),
        dim("at"),
        revision_line(&s.revision)
    )?;
    writeln!(out)?;
    for d in &s.config_diagnostics {
        writeln!(
            out,
            "{} {}: {} {}",
            red("✗"),
            d.place(),
            d.diagnostic.message,
            dim(&format!("[{}]", d.diagnostic.code))
        )?;
    }
    let width = s
        .stacks
        .iter()
        .map(|st| st.spec.name.len())
        .max()
        .unwrap_or(0);
    let twidth = s
        .stacks
        .iter()
        .map(|st| st.spec.template.len())
        .max()
        .unwrap_or(0);
    for st in &s.stacks {
        let mark = if st.has_errors() {
            red("✗")
        } else {
            green("✓")
        };
        let detail = match &st.desired {
            Some(d) => crate::report::count(d.resources.len(), "resource"),
            None => String::new(),
        };
        writeln!(
            out,
            "{mark} {:<width$}  {:<twidth$}  {}",
            st.spec.name,
            st.spec.template,
            dim(&detail)
        )?;
        for d in &st.diagnostics {
            let label = match d.diagnostic.severity {
                Severity::Error => red("error"),
                Severity::Warning => yellow("warning"),
            };
            writeln!(
                out,
                "    {label}: {}: {} {}",
                d.place(),
                d.diagnostic.message,
                dim(&format!("[{}]", d.diagnostic.code))
            )?;
        }
    }
    let bad = s.stacks.iter().filter(|st| st.has_errors()).count();
    writeln!(out)?;
    let total = s.stacks.len();
    if s.config_has_errors() {
        writeln!(out, "{}", red("The config's guard files have errors."))?;
    } else if bad == 0 {
        writeln!(out, "{}", green(&format!("{total} stacks valid.")))?;
    } else {
        writeln!(
            out,
            "{}",
            red(&format!(
                "{total} stacks: {} valid, {bad} with errors.",
                total - bad
            ))
        )?;
    }
    Ok(())
}

pub(super) fn revision_line(r: &crate::source::Revision) -> String {
    format!("{} {}", r.short(), dim(&format!("\"{}\"", r.summary)))
}

//! `driftsync diff --from REV [--to REV]`: what changed in the desired state
//! between two commits, per stack, resource and property.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::output::{bold, dim, green, red, yellow};
use super::validate::revision_line;
use super::{GlobalArgs, Out, OutputFormat, exit, open_source};
use crate::load::{self, Snapshot, StackState};
use crate::template::Value;
use crate::template::diff::{AttributeChange, ChangeKind, StackDiff, diff_stacks};
use crate::template::schema::SchemaFacts;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older revision.
    #[arg(long)]
    pub from: String,
    /// The newer revision (default: --rev, or the branch tip).
    #[arg(long)]
    pub to: Option<String>,
}

/// One stack's outcome.
struct StackResult<'a> {
    name: &'a str,
    region: &'a str,
    template: &'a str,
    status: &'static str,
    diff: StackDiff,
    error: Option<String>,
}

pub(super) fn run(g: &GlobalArgs, args: &DiffArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let source = open_source(g)?;
    let from_rev = source.resolve(Some(&args.from))?;
    let to_rev = source.resolve(args.to.as_deref().or(g.rev.as_deref()))?;
    let old = load::load(&source, &from_rev, &g.config)?;
    let new = load::load(&source, &to_rev, &g.config)?;
    let results = compare(&old, &new);
    match g.output {
        OutputFormat::Json => writeln!(
            out,
            "{}",
            super::output::sorted_json(to_json(&old, &new, &results))?
        )?,
        OutputFormat::Human | OutputFormat::Markdown | OutputFormat::Sarif => {
            human(&old, &new, &results, out)?
        }
    }
    let code = if results.iter().any(|r| r.error.is_some()) {
        exit::ERROR
    } else if results.iter().any(|r| r.status != "UNCHANGED") {
        exit::CHANGES
    } else {
        exit::CLEAN
    };
    Ok(ExitCode::from(code))
}

fn compare<'a>(old: &'a Snapshot, new: &'a Snapshot) -> Vec<StackResult<'a>> {
    let schema = SchemaFacts::embedded();
    let find = |s: &'a Snapshot, name: &str| s.stacks.iter().find(|st| st.spec.name == name);
    let mut names: Vec<&str> = new.stacks.iter().map(|s| s.spec.name.as_str()).collect();
    names.extend(
        old.stacks
            .iter()
            .map(|s| s.spec.name.as_str())
            .filter(|n| find(new, n).is_none()),
    );
    names
        .into_iter()
        .map(|name| {
            let (o, n) = (find(old, name), find(new, name));
            let spec = &n.or(o).expect("listed on one side").spec;
            let failed = |st: Option<&StackState>, rev: &str| {
                st.filter(|s| s.desired.is_none()).map(|s| {
                    let first = s.diagnostics.iter().find(|d| {
                        d.diagnostic.severity == crate::template::validate::Severity::Error
                    });
                    format!(
                        "at {rev}: {}",
                        first
                            .map(|d| format!("{}: {}", d.place(), d.diagnostic.message))
                            .unwrap_or_else(|| "does not load".into())
                    )
                })
            };
            let error = failed(o, old.revision.short()).or_else(|| failed(n, new.revision.short()));
            let diff = if error.is_some() {
                StackDiff::default()
            } else {
                diff_stacks(
                    o.and_then(|s| s.desired.as_ref()),
                    n.and_then(|s| s.desired.as_ref()),
                    schema,
                )
            };
            let status = match (o, n, &error) {
                (_, _, Some(_)) => "ERROR",
                (None, Some(_), _) => "ADDED",
                (Some(_), None, _) => "REMOVED",
                _ if diff.is_empty() => "UNCHANGED",
                _ => "MODIFIED",
            };
            StackResult {
                name,
                region: &spec.region,
                template: &spec.template,
                status,
                diff,
                error,
            }
        })
        .collect()
}

fn to_json(old: &Snapshot, new: &Snapshot, results: &[StackResult<'_>]) -> serde_json::Value {
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    json!({
        "schema_version": 1,
        "command": "diff",
        "from": old.revision.sha,
        "to": new.revision.sha,
        "summary": {
            "stacks": results.len(),
            "changed": results.len() - count("UNCHANGED") - count("ERROR"),
            "unchanged": count("UNCHANGED"),
            "errors": count("ERROR"),
        },
        "stacks": results.iter().map(|r| json!({
            "name": r.name,
            "region": r.region,
            "template": r.template,
            "status": r.status,
            "resources": r.diff.resources,
            "parameters": r.diff.parameters,
            "outputs": r.diff.outputs,
            "transform": r.diff.transform,
            "error": r.error,
        })).collect::<Vec<_>>(),
    })
}

fn sign(kind: ChangeKind) -> String {
    match kind {
        ChangeKind::Add => green("+"),
        ChangeKind::Remove => red("-"),
        ChangeKind::Modify => yellow("~"),
    }
}

fn show(v: &Option<Value>) -> String {
    v.as_ref()
        .map_or_else(|| "(none)".to_string(), Value::to_string)
}

/// `a → b`, or the one side an ADD or REMOVE has.
fn change_text(change: ChangeKind, from: &Option<Value>, to: &Option<Value>) -> String {
    match change {
        ChangeKind::Add => show(to),
        ChangeKind::Remove => show(from),
        ChangeKind::Modify => format!("{} → {}", show(from), show(to)),
    }
}

/// `~ Metadata/AWS::CloudFormation::Init/config: a → b`
fn attribute_line(out: &mut Out, indent: &str, a: &AttributeChange) -> anyhow::Result<()> {
    let path = a.attribute_path.as_ref().map(ToString::to_string);
    let text = change_text(a.change, &a.from, &a.to);
    writeln!(
        out,
        "{indent}{} {}{}: {text}",
        sign(a.change),
        a.name,
        path.unwrap_or_default()
    )?;
    Ok(())
}

fn human(
    old: &Snapshot,
    new: &Snapshot,
    results: &[StackResult<'_>],
    out: &mut Out,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "{} {} {} {}",
        bold("driftsync diff"),
        revision_line(&old.revision),
        dim("→"),
        revision_line(&new.revision)
    )?;
    let (mut add, mut change, mut remove, mut replace) = (0, 0, 0, 0);
    for r in results {
        writeln!(out)?;
        let head = format!("Stack {} ({})", r.name, r.region);
        match (r.status, &r.error) {
            (_, Some(e)) => {
                writeln!(
                    out,
                    "{} {}",
                    bold(&head),
                    red(&format!("cannot be compared: {e}"))
                )?;
                continue;
            }
            ("UNCHANGED", _) => {
                writeln!(out, "{} {}", bold(&head), dim("no changes"))?;
                continue;
            }
            ("ADDED", _) => writeln!(out, "{} {}", bold(&head), green("added to the config"))?,
            ("REMOVED", _) => writeln!(out, "{} {}", bold(&head), red("removed from the config"))?,
            _ => writeln!(out, "{} {}", bold(&head), dim(r.template))?,
        }
        for res in &r.diff.resources {
            let forces = if res.replacement {
                format!(" {}", red("# forces replacement"))
            } else {
                String::new()
            };
            let typ = match &res.previous_type {
                Some(prev) => format!("{prev} → {}", res.type_name),
                None => res.type_name.clone(),
            };
            writeln!(
                out,
                "  {} {} {}{forces}",
                sign(res.change),
                bold(&res.logical_id),
                dim(&format!("({typ})"))
            )?;
            match res.change {
                ChangeKind::Add => add += 1,
                ChangeKind::Remove => remove += 1,
                ChangeKind::Modify if res.replacement => replace += 1,
                ChangeKind::Modify => change += 1,
            }
            for p in &res.properties {
                let forces = if p.replacement {
                    format!(" {}", red("# forces replacement"))
                } else {
                    String::new()
                };
                let text = match &p.caused_by {
                    Some(c) => dim(&format!("({})", c.reason)),
                    None => change_text(p.change, &p.from, &p.to),
                };
                writeln!(
                    out,
                    "      {} {}: {text}{forces}",
                    sign(p.change),
                    p.property_path
                )?;
            }
            for a in &res.attributes {
                attribute_line(out, "      ", a)?;
            }
        }
        for p in &r.diff.parameters {
            let text = match p.change {
                ChangeKind::Add => p.to.clone().unwrap_or_default(),
                ChangeKind::Remove => p.from.clone().unwrap_or_default(),
                ChangeKind::Modify => format!(
                    "{} → {}",
                    p.from.as_deref().unwrap_or(""),
                    p.to.as_deref().unwrap_or("")
                ),
            };
            writeln!(out, "  {} parameter {}: {text}", sign(p.change), p.name)?;
        }
        if let Some(t) = &r.diff.transform {
            attribute_line(out, "  ", t)?;
        }
        for o in &r.diff.outputs {
            writeln!(
                out,
                "  {} output {}: {} → {}",
                sign(o.change),
                o.name,
                show(&o.from),
                show(&o.to)
            )?;
        }
    }
    writeln!(out)?;
    let changed = results
        .iter()
        .filter(|r| !matches!(r.status, "UNCHANGED" | "ERROR"))
        .count();
    let errors = results.iter().filter(|r| r.status == "ERROR").count();
    let mut summary = format!(
        "{changed} of {} changed: {add} to add, {change} to change, {replace} to replace, {remove} to remove.",
        crate::report::count(results.len(), "stack")
    );
    if errors > 0 {
        summary.push_str(&format!(" {errors} could not be compared."));
    }
    writeln!(out, "{}", bold(&summary))?;
    Ok(())
}

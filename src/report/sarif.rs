//! SARIF 2.1.0 for GitHub code scanning: one result per drifted property,
//! deleted resource and pending change, located at the template line that
//! declares it.

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::check::{CheckReport, Location};
use crate::drift::DifferenceKind;

const RULES: &[(&str, &str, &str)] = &[
    (
        "drift/added",
        "A live property or list item the template does not have",
        "error",
    ),
    (
        "drift/removed",
        "A property the template sets is missing live",
        "error",
    ),
    (
        "drift/modified",
        "A live property differs from the template",
        "error",
    ),
    (
        "drift/deleted",
        "A resource of the stack was deleted out of band",
        "error",
    ),
    (
        "pending",
        "Committed but not deployed: git is ahead of the stack",
        "warning",
    ),
];

fn location(loc: &Option<Location>, fallback: &str) -> Json {
    match loc {
        Some(l) => json!({"physicalLocation": {
            "artifactLocation": {"uri": l.file},
            "region": {"startLine": l.line, "startColumn": l.column},
        }}),
        None => {
            json!({"physicalLocation": {"artifactLocation": {"uri": fallback}, "region": {"startLine": 1}}})
        }
    }
}

fn fingerprint(parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn result(rule: &str, level: &str, text: String, loc: Json, fp: String, props: Json) -> Json {
    json!({
        "ruleId": rule,
        "level": level,
        "message": {"text": text},
        "locations": [loc],
        "partialFingerprints": {"driftsync/v1": fp},
        "properties": props,
    })
}

/// The report as a SARIF log.
pub fn render(report: &CheckReport) -> Json {
    let mut results = Vec::new();
    for s in &report.stacks {
        for r in &s.drift {
            if r.status == "DELETED" {
                let text = format!(
                    "{} ({}) in stack {} was deleted out of band",
                    r.logical_id, r.type_name, s.name
                );
                let fp = fingerprint(&[&s.name, &r.logical_id, "deleted"]);
                results.push(result(
                    "drift/deleted",
                    "error",
                    text,
                    location(&r.location, &s.template),
                    fp,
                    json!({"stack": s.name}),
                ));
            }
            for (i, d) in r
                .differences
                .iter()
                .enumerate()
                .filter(|(_, d)| d.ignored_by.is_none())
            {
                let (rule, verb) = match d.kind {
                    DifferenceKind::Add => ("drift/added", "added live"),
                    DifferenceKind::Remove => ("drift/removed", "removed live"),
                    DifferenceKind::NotEqual => ("drift/modified", "changed live"),
                };
                let mut text = format!(
                    "{} {} {} in stack {}: {}",
                    r.logical_id,
                    d.property_path,
                    verb,
                    s.name,
                    super::change_text(d)
                );
                if let Some(c) = r.changed_by.first() {
                    text.push_str(&format!(
                        " (changed by {} with {} at {})",
                        c.principal, c.event, c.time
                    ));
                }
                let loc = r
                    .locations
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| r.location.clone());
                let path = d.property_path.to_string();
                let fp = fingerprint(&[&s.name, &r.logical_id, &path, rule]);
                let props = json!({"stack": s.name, "logical_id": r.logical_id, "physical_id": r.physical_id, "property_path": path});
                results.push(result(
                    rule,
                    "error",
                    text,
                    location(&loc, &s.template),
                    fp,
                    props,
                ));
            }
        }
        for p in &s.pending {
            let path = p.what().unwrap_or_default();
            let text = format!(
                "{} {} in stack {} is committed but not deployed ({:?})",
                p.logical_id, path, s.name, p.change
            );
            let fp = fingerprint(&[&s.name, &p.logical_id, &path, "pending"]);
            results.push(result(
                "pending",
                "warning",
                text,
                location(&p.location, &s.template),
                fp,
                json!({"stack": s.name}),
            ));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "driftsync",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/driftsync/driftsync",
                "rules": RULES.iter().map(|(id, text, level)| json!({
                    "id": id,
                    "shortDescription": {"text": text},
                    "defaultConfiguration": {"level": level},
                })).collect::<Vec<_>>(),
            }},
            "versionControlProvenance": [{"revisionId": report.revision}],
            "results": results,
        }],
    })
}

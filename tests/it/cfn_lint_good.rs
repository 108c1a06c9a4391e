//! cfn-lint's own good templates (tests/fixtures/cfn-lint-good): `validate`
//! finds no error in any of them, except those listed with their reason in
//! tests/fixtures/cfn-lint-good-expectations.txt.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use driftsync::template::Template;
use driftsync::template::schema::SchemaFacts;
use driftsync::template::validate::{Severity, check_template};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cfn-lint-good")
}

fn templates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            {
                out.push(path.strip_prefix(root()).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The first error `validate` finds in a template, if any.
fn first_error(text: &str) -> Option<String> {
    let t = match Template::parse(text) {
        Ok(t) => t,
        Err(e) => return Some(e.to_string()),
    };
    check_template(&t, SchemaFacts::embedded())
        .into_iter()
        .find(|d| d.severity == Severity::Error)
        .map(|d| {
            let at = d.location.map(|l| format!("{l}: ")).unwrap_or_default();
            format!("{at}{} [{}]", d.message, d.code)
        })
}

#[test]
fn cfn_lint_good_templates_validate_or_are_listed_with_their_reason() {
    let listed: BTreeMap<String, (String, String)> =
        include_str!("../fixtures/cfn-lint-good-expectations.txt")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let mut parts = l.splitn(3, '\t');
                let (path, error, reason) = (parts.next(), parts.next(), parts.next());
                let (Some(path), Some(error), Some(reason)) = (path, error, reason) else {
                    panic!("path<TAB>error text<TAB>reason: {l}");
                };
                (path.to_string(), (error.to_string(), reason.to_string()))
            })
            .collect();
    let files = templates();
    assert!(files.len() > 90, "{} templates", files.len());
    let mut surprises = Vec::new();
    for rel in &files {
        let key = rel.to_string_lossy().to_string();
        let text = std::fs::read_to_string(root().join(rel)).unwrap();
        match (first_error(&text), listed.get(&key)) {
            (None, None) => {}
            (Some(e), Some((expected, _))) if e.contains(expected.as_str()) => {}
            (Some(e), Some((expected, _))) => {
                surprises.push(format!("{key}: fails with {e}, listed as {expected:?}"));
            }
            (None, Some(_)) => surprises.push(format!("{key}: validates now; unlist it")),
            (Some(e), None) => surprises.push(format!("{key}\t{e}")),
        }
    }
    for key in listed.keys() {
        if !files.iter().any(|f| f.to_string_lossy() == key.as_str()) {
            surprises.push(format!("{key}: listed but not vendored"));
        }
    }
    assert!(surprises.is_empty(), "{}", surprises.join("\n"));
}

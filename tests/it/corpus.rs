//! Every real AWS sample template in the shared corpus parses, except the
//! ones listed with their reason in tests/fixtures/corpus-expectations.txt.

use std::collections::BTreeMap;

use driftsync::doc::{self, Format};

use crate::support::{corpus_dir, corpus_templates};

/// `path<TAB>reason` lines; `#` starts a comment.
fn expected_failures() -> BTreeMap<String, String> {
    let text = include_str!("../fixtures/corpus-expectations.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (path, reason) = l.split_once('\t').expect("path<TAB>reason");
            (path.to_string(), reason.to_string())
        })
        .collect()
}

#[test]
fn every_corpus_template_parses_or_is_listed_with_its_reason() {
    let expected = expected_failures();
    let mut surprises = Vec::new();
    let files = corpus_templates();
    assert!(files.len() > 470, "corpus has {} templates", files.len());
    for rel in &files {
        let key = rel.to_string_lossy().to_string();
        let bytes = std::fs::read(corpus_dir().join(rel)).unwrap();
        let text = String::from_utf8(bytes).expect("corpus is UTF-8");
        let result = doc::parse(&text, Format::sniff(&text));
        match (result, expected.get(&key)) {
            (Ok(_), None) => {}
            (Err(e), Some(reason)) => assert!(
                e.to_string().contains(reason.as_str()),
                "{key}: failed with {e}, expected a failure mentioning {reason:?}"
            ),
            (Ok(_), Some(_)) => surprises.push(format!(
                "{key}: parses now; remove it from the expectations"
            )),
            (Err(e), None) => surprises.push(format!("{key}:{e}")),
        }
    }
    assert!(surprises.is_empty(), "{}", surprises.join("\n"));
}

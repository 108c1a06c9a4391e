//! Every real AWS sample template in the vendored corpus (tests/corpus) parses, except the
//! ones listed with their reason in tests/fixtures/corpus-expectations.txt.

use std::collections::BTreeMap;

use driftsync::template::Template;

use crate::support::{corpus_dir, corpus_templates};

/// `path<TAB>reason` lines; `#` starts a comment.
fn expectations(text: &str) -> BTreeMap<String, String> {
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
    let expected = expectations(include_str!("../fixtures/corpus-expectations.txt"));
    let mut surprises = Vec::new();
    let files = corpus_templates();
    assert!(files.len() > 470, "corpus has {} templates", files.len());
    for rel in &files {
        let key = rel.to_string_lossy().to_string();
        let bytes = std::fs::read(corpus_dir().join(rel)).unwrap();
        let text = String::from_utf8(bytes).expect("corpus is UTF-8");
        let result = Template::parse(&text);
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

/// A value that satisfies a parameter's type and constraints, as a user
/// deploying the sample would pass: generated from its AllowedPattern when
/// it has one, and checked with driftsync's own parameter checks.
pub fn sample_value(p: &driftsync::template::Parameter) -> String {
    use driftsync::template::params::check;
    use rand::SeedableRng;
    if let Some(first) = p.allowed_values.first() {
        return first.clone();
    }
    let min = p.min_length.unwrap_or(1).max(1) as usize;
    let number = p.min_value.unwrap_or(1.0).max(1.0).to_string();
    let list = p.type_name.starts_with("List<") || p.type_name == "CommaDelimitedList";
    let mut candidates = if list {
        vec!["a,b,c,d".to_string(), "1,2,3,4".to_string()]
    } else {
        vec![number, "a".repeat(min)]
    };
    if let Some(pattern) = &p.allowed_pattern {
        // rand_regex has no anchors; CloudFormation matches the whole value anyway.
        let unanchored = pattern.replace("^", "").replace("$", "");
        // ASCII classes, as in CloudFormation's (Java's) `\d` and `\w`.
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(&unanchored);
        for max_repeat in [3, 8, 16, 40] {
            if let Ok(re) = hir
                .clone()
                .map_err(|_| ())
                .and_then(|h| rand_regex::Regex::with_hir(h, max_repeat).map_err(|_| ()))
            {
                let mut rng = rand::rngs::StdRng::seed_from_u64(7);
                for _ in 0..5 {
                    candidates
                        .extend(rand::RngExt::sample::<Result<String, _>, _>(&mut rng, &re).ok());
                }
            }
        }
    }
    candidates
        .into_iter()
        .find(|c| check(p, c).is_ok())
        .unwrap_or_else(|| "a".repeat(min))
}

/// Resolves every template that parses, with a sample value for each
/// parameter without a default.
#[test]
fn every_parsed_corpus_template_resolves_with_sample_parameters() {
    use driftsync::template::resolve::{Inputs, Pseudo, resolve};
    let expected = expectations(include_str!("../fixtures/corpus-resolve-expectations.txt"));
    let mut failures = Vec::new();
    let mut resolved = 0;
    for rel in corpus_templates() {
        let text = std::fs::read_to_string(corpus_dir().join(&rel)).unwrap();
        let Ok(t) = Template::parse(&text) else {
            continue;
        };
        let mut inputs = Inputs {
            pseudo: Pseudo {
                region: Some("us-east-1".into()),
                stack_name: Some("sample".into()),
                ..Pseudo::default()
            },
            ..Inputs::default()
        };
        for (name, p) in &t.parameters {
            if p.default.is_none() {
                inputs.parameters.insert(name.clone(), sample_value(p));
            }
        }
        let key = rel.to_string_lossy().to_string();
        match (resolve(&t, &inputs), expected.get(&key)) {
            (Ok(_), None) => resolved += 1,
            (Err(e), Some(reason)) if e.to_string().contains(reason.as_str()) => {}
            (Ok(_), Some(_)) => failures.push(format!(
                "{key}: resolves now; remove it from the expectations"
            )),
            (Err(e), _) => failures.push(format!("{key}:{e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{resolved} resolved; failures:\n{}",
        failures.join("\n")
    );
}

/// cfn-lint 1.58's error codes per corpus template (tests/corpus/cfnlint_baseline_by_file.json).
fn cfnlint_errors(rel: &str) -> Option<Vec<String>> {
    static BASELINE: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let baseline = BASELINE.get_or_init(|| {
        let path = corpus_dir().join("../cfnlint_baseline_by_file.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    });
    let codes = baseline.get(format!("cfn-templates/{rel}"))?.as_object()?;
    Some(
        codes
            .keys()
            .filter(|c| c.starts_with('E'))
            .cloned()
            .collect(),
    )
}

/// Where cfn-lint finds no error, validate must not either: no false alarms
/// on real, deployable templates.
#[test]
fn validate_reports_no_errors_where_cfn_lint_finds_none() {
    use driftsync::template::schema::SchemaFacts;
    use driftsync::template::validate::{Severity, check_template};
    let mut false_alarms = Vec::new();
    let mut checked = 0;
    for rel in corpus_templates() {
        let key = rel.to_string_lossy().to_string();
        let text = std::fs::read_to_string(corpus_dir().join(&rel)).unwrap();
        let Ok(t) = Template::parse(&text) else {
            continue;
        };
        if cfnlint_errors(&key).is_none_or(|codes| !codes.is_empty()) {
            continue;
        }
        checked += 1;
        for d in check_template(&t, SchemaFacts::embedded()) {
            if d.severity == Severity::Error {
                false_alarms.push(format!(
                    "{key}:{}: {}",
                    d.location.map(|l| l.to_string()).unwrap_or_default(),
                    d.message
                ));
            }
        }
    }
    assert!(checked > 300, "only {checked} templates checked");
    assert!(
        false_alarms.is_empty(),
        "{checked} checked:\n{}",
        false_alarms.join("\n")
    );
}

//! Template engine benchmarks (divan). See BENCHMARKS.md for the figures and
//! the peers measured beside them.
//!
//! - `corpus_parse_resolve`: parse and resolve every template of the test
//!   corpus (tests/corpus/cfn-templates), with sample parameter values.
//! - `big_parse_diff`: parse and resolve the 1,512-resource template and a
//!   copy with 50 properties changed, then diff the two.

use std::path::{Path, PathBuf};

use driftsync::template::Template;
use driftsync::template::resolve::{Inputs, Pseudo, resolve};
use driftsync::template::schema::SchemaFacts;

fn main() {
    // Parse the embedded schema table once, outside every measurement.
    let _ = SchemaFacts::embedded();
    divan::main();
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn corpus() -> Vec<String> {
    let mut files = Vec::new();
    let mut dirs = vec![root().join("tests/corpus/cfn-templates")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml" | "json" | "template")
            ) {
                files.push(std::fs::read_to_string(p).unwrap());
            }
        }
    }
    files
}

fn inputs_for(t: &Template) -> Inputs {
    let mut inputs = Inputs {
        pseudo: Pseudo {
            region: Some("us-east-1".into()),
            stack_name: Some("bench".into()),
            ..Pseudo::default()
        },
        ..Inputs::default()
    };
    for (name, p) in &t.parameters {
        if p.default.is_none() {
            let v =
                p.allowed_values
                    .first()
                    .cloned()
                    .unwrap_or_else(|| match p.type_name.as_str() {
                        "Number" => "1".into(),
                        t if t.starts_with("List<") || t == "CommaDelimitedList" => {
                            "a,b,c,d".into()
                        }
                        _ => "a".repeat(p.min_length.unwrap_or(1).max(1) as usize),
                    });
            inputs.parameters.insert(name.clone(), v);
        }
    }
    inputs
}

#[divan::bench(sample_count = 20)]
fn corpus_parse_resolve(bencher: divan::Bencher) {
    let texts = corpus();
    // Parameter values are chosen outside the measurement.
    let inputs: Vec<Option<Inputs>> = texts
        .iter()
        .map(|t| Template::parse(t).ok().map(|t| inputs_for(&t)))
        .collect();
    bencher.bench(|| {
        let mut resolved = 0;
        for (text, inputs) in texts.iter().zip(&inputs) {
            if let (Ok(t), Some(i)) = (Template::parse(divan::black_box(text)), inputs)
                && resolve(&t, i).is_ok()
            {
                resolved += 1;
            }
        }
        assert!(resolved > 400);
        resolved
    });
}

/// The big template with the first 50 `BlockPublicAcls: true` turned false.
fn big_pair() -> (String, String) {
    let a = std::fs::read_to_string(root().join("benches/data/big_1512res.yaml")).unwrap();
    let mut b = String::with_capacity(a.len() + 200);
    let mut rest = a.as_str();
    for _ in 0..50 {
        let i = rest.find("BlockPublicAcls: true\n").expect("50 buckets");
        b.push_str(&rest[..i]);
        b.push_str("BlockPublicAcls: false\n");
        rest = &rest[i + "BlockPublicAcls: true\n".len()..];
    }
    b.push_str(rest);
    (a, b)
}

#[divan::bench(sample_count = 20)]
fn big_parse_diff(bencher: divan::Bencher) {
    use driftsync::template::diff::diff_stacks;
    let (a, b) = big_pair();
    let schema = SchemaFacts::embedded();
    bencher.bench(|| {
        let ta = Template::parse(divan::black_box(&a)).unwrap();
        let tb = Template::parse(divan::black_box(&b)).unwrap();
        let (da, db) = (
            resolve(&ta, &inputs_for(&ta)).unwrap(),
            resolve(&tb, &inputs_for(&tb)).unwrap(),
        );
        let d = diff_stacks(Some(&da), Some(&db), schema);
        assert_eq!(
            d.resources
                .iter()
                .map(|r| r.properties.len())
                .sum::<usize>(),
            50
        );
        d
    });
}

#[divan::bench(sample_count = 20)]
fn big_diff_only(bencher: divan::Bencher) {
    use driftsync::template::diff::diff_stacks;
    let (a, b) = big_pair();
    let (ta, tb) = (Template::parse(&a).unwrap(), Template::parse(&b).unwrap());
    let (da, db) = (
        resolve(&ta, &inputs_for(&ta)).unwrap(),
        resolve(&tb, &inputs_for(&tb)).unwrap(),
    );
    let schema = SchemaFacts::embedded();
    bencher.bench(|| {
        diff_stacks(
            Some(divan::black_box(&da)),
            Some(divan::black_box(&db)),
            schema,
        )
    });
}

#[divan::bench(sample_count = 10)]
fn big_phases_doc_parse(bencher: divan::Bencher) {
    let (a, _) = big_pair();
    bencher.bench(|| {
        driftsync::doc::parse(divan::black_box(&a), driftsync::doc::Format::Yaml).unwrap()
    });
}

#[divan::bench(sample_count = 10)]
fn big_phases_template_parse(bencher: divan::Bencher) {
    let (a, _) = big_pair();
    bencher.bench(|| Template::parse(divan::black_box(&a)).unwrap());
}

#[divan::bench(sample_count = 10)]
fn big_phases_resolve(bencher: divan::Bencher) {
    let (a, _) = big_pair();
    let t = Template::parse(&a).unwrap();
    let i = inputs_for(&t);
    bencher.bench(|| resolve(divan::black_box(&t), &i).unwrap());
}

#[divan::bench(sample_count = 10)]
fn big_phases_saphyr_events(bencher: divan::Bencher) {
    let (a, _) = big_pair();
    bencher.bench(|| saphyr_parser::Parser::new_from_str(divan::black_box(&a)).count());
}

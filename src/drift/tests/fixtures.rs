//! Regression cases, one per known CloudFormation drift false positive plus
//! real drift that must stay visible, as fixture triples in
//! `tests/fixtures/drift/` (in the spirit of Argo CD's gitops-engine diff
//! fixtures):
//!
//! - `<case>.expected.json`: the template's properties;
//! - `<case>.actual.json`: the live properties;
//! - `<case>.want.json`: `{"about", "type", "mode", "stack_tags"?,
//!   "ignore"?, "drifted", "differences"}`, where `ignore` is a
//!   `driftsync.yaml` text whose `ignore:` rules apply and `differences` is
//!   exactly what [`compare`](crate::drift::compare) must return.
//!
//! After an intended change, `DRIFTSYNC_BLESS=1 cargo test --lib drift`
//! rewrites `drifted` and `differences`; review the diff before committing.

use std::path::PathBuf;

use indexmap::IndexMap;

use super::{Setup, props, rules};
use crate::drift::{Difference, Mode, is_drifted, normalize};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift")
}

fn read(case: &str, part: &str) -> serde_json::Value {
    let path = dir().join(format!("{case}.{part}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Runs one case and returns the suppressions it shows.
fn run(case: &str) -> Vec<String> {
    let want = read(case, "want");
    let field = |k: &str| {
        want[k]
            .as_str()
            .unwrap_or_else(|| panic!("{case}: want.{k} missing"))
    };
    let mode = match field("mode") {
        "CloudFormation" => Mode::CloudFormation,
        "Deep" => Mode::Deep,
        other => panic!("{case}: unknown mode {other}"),
    };
    let mut setup = Setup::new(field("type"), mode);
    if let Some(tags) = want["stack_tags"].as_object() {
        setup.stack_tags = tags
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect::<IndexMap<_, _>>();
    }
    if let Some(yaml) = want["ignore"].as_str() {
        setup.ignore = rules(yaml);
    }
    let diffs = setup.compare(&props(read(case, "expected")), &props(read(case, "actual")));
    let got = serde_json::to_value(&diffs).unwrap();
    if std::env::var_os("DRIFTSYNC_BLESS").is_some() {
        bless(case, &want, &diffs);
    }
    assert_eq!(
        got,
        want["differences"],
        "{case}: differences ({})",
        field("about")
    );
    assert_eq!(
        Some(is_drifted(&diffs)),
        want["drifted"].as_bool(),
        "{case}: drifted"
    );
    diffs
        .iter()
        .filter_map(|d| serde_json::to_value(&d.ignored_by).ok())
        .filter_map(|v| v["normalizer"].as_str().map(str::to_string))
        .collect()
}

fn bless(case: &str, want: &serde_json::Value, diffs: &[Difference]) {
    // Metadata first, then the differences with their fields and values in
    // the order they were written (not JSON's sorted keys).
    let mut text = String::from("{\n");
    for k in ["about", "type", "mode", "stack_tags", "ignore"] {
        if !want[k].is_null() {
            let value = serde_json::to_string_pretty(&want[k])
                .unwrap()
                .replace('\n', "\n  ");
            text.push_str(&format!("  \"{k}\": {value},\n"));
        }
    }
    let differences = serde_json::to_string_pretty(diffs)
        .unwrap()
        .replace('\n', "\n  ");
    text.push_str(&format!("  \"drifted\": {},\n", is_drifted(diffs)));
    text.push_str(&format!("  \"differences\": {differences}\n}}\n"));
    std::fs::write(dir().join(format!("{case}.want.json")), text).unwrap();
}

/// One test per case, named as the behaviour it pins.
macro_rules! cases {
    ($($test:ident => $case:literal,)*) => {
        $( #[test] fn $test() { run($case); } )*
        const CASES: &[&str] = &[$($case),*];
    };
}

cases! {
    aws_cloudformation_tags_on_a_live_resource_are_not_drift => "aws-tags",
    stack_tags_propagated_to_a_resource_are_not_drift => "stack-tags",
    aws_and_stack_tags_in_a_map_shaped_tag_property_are_not_drift => "map-tags",
    reordered_security_group_rules_are_not_drift => "sg-rules-reordered",
    reordered_cloudfront_origins_are_not_drift => "cloudfront-origins-reordered",
    iam_policies_differing_in_shape_and_order_are_not_drift => "iam-policy-shape",
    bucket_policy_principal_forms_and_statement_order_are_not_drift => "bucket-policy-principals",
    sqs_queue_defaults_aws_fills_in_are_not_drift => "sqs-defaults",
    the_default_allow_all_egress_rule_is_not_drift => "sg-default-egress",
    s3_default_encryption_and_public_access_block_are_not_drift => "s3-defaults",
    tcp_in_upper_case_in_the_template_is_not_drift => "tcp-case",
    an_rds_engine_name_in_another_case_is_not_drift => "rds-engine-case",
    numbers_and_booleans_passed_as_strings_are_not_drift => "number-string",
    protocol_numbers_and_ports_of_all_protocol_rules_are_not_drift => "ip-protocol",
    an_ssh_rule_open_to_the_world_is_drift_amid_noise => "sg-ssh-open",
    a_changed_ssm_parameter_value_is_drift => "ssm-value-changed",
    a_tag_removed_live_is_drift => "tag-removed",
    a_widened_bucket_policy_is_drift => "bucket-policy-widened",
    a_user_ignore_rule_suppresses_drift_with_its_reason => "ignore-rule",
    a_generated_group_name_in_the_default_vpc_is_not_drift => "sg-generated-name",
}

#[test]
fn every_fixture_has_a_test_and_every_normaliser_a_case() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .expect("fixture directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".want.json").map(str::to_string))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "fixtures on disk and cases! disagree");
    let shown: Vec<String> = CASES.iter().flat_map(|c| run(c)).collect();
    for name in normalize::NAMES {
        // Unresolved values and other resources' attachments cannot be
        // written in JSON fixtures, and secrets are judged after the
        // comparison (`mask_secrets`); unit tests cover them.
        if ![
            normalize::UNRESOLVED,
            normalize::ATTACHED,
            normalize::SECRET_REFERENCE,
        ]
        .contains(name)
        {
            assert!(shown.iter().any(|s| s == name), "no fixture shows {name}");
        }
    }
}

//! Proposals on the example infra repository's `app-config` stack: each
//! drifted value goes where it is written, and the proof re-resolves it.

use std::collections::BTreeMap;

use super::*;
use crate::check::{CheckStatus, ResourceReport, StackCheck};
use crate::config::Config;
use crate::drift::Difference;
use crate::load::StackState;
use crate::template::Template;
use crate::template::resolve::{self, Inputs, Pseudo};

const CONFIG: &str = include_str!("../../examples/infra/driftsync.yaml");
const TEMPLATE: &str = include_str!("../../examples/infra/stacks/app-config.yaml");
const PARAMS: &str = include_str!("../../examples/infra/params/app-config.json");

fn state(template: &str) -> StackState {
    let config = Config::parse(CONFIG, "driftsync.yaml").unwrap();
    let spec = config.stack("app-config").unwrap().clone();
    let t = Template::parse(template).unwrap();
    let inputs = Inputs {
        parameters: spec.parameters_with(Some(PARAMS)).unwrap(),
        pseudo: Pseudo {
            region: Some(spec.region.clone()),
            stack_name: Some(spec.name.clone()),
            ..Pseudo::default()
        },
        ..Inputs::default()
    };
    let desired = resolve::resolve(&t, &inputs).unwrap();
    StackState {
        spec,
        template: Some(t),
        template_text: Some(template.to_string()),
        desired: Some(desired),
        inputs: Some(inputs),
        diagnostics: Vec::new(),
    }
}

/// (logical id, type, path, kind, expected, actual)
type Drift<'a> = (
    &'a str,
    &'a str,
    &'a str,
    DifferenceKind,
    Option<&'a str>,
    Option<&'a str>,
);

/// A NOT_EQUAL on an SSM parameter.
fn ne<'a>(id: &'a str, path: &'a str, expected: &'a str, actual: &'a str) -> Drift<'a> {
    (
        id,
        SSM,
        path,
        DifferenceKind::NotEqual,
        Some(expected),
        Some(actual),
    )
}

fn drifted(resources: &[Drift<'_>]) -> StackCheck {
    let drift = resources
        .iter()
        .map(|(id, ty, path, kind, expected, actual)| ResourceReport {
            logical_id: id.to_string(),
            physical_id: None,
            type_name: ty.to_string(),
            status: "MODIFIED".into(),
            differences: vec![Difference {
                property_path: PropertyPath::parse(path),
                kind: *kind,
                expected: expected.map(|v| Value::String(v.into())),
                actual: actual.map(|v| Value::String(v.into())),
                ignored_by: None,
                secret: false,
            }],
            changed_by: Vec::new(),
            location: None,
            checked_at: None,
            locations: Vec::new(),
            actual: None,
            nested_stack: None,
            note: None,
        })
        .collect();
    StackCheck {
        name: "app-config".into(),
        region: "us-east-1".into(),
        account: None,
        status: CheckStatus::Drifted,
        template: "stacks/app-config.yaml".into(),
        stack_status: None,
        pending: Vec::new(),
        drift,
        error: None,
        skipped_reason: None,
        config_verdict: None,
        api_calls: BTreeMap::new(),
    }
}

fn propose_on(state: &StackState, check: &StackCheck) -> (Proposal, proof::Proof) {
    let input = Input {
        state,
        check,
        stack_index: 1,
        config_path: "driftsync.yaml",
        config_text: CONFIG,
        parameters_text: Some(PARAMS),
        wanted: None,
        refused: &[],
    };
    let p = propose(&input).unwrap();
    let proof = proof::prove(&p, state, "driftsync.yaml", CONFIG, Some(PARAMS), false);
    (p, proof)
}

const SSM: &str = "AWS::SSM::Parameter";

#[test]
fn a_parameter_from_the_parameter_file_changes_there_and_only_there() {
    let s = state(TEMPLATE);
    let check = drifted(&[ne("LogLevelParam", "/Value", "info", "debug")]);
    let (p, proof) = propose_on(&s, &check);
    assert_eq!(p.files.len(), 1, "{p:?}");
    assert_eq!(p.files[0].path, "params/app-config.json");
    assert_eq!(p.files[0].after, PARAMS.replace("\"info\"", "\"debug\""));
    assert!(proof.holds, "{proof:?}");
    assert!(p.branch().starts_with("driftsync/codify/app-config-"));
    let patch = p.patch();
    assert!(
        patch.contains("-  { \"ParameterKey\": \"LogLevel\", \"ParameterValue\": \"info\" },"),
        "{patch}"
    );
    assert_eq!(
        patch
            .lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .count(),
        1,
        "{patch}"
    );
}

#[test]
fn a_mapping_value_changes_the_mapping_entry_of_the_stacks_region() {
    let s = state(TEMPLATE);
    let check = drifted(&[ne("TimeoutParam", "/Value", "30", "60")]);
    let (p, proof) = propose_on(&s, &check);
    assert_eq!(p.files[0].path, "stacks/app-config.yaml");
    assert_eq!(
        p.files[0].after,
        TEMPLATE.replace("us-east-1: { Seconds: 30 }", "us-east-1: { Seconds: 60 }")
    );
    assert!(proof.holds, "{proof:?}");
    assert_eq!(p.changes[0].via, "the mapping Timeouts/us-east-1/Seconds");
    // With cfn-lint installed, the edit brings no new finding.
    let linted = proof::prove(&p, &s, "driftsync.yaml", CONFIG, Some(PARAMS), true);
    if let Some(lint) = &linted.lint {
        assert!(
            lint.error.is_none() && lint.new_findings.is_empty(),
            "{lint:?}"
        );
    }
}

#[test]
fn literals_change_in_place_and_the_same_drift_keeps_its_branch_name() {
    let s = state(TEMPLATE);
    let one = drifted(&[ne(
        "LogLevelParam",
        "/Name",
        "/app/log-level",
        "/app/log level (INC-42)",
    )]);
    let (p, proof) = propose_on(&s, &one);
    assert_eq!(
        p.files[0].after,
        TEMPLATE.replace("Name: /app/log-level\n", "Name: /app/log level (INC-42)\n")
    );
    assert!(proof.holds);
    let other_value = drifted(&[ne("LogLevelParam", "/Name", "/app/log-level", "x")]);
    let (q, _) = propose_on(&s, &other_value);
    assert_eq!(
        p.branch(),
        q.branch(),
        "new values of the same drift update one branch"
    );
}

#[test]
fn secrets_and_values_built_by_functions_are_left_alone_with_the_reason() {
    let text = TEMPLATE
        .replace(
            "Name: /app/log-level\n",
            "Name: !Sub \"/${AWS::StackName}/log-level\"\n",
        )
        .replace("    Type: Number\n", "    Type: Number\n    NoEcho: true\n");
    let s = state(&text);
    let check = drifted(&[
        ne("LogLevelParam", "/Name", "/app-config/log-level", "x"),
        ne("LogLevelParam", "/Description", "Log level of the app", "x"),
        ne("MaxConnectionsParam", "/Value", "200", "300"),
        ne("TimeoutParam", "/Name", "{{resolve:ssm:/x}}", "y"),
    ]);
    let (p, _) = propose_on(&s, &check);
    assert!(p.is_empty(), "{p:?}");
    let reasons: Vec<&str> = p.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert!(reasons[0].contains("built by Fn::Sub"), "{reasons:?}");
    assert!(reasons[1].contains("write-only"), "{reasons:?}");
    assert!(reasons[2].contains("NoEcho"), "{reasons:?}");
    assert!(reasons[3].contains("dynamic reference"), "{reasons:?}");
}

#[test]
fn refused_differences_are_never_written() {
    let s = state(TEMPLATE);
    let check = drifted(&[ne("LogLevelParam", "/Value", "info", "debug")]);
    let refused = vec![(
        "LogLevelParam".to_string(),
        PropertyPath::parse("/Value"),
        "breaks a guard".to_string(),
    )];
    let input = Input {
        state: &s,
        check: &check,
        stack_index: 1,
        config_path: "driftsync.yaml",
        config_text: CONFIG,
        parameters_text: Some(PARAMS),
        wanted: None,
        refused: &refused,
    };
    let p = propose(&input).unwrap();
    assert!(p.is_empty());
    assert_eq!(p.skipped[0].reason, "breaks a guard");
}

#[test]
fn the_pull_request_names_the_drift_and_the_proof() {
    let s = state(TEMPLATE);
    let check = drifted(&[ne("LogLevelParam", "/Value", "info", "debug")]);
    let (p, proof) = propose_on(&s, &check);
    let pr = p.pull_request("main", Some(&proof));
    assert_eq!(
        pr.title,
        "codify(app-config): keep 1 live change to LogLevelParam"
    );
    assert_eq!(pr.branch, p.branch());
    assert!(
        pr.body
            .contains("| `LogLevelParam` | `/Value` | `\"info\"` | `\"debug\"` |"),
        "{}",
        pr.body
    );
    assert!(
        pr.body
            .contains("✅ `LogLevelParam /Value` now resolves to the live value"),
        "{}",
        pr.body
    );
}

const EVENTS: &str = include_str!("../../examples/infra/stacks/events.yaml");

fn events_state(template: &str, config: &str) -> StackState {
    let config = Config::parse(config, "driftsync.yaml").unwrap();
    let spec = config.stack("events").unwrap().clone();
    let t = Template::parse(template).unwrap();
    let inputs = Inputs {
        parameters: spec.parameters_with(None).unwrap(),
        pseudo: Pseudo {
            region: Some(spec.region.clone()),
            stack_name: Some(spec.name.clone()),
            ..Pseudo::default()
        },
        ..Inputs::default()
    };
    StackState {
        desired: Some(resolve::resolve(&t, &inputs).unwrap()),
        spec,
        template: Some(t),
        template_text: Some(template.to_string()),
        inputs: Some(inputs),
        diagnostics: Vec::new(),
    }
}

fn events_drift(actual: &str) -> StackCheck {
    let mut c = drifted(&[(
        "OrdersQueue",
        "AWS::SQS::Queue",
        "/MessageRetentionPeriod",
        DifferenceKind::NotEqual,
        Some("1209600"),
        Some(actual),
    )]);
    c.name = "events".into();
    c
}

fn propose_events(s: &StackState, config: &str, check: &StackCheck) -> (Proposal, proof::Proof) {
    let input = Input {
        state: s,
        check,
        stack_index: 2,
        config_path: "driftsync.yaml",
        config_text: config,
        parameters_text: None,
        wanted: None,
        refused: &[],
    };
    let p = propose(&input).unwrap();
    let proof = proof::prove(&p, s, "driftsync.yaml", config, None, false);
    (p, proof)
}

#[test]
fn an_inline_parameter_changes_in_the_config_and_its_comment_stays() {
    let s = events_state(EVENTS, CONFIG);
    let (p, proof) = propose_events(&s, CONFIG, &events_drift("345600"));
    assert_eq!(p.files.len(), 1);
    assert_eq!(p.files[0].path, "driftsync.yaml");
    assert_eq!(
        p.files[0].after,
        CONFIG.replace(
            "RetentionSeconds: 1209600   # 14 days",
            "RetentionSeconds: 345600   # 14 days"
        )
    );
    assert!(proof.holds, "{proof:?}");
}

#[test]
fn a_parameter_default_changes_when_nothing_else_gives_the_value() {
    let config = CONFIG.replace(
        "    parameters:\n      RetentionSeconds: 1209600   # 14 days\n",
        "",
    );
    let template = EVENTS.replace(
        "    MaxValue: 1209600\n",
        "    MaxValue: 1209600\n    Default: 1209600 # two weeks\n",
    );
    let s = events_state(&template, &config);
    let (p, proof) = propose_events(&s, &config, &events_drift("345600"));
    assert_eq!(
        p.files[0].after,
        template.replace(
            "Default: 1209600 # two weeks",
            "Default: 345600 # two weeks"
        )
    );
    assert!(proof.holds, "{proof:?}");
    // A value outside the parameter's constraints does not prove.
    let (_, proof) = propose_events(&s, &config, &events_drift("30"));
    assert!(!proof.holds && proof.error.is_some(), "{proof:?}");
}

#[test]
fn an_if_on_a_decided_condition_changes_its_chosen_literal_and_a_plain_sub_becomes_a_literal() {
    let text = TEMPLATE
        .replace(
            "Resources:\n",
            "Conditions:\n  InUsEast: !Equals [!Ref \"AWS::Region\", us-east-1]\n\nResources:\n",
        )
        .replace(
            "Name: /app/log-level\n",
            "Name: !If [InUsEast, /app/log-level, /app/eu/log-level]  # per region\n",
        )
        .replace(
            "Name: /app/max-connections\n",
            "Name: !Sub /app/max-connections\n",
        );
    let s = state(&text);
    let check = drifted(&[
        ne(
            "LogLevelParam",
            "/Name",
            "/app/log-level",
            "/app/us/log-level",
        ),
        ne(
            "MaxConnectionsParam",
            "/Name",
            "/app/max-connections",
            "/app/max-conns",
        ),
    ]);
    let (p, proof) = propose_on(&s, &check);
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    assert_eq!(
        p.files[0].after,
        text.replace(
            "!If [InUsEast, /app/log-level, /app/eu/log-level]  # per region",
            "!If [InUsEast, /app/us/log-level, /app/eu/log-level]  # per region"
        )
        .replace("Name: !Sub /app/max-connections", "Name: /app/max-conns")
    );
    assert!(proof.holds, "{proof:?}");
}

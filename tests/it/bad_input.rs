//! Bad input gets a clear error at file:line:column, exit code 1, and never
//! a panic.

use crate::cli::driftsync;
use crate::support::TestRepo;

const CONFIG: &str = "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - name: app\n    template: stacks/app.yaml\n";

/// A repo whose one stack has this template; returns validate's output.
fn validate_template(template: &[u8]) -> (String, String, i32) {
    let r = TestRepo::new();
    r.write("driftsync.yaml", CONFIG);
    std::fs::create_dir_all(r.path().join("stacks")).unwrap();
    std::fs::write(r.path().join("stacks/app.yaml"), template).unwrap();
    r.commit("bad");
    driftsync(r.path(), &["validate"])
}

fn assert_clean_failure(result: &(String, String, i32), expected: &str) {
    let (out, err, code) = result;
    assert_eq!(*code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        out.contains(expected) || err.contains(expected),
        "expected {expected:?} in:\n{out}\n{err}"
    );
}

#[test]
fn malformed_yaml_is_located() {
    let r = validate_template(b"Resources:\n  A: {Type: AWS::SNS::Topic\n  B: x\n");
    assert_clean_failure(&r, "error: stacks/app.yaml:3:");
}

#[test]
fn malformed_json_is_located() {
    let r = validate_template(
        b"{\n  \"Resources\": {\n    \"A\": {\"Type\": \"AWS::SNS::Topic\",}\n  }\n}\n",
    );
    assert_clean_failure(&r, "error: stacks/app.yaml:3:");
}

#[test]
fn an_unknown_tag_is_located() {
    let r = validate_template(
        b"Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Reff X}\n",
    );
    assert_clean_failure(&r, "stacks/app.yaml:4:29: unknown tag !Reff");
}

#[test]
fn an_intrinsic_with_the_wrong_arity_is_located() {
    let r = validate_template(b"Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties: {TopicName: !Join [a, b, c]}\n");
    assert_clean_failure(
        &r,
        "stacks/app.yaml:4:29: Fn::Join takes a list of 2 arguments, found a list of 3",
    );
}

#[test]
fn cyclic_conditions_are_located() {
    let r = validate_template(b"Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\nResources:\n  T: {Type: AWS::SNS::Topic, Condition: A}\n");
    assert_clean_failure(
        &r,
        "stacks/app.yaml:2:3: conditions form a cycle: A -> B -> A",
    );
}

#[test]
fn non_utf8_bytes_are_located_by_offset() {
    let r = validate_template(b"Resources:\n  A: {Type: AWS::SNS::Topic}\n  # caf\xe9\n");

    assert_clean_failure(
        &r,
        "error: stacks/app.yaml:3:8: not UTF-8 text (invalid byte 0xe9)",
    );
}

#[test]
fn a_ten_megabyte_template_is_refused_with_cloudformations_limit() {
    let mut t = b"Resources:\n  A: {Type: AWS::SNS::Topic}\n".to_vec();
    while t.len() < 10 * 1024 * 1024 {
        t.extend_from_slice(b"# padding padding padding padding padding padding padding padding\n");
    }
    let r = validate_template(&t);
    assert_clean_failure(&r, "stacks/app.yaml: the template is 10485");
    assert_clean_failure(&r, "CloudFormation accepts at most 1048576 bytes");
}

#[test]
fn five_hundred_levels_of_nesting_are_refused_not_a_stack_overflow() {
    let deep = format!(
        "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties: {{X: {}1{}}}\n",
        "[".repeat(500),
        "]".repeat(500)
    );
    assert_clean_failure(&validate_template(deep.as_bytes()), "stacks/app.yaml:4:");
    let block: String = (0..500)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i * 2)))
        .collect();
    let r = validate_template(
        format!(
            "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Metadata:\n{}",
            block
                .lines()
                .map(|l| format!("      {l}\n"))
                .collect::<String>()
        )
        .as_bytes(),
    );
    assert_clean_failure(&r, "nesting deeper than 200 levels");
    let json = format!(
        "{{\"Resources\": {{\"A\": {{\"Type\": \"AWS::SNS::Topic\", \"Metadata\": {}1{}}}}}}}",
        "[".repeat(500),
        "]".repeat(500)
    );
    assert_clean_failure(&validate_template(json.as_bytes()), "stacks/app.yaml:1:");
}

#[test]
fn a_config_with_an_unknown_key_is_located() {
    let r = TestRepo::new();
    r.write(
        "driftsync.yaml",
        "version: 1\nstacks:\n  - name: app\n    template: app.yaml\n    regoin: us-east-1\n",
    );
    r.commit("typo");
    assert_clean_failure(
        &driftsync(r.path(), &["validate"]),
        "driftsync.yaml:5:5: unknown field `regoin`",
    );
    let (out, _, code) = driftsync(r.path(), &["validate", "-o", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            v["diagnostics"][0]["line"].as_u64(),
            v["diagnostics"][0]["column"].as_u64()
        ),
        (Some(5), Some(5))
    );
}

#[test]
fn a_missing_template_or_parameter_is_named() {
    let r = TestRepo::new();
    r.write("driftsync.yaml", CONFIG)
        .write("stacks/other.yaml", "Resources: {}\n");
    r.commit("missing");
    let (out, _, code) = driftsync(r.path(), &["validate"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("error: stacks/app.yaml: file not found at"),
        "{out}"
    );

    let r = validate_template(b"Parameters:\n  Env: {Type: String}\nResources:\n  T: {Type: AWS::SNS::Topic, Properties: {TopicName: !Ref Env}}\n");
    assert_clean_failure(&r, "stacks/app.yaml:2:3: parameter Env has no value");
}

#[test]
fn an_unknown_revision_and_a_non_repository_exit_1() {
    let r = TestRepo::new();
    r.write("driftsync.yaml", CONFIG).commit("c");
    assert_clean_failure(
        &driftsync(r.path(), &["--rev", "nope", "validate"]),
        "unknown revision \"nope\"",
    );
    let plain = tempfile::tempdir().unwrap();
    assert_clean_failure(
        &driftsync(plain.path(), &["validate"]),
        "is not a git repository",
    );
    assert_clean_failure(
        &driftsync(r.path(), &["--config", "infra/driftsync.yaml", "validate"]),
        "infra/driftsync.yaml does not exist at",
    );
}

#[test]
fn a_missing_or_invalid_guard_file_is_a_located_validate_error() {
    let r = TestRepo::new();
    let config = format!(
        "{CONFIG}guards:\n  - file: policies/missing.guard\n  - file: policies/bad.guard\n"
    );
    r.write("driftsync.yaml", &config);
    r.write(
        "stacks/app.yaml",
        "Resources:\n  A:\n    Type: AWS::SNS::Topic\n",
    );
    r.write(
        "policies/bad.guard",
        "rule broken {\n  Resources.* exists\n",
    );
    r.commit("guards");
    let result = driftsync(r.path(), &["validate"]);
    assert_clean_failure(
        &result,
        "driftsync.yaml:7:11: guard file policies/missing.guard: file not found",
    );
    assert_clean_failure(
        &result,
        "policies/bad.guard:3:1: guard file policies/bad.guard is not valid Guard",
    );
    let (out, _, code) = driftsync(r.path(), &["validate", "-o", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["unreadable-guard", "guard-error"]);
    assert_eq!(v["valid"], false);
}

#[test]
fn a_deeply_nested_guard_file_is_a_located_validate_error_not_an_abort() {
    let r = TestRepo::new();
    r.write(
        "driftsync.yaml",
        &format!("{CONFIG}guards:\n  - file: policies/deep.guard\n"),
    );
    r.write(
        "stacks/app.yaml",
        "Resources:\n  A:\n    Type: AWS::SNS::Topic\n",
    );
    let nested = format!(
        "rule r {{\n  Resources.*.Properties.X in {}1{}\n}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    r.write("policies/deep.guard", &nested);
    r.commit("deep guard");
    assert_clean_failure(
        &driftsync(r.path(), &["validate"]),
        "policies/deep.guard:2:94: guard file policies/deep.guard is not valid Guard: rules nested more than 64 levels deep",
    );
}

#[test]
fn a_duration_too_long_for_the_clock_is_refused_not_a_panic() {
    let r = TestRepo::new();
    r.write("driftsync.yaml", CONFIG);
    r.commit("config");
    for args in [
        &["check", "--detection-timeout", "18446744073709551615s"][..],
        &["sync", "--apply", "--timeout", "18446744073709551615s"][..],
        &["check", "--max-age", "100000years"][..],
    ] {
        let (out, err, code) = driftsync(r.path(), args);
        assert_ne!(code, 101, "{args:?} panicked:\n{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.contains("longer than 3650 days, the longest duration driftsync accepts"),
            "{args:?}:\n{out}\n{err}"
        );
    }
}

#[test]
fn dependency_cycles_are_refused_with_each_member_located_even_5000_long() {
    // The shape of a real mistake: a security group and a launch template
    // that each name the other.
    let r = validate_template(b"Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: !Sub 'for ${Lt}'\n  Lt:\n    Type: AWS::EC2::LaunchTemplate\n    Properties:\n      LaunchTemplateData:\n        SecurityGroupIds: [!GetAtt Sg.GroupId]\n");
    assert_clean_failure(
        &r,
        "stacks/app.yaml:5:25: resources depend on each other in a cycle (2 long), which CloudFormation rejects: Sg (5:25) -> Lt (10:28) -> Sg [dependency-cycle]",
    );
    let mut t = String::from("Resources:\n");
    for i in 0..5000 {
        t.push_str(&format!(
            "  Q{i}:\n    Type: AWS::SQS::Queue\n    DependsOn: Q{}\n",
            (i + 1) % 5000
        ));
    }
    let r = validate_template(t.as_bytes());
    assert_clean_failure(&r, "(5000 long)");
    assert_clean_failure(&r, "Q4999 (15001:16) -> Q0");
}

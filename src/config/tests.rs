use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "driftsync.yaml")
}

const GOOD: &str = "version: 1\ndefaults:\n  region: us-east-1\n  tags: {owner: platform}\nstacks:\n  - name: web-sg\n    template: stacks/web-sg.yaml\n    parameters: { Env: no, Port: 8080 }\n    tags: { team: web }\n  - name: data\n    template: ./stacks/../stacks/data.yaml\n    region: eu-west-1\n    role_arn: arn:aws:iam::111111111111:role/driftsync\n    capabilities: [CAPABILITY_NAMED_IAM]\n    parameters_file: params/data.json\nignore:\n  - type: AWS::EC2::SecurityGroup\n    property: /Tags/**\n    reason: tags are managed by the tagging service\n";

#[test]
fn a_full_config_becomes_stack_specs_with_defaults_applied() {
    let c = parse(GOOD).unwrap();
    let web = c.stack("web-sg").unwrap();
    assert_eq!(web.region, "us-east-1");
    assert_eq!(web.template, "stacks/web-sg.yaml");
    assert_eq!(
        web.parameters["Env"], "no",
        "YAML 1.1 booleans stay text in parameters"
    );
    assert_eq!(web.parameters["Port"], "8080");
    assert_eq!(
        web.tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
        ["owner=platform", "team=web"]
    );
    assert_eq!(web.location, Location { line: 6, col: 5 });
    let data = c.stack("data").unwrap();
    assert_eq!(data.template, "stacks/data.yaml");
    assert_eq!(data.parameters_file.as_deref(), Some("params/data.json"));
    assert_eq!(data.capabilities, [Capability::CapabilityNamedIam]);
    assert!(c.ignore[0].matches(
        "web-sg",
        "AWS::EC2::SecurityGroup",
        "WebSg",
        "/Tags/0/Value"
    ));
    assert!(!c.ignore[0].matches(
        "web-sg",
        "AWS::EC2::SecurityGroup",
        "WebSg",
        "/SecurityGroupIngress/0"
    ));
}

#[test]
fn unknown_keys_are_located_errors() {
    let err =
        parse("version: 1\nstacks:\n  - name: a\n    template: a.yaml\n    regoin: us-east-1\n")
            .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("driftsync.yaml:5:5: unknown field `regoin`"),
        "{msg}"
    );
}

#[test]
fn a_stack_without_a_region_is_refused_where_it_is_declared() {
    let err = parse("version: 1\nstacks:\n  - name: a\n    template: a.yaml\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "driftsync.yaml:3:5: stack \"a\" has no region: set `region` on it or `defaults.region`"
    );
}

#[test]
fn paths_that_leave_the_repository_are_refused() {
    for bad in [
        "../outside.yaml",
        "/etc/passwd",
        "a/../../b.yaml",
        "C:\\x.yaml",
    ] {
        let text = format!(
            "version: 1\ndefaults: {{region: us-east-1}}\nstacks:\n  - name: a\n    template: '{bad}'\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.starts_with("driftsync.yaml:5:15: "), "{bad}: {err}");
    }
    // Relative to the config's own directory.
    let c = Config::parse(
        "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: a, template: ../t.yaml}\n",
        "infra/driftsync.yaml",
    )
    .unwrap();
    assert_eq!(c.stacks[0].template, "t.yaml");
}

#[test]
fn duplicate_names_bad_names_and_bad_arns() {
    let dup = "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: a, template: a.yaml}\n  - {name: a, template: b.yaml}\n";
    assert_eq!(
        parse(dup).unwrap_err().to_string(),
        "driftsync.yaml:5:12: stack \"a\" is listed twice (first at 4:5)"
    );
    let bad =
        "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: 1web, template: a.yaml}\n";
    assert!(
        parse(bad)
            .unwrap_err()
            .to_string()
            .contains("not a valid CloudFormation stack name")
    );
    let arn = "version: 1\ndefaults: {region: us-east-1, role_arn: 'arn:aws:iam::1:role/x'}\nstacks:\n  - {name: a, template: a.yaml}\n";
    assert_eq!(
        parse(arn).unwrap_err().to_string(),
        "driftsync.yaml:2:41: \"arn:aws:iam::1:role/x\" is not an IAM role ARN (arn:aws:iam::123456789012:role/name)"
    );
}

#[test]
fn versions_capabilities_and_ignore_rules_are_checked() {
    let v2 = "version: 2\nstacks: []\n";
    assert_eq!(
        parse(v2).unwrap_err().to_string(),
        "driftsync.yaml:1:10: unsupported config version 2; this driftsync reads version 1"
    );
    let cap = "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: a, template: a.yaml, capabilities: [CAPABILITY_ALL]}\n";
    let err = parse(cap).unwrap_err().to_string();
    assert!(
        err.starts_with("driftsync.yaml:4:48: unknown variant `CAPABILITY_ALL`"),
        "{err}"
    );
    let rule = "version: 1\nstacks: []\nignore:\n  - {reason: nothing}\n";
    assert!(
        parse(rule)
            .unwrap_err()
            .to_string()
            .contains("needs at least one of")
    );
    let glob = "version: 1\nstacks: []\nignore:\n  - {property: '/Tags/[0'}\n";
    assert!(
        parse(glob)
            .unwrap_err()
            .to_string()
            .starts_with("driftsync.yaml:4:16: invalid property pattern")
    );
}

#[test]
fn malformed_yaml_is_located() {
    let err = parse("version: 1\nstacks: [\n").unwrap_err().to_string();
    assert!(err.starts_with("driftsync.yaml:"), "{err}");
    let err = parse("version: 1\nversion: 1\nstacks: []\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "driftsync.yaml:2:1: duplicate key \"version\" (first defined at 1:1)"
    );
}

#[test]
fn parameter_files_in_both_shapes_and_inline_overrides() {
    let c = parse(GOOD).unwrap();
    let data = c.stack("data").unwrap();
    let map = data
        .parameters_with(Some("{\"Env\": \"prod\", \"Size\": 3}"))
        .unwrap();
    assert_eq!(map["Env"], "prod");
    assert_eq!(map["Size"], "3");
    let cli = "[{\"ParameterKey\": \"Env\", \"ParameterValue\": \"stage\"}]";
    assert_eq!(data.parameters_with(Some(cli)).unwrap()["Env"], "stage");
    let err = data
        .parameters_with(Some("[{\"Key\": \"Env\"}]"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("params/data.json:1:3: unknown field `Key`"),
        "{err}"
    );
}

#[test]
fn the_committed_schema_is_current() {
    let committed: serde_json::Value =
        serde_json::from_str(include_str!("../../config/driftsync.schema.json"))
            .expect("config/driftsync.schema.json is JSON");
    assert_eq!(
        committed,
        json_schema(),
        "run `driftsync schema > config/driftsync.schema.json`"
    );
}

#[test]
fn the_annotated_example_config_is_valid() {
    let c = Config::parse(
        include_str!("../../config/driftsync.example.yaml"),
        "driftsync.yaml",
    )
    .unwrap();
    assert!(!c.stacks.is_empty());
}

const POLICY: &str = "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - name: web-sg\n    template: web.yaml\n    policy:\n      default: revert\n      rules:\n        - {match: {logical_id: WebSg}, action: ignore}\npolicy:\n  default: report\n  allow_replacement: false\n  revert: {via: cloudcontrol}\n  limits: {max_reverts: 3, window: 1h, flip_flops: 2, failures_to_open: 3, cooldown: 30m}\n  break_glass:\n    tag: 'driftsync:break-glass'\n    after: revert\n    windows:\n      - {stack: 'web-*', until: '2026-12-01T00:00:00Z', reason: INC-42}\n  rules:\n    - match: {stack: 'web-*', type: AWS::EC2::SecurityGroup, logical_id: '*', property: /SecurityGroupIngress/*}\n      action: revert\n      reason: pipeline-owned rules\n      allow_replacement: false\nguards:\n  - file: ./policies/../policies/no-public-ingress.guard\n";

#[test]
fn policy_sections_compile_with_their_locations() {
    let c = parse(POLICY).unwrap();
    let p = &c.policy;
    assert_eq!(p.default, Some(Action::Report));
    assert_eq!(p.revert_via, Some(RevertVia::CloudControl));
    assert_eq!(p.limits.window, Some(std::time::Duration::from_secs(3600)));
    assert_eq!(
        p.limits.cooldown,
        Some(std::time::Duration::from_secs(1800))
    );
    assert_eq!(p.break_glass_after, Some(AfterBreakGlass::Revert));
    assert!(p.windows[0].covers("web-sg") && !p.windows[0].covers("data"));
    assert_eq!(p.windows[0].location, Location { line: 19, col: 9 });
    let rule = &p.rules[0];
    assert_eq!(
        (rule.index, rule.location),
        (0, Location { line: 21, col: 7 })
    );
    let subject = Subject {
        stack: "web-sg",
        type_name: "AWS::EC2::SecurityGroup",
        logical_id: "WebSg",
        property: Some("/SecurityGroupIngress/1"),
        kind: DecisionKind::Drift,
        changed_by: None,
    };
    assert!(rule.matches(&subject));
    assert!(!rule.matches(&Subject {
        property: Some("/Tags/0"),
        ..subject
    }));
    assert!(!rule.matches(&Subject {
        property: None,
        ..subject
    }));
    let own = c.stack("web-sg").unwrap().policy.as_ref().unwrap();
    assert_eq!(own.default, Some(Action::Revert));
    assert_eq!(own.rules[0].location, Location { line: 9, col: 11 });
    assert_eq!(c.guards, ["policies/no-public-ingress.guard"]);
    assert_eq!(c.guard_locations, [Location { line: 26, col: 11 }]);
}

#[test]
fn policy_mistakes_are_located_errors() {
    let cases = [
        (
            "policy: {limits: {window: soon}}\n",
            "4:27: \"soon\" is not a duration",
        ),
        (
            "policy: {limits: {window: 0s}}\n",
            "4:27: the window must be longer than 0s",
        ),
        (
            "policy:\n  break_glass:\n    windows: [{until: 'next week'}]\n",
            "6:23: \"next week\" is not an RFC 3339 time",
        ),
        ("policy: {default: fix}\n", "4:19: unknown variant `fix`"),
        (
            "policy: {rules: [{match: {lid: X}, action: revert}]}\n",
            "4:27: unknown field `lid`",
        ),
        (
            "policy: {rules: [{match: {property: Tags}, action: revert}]}\n",
            "4:37: property paths start with '/'",
        ),
        (
            "policy: {rules: [{match: {type: 'AWS::[EC2'}, action: revert}]}\n",
            "4:33: invalid type pattern",
        ),
        (
            "policy: {rules: [{match: {kind: pending, changed_by: x}, action: report}]}\n",
            "4:54: `changed_by` names who changed live state",
        ),
        (
            "policy: {revert: {via: lambda}}\n",
            "4:24: unknown variant `lambda`",
        ),
        (
            "guards: [{file: ../outside.guard}]\n",
            "4:17: \"../outside.guard\" leaves the repository",
        ),
        ("stacks_policy: 1\n", "4:1: unknown field `stacks_policy`"),
        (
            "policy: {limits: {window: 18446744073709551615s}}\n",
            "4:27: \"18446744073709551615s\" is not a duration (like 90s, 30m or 1h): longer than 3650 days",
        ),
    ];
    for (yaml, want) in cases {
        let text = format!("version: 1\ndefaults: {{region: us-east-1}}\nstacks: []\n{yaml}");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("driftsync.yaml:{want}")),
            "{yaml}: {err}"
        );
    }
    let stack = "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: a, template: a.yaml, policy: {limits: {cooldown: forever}}}\n";
    let err = parse(stack).unwrap_err().to_string();
    assert!(
        err.starts_with("driftsync.yaml:4:61: \"forever\" is not a duration"),
        "{err}"
    );
}

#[test]
fn rfc3339_times_may_carry_an_offset() {
    let utc = parse_rfc3339("2026-12-01T00:00:00Z").unwrap();
    assert_eq!(parse_rfc3339("2026-12-01T02:00:00+02:00").unwrap(), utc);
    assert!(parse_rfc3339("2026-12-01").is_err());
    assert!(parse_rfc3339("").is_err());
}

const GITHUB: &str = "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: a, template: a.yaml}\ngithub:\n  repository: acme/infra\n  labels: [drift]\n  reviewers: [alice, '@acme/platform']\n  assignees: [bob]\n";

#[test]
fn the_github_section_defaults_to_github_com() {
    let g = parse(GITHUB).unwrap().github.unwrap();
    assert_eq!(g.repository.to_string(), "acme/infra");
    assert_eq!(g.api_url, "https://api.github.com");
    assert_eq!(g.labels, ["drift"]);
    assert_eq!(g.reviewers, ["alice", "@acme/platform"]);
    assert_eq!(g.assignees, ["bob"]);
    assert_eq!(g.location, Location { line: 6, col: 3 });
    assert!(parse(&GITHUB.replace("github:\n", "x-github:\n")).is_err());
    let ghes = parse(&format!(
        "{GITHUB}  api_url: https://ghe.example.com/api/v3/\n"
    ))
    .unwrap();
    assert_eq!(
        ghes.github.unwrap().api_url,
        "https://ghe.example.com/api/v3"
    );
}

#[test]
fn github_section_errors_are_located_and_never_echo_credentials() {
    let cases = [
        (
            "acme/infra",
            "acme",
            "6:15: \"acme\" is not a GitHub repository",
        ),
        ("[drift]", "['']", "7:12: \"\" is not a label name"),
        (
            "[alice, '@acme/platform']",
            "[alice, 'a b']",
            "8:22: \"a b\" is neither a GitHub login nor an org/team",
        ),
        (
            "[bob]",
            "[acme/bob]",
            "9:15: \"acme/bob\" is not a GitHub login",
        ),
    ];
    for (from, to, expected) in cases {
        let err = parse(&GITHUB.replacen(from, to, 1))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("driftsync.yaml:{expected}")),
            "{err}"
        );
    }
    let err = parse(&format!(
        "{GITHUB}  api_url: https://x:ghp_s3cr3t@ghe.example.com/api/v3\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("driftsync.yaml:10:12: "), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[test]
fn artifacts_in_defaults_are_inherited_and_a_stacks_own_keys_win() {
    let c = parse("version: 1\ndefaults:\n  region: us-east-1\n  artifacts: {bucket: deploy-artifacts, prefix: cfn/templates}\nstacks:\n  - {name: a, template: a.yaml}\n  - name: b\n    template: b.yaml\n    artifacts: {prefix: b, always: true, kms_key_id: 'arn:aws:kms:us-east-1:111111111111:key/k'}\n").unwrap();
    let a = c.stack("a").unwrap().artifacts.clone().unwrap();
    assert_eq!(
        (a.bucket.as_str(), a.prefix.as_deref(), a.always),
        ("deploy-artifacts", Some("cfn/templates"), false)
    );
    let b = c.stack("b").unwrap().artifacts.clone().unwrap();
    assert_eq!(
        (b.bucket.as_str(), b.prefix.as_deref(), b.always),
        ("deploy-artifacts", Some("b"), true)
    );
    assert!(b.kms_key_id.is_some());
    let none = parse(
        "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: a, template: a.yaml}\n",
    )
    .unwrap();
    assert_eq!(none.stacks[0].artifacts, None);
}

#[test]
fn bad_artifacts_settings_are_located_errors() {
    let cases = [
        (
            "defaults:\n  region: us-east-1\n  artifacts: {bucket: Bad_Bucket}\nstacks:\n  - {name: a, template: a.yaml}\n",
            "driftsync.yaml:4:23: \"Bad_Bucket\" is not an S3 bucket name",
        ),
        (
            "defaults: {region: us-east-1}\nstacks:\n  - name: a\n    template: a.yaml\n    artifacts: {prefix: x}\n",
            "driftsync.yaml:6:16: `artifacts` needs a `bucket`",
        ),
        (
            "defaults: {region: us-east-1}\nstacks:\n  - name: a\n    template: a.yaml\n    artifacts: {bucket: ok-bucket, prefix: /lead}\n",
            "driftsync.yaml:6:44: \"/lead\" is not a usable key prefix",
        ),
        (
            "defaults: {region: us-east-1}\nstacks:\n  - name: a\n    template: a.yaml\n    artifacts: {bucket: ok-bucket, kms_key_id: alias/x}\n",
            "driftsync.yaml:6:48: \"alias/x\" is not a KMS key ARN",
        ),
    ];
    for (text, want) in cases {
        let msg = parse(&format!("version: 1\n{text}"))
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with(want), "{msg}\nwanted: {want}");
    }
}

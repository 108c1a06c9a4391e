//! The shipped guard, and guards overriding rules, ignore and break-glass.

use super::*;

fn sg(ingress: serde_json::Value, tags: serde_json::Value) -> ResourceReport {
    resource(
        "WebSg",
        "AWS::EC2::SecurityGroup",
        vec![diff("/SecurityGroupIngress/0", json!({}))],
        Some(json!({"GroupDescription": "web", "SecurityGroupIngress": ingress, "Tags": tags})),
        Some("alice"),
    )
}

fn violations(p: &Policy, r: ResourceReport) -> Vec<String> {
    let d = p.decide(&stack("web-sg", vec![r], vec![]), &NoHistory, now());
    d.decisions[0]
        .guard_violations
        .iter()
        .map(|v| v.rule.clone())
        .collect()
}

#[test]
fn a_guard_violation_forces_a_revert_even_when_the_rule_says_codify() {
    let p = guarded(
        "policy:\n  rules:\n    - {match: {stack: 'web-*'}, action: codify, reason: humans own it}\n",
    );
    let d = p.decide(
        &stack("web-sg", vec![open_ssh(json!([]))], vec![]),
        &NoHistory,
        now(),
    );
    let d = only(&d);
    assert_eq!(d.action, Action::Revert);
    assert_eq!(
        d.rule,
        RuleRef::Guard {
            file: "policies/no-public-ingress.guard".into(),
            rule: "NO_PUBLIC_SSH".into()
        }
    );
    assert!(
        d.reason
            .contains("breaks guard NO_PUBLIC_SSH (policies/no-public-ingress.guard)"),
        "{}",
        d.reason
    );
    assert!(
        d.reason.contains("port 22"),
        "the guard's own message: {}",
        d.reason
    );
}

#[test]
fn a_guard_violation_is_never_ignored_nor_tolerated_under_break_glass() {
    let lease = json!([{"Key": "driftsync:break-glass", "Value": "2026-12-01T00:00:00Z"}]);
    let p = guarded("policy:\n  rules:\n    - {match: {logical_id: WebSg}, action: ignore}\n");
    let d = p.decide(
        &stack("web-sg", vec![open_ssh(lease)], vec![]),
        &NoHistory,
        now(),
    );
    assert_eq!(only(&d).action, Action::Revert);
    assert_eq!(only(&d).tolerated_until, None);
}

#[test]
fn the_shipped_guard_finds_world_open_ssh_http_and_https_however_written() {
    let p = guarded("");
    let open = |rule: serde_json::Value| violations(&p, sg(json!([rule]), json!([])));
    assert_eq!(
        open(json!({"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22})),
        ["NO_PUBLIC_SSH"]
    );
    assert_eq!(
        open(json!({"CidrIpv6": "::/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443})),
        ["NO_PUBLIC_HTTPS"]
    );
    assert_eq!(
        open(json!({"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535})),
        ["NO_PUBLIC_SSH", "NO_PUBLIC_HTTP", "NO_PUBLIC_HTTPS"],
        "a range covering the ports"
    );
    assert_eq!(
        open(json!({"CidrIp": "0.0.0.0/0", "IpProtocol": "-1"})).len(),
        3,
        "all protocols"
    );
    assert_eq!(
        open(json!({"CidrIp": "0.0.0.0/0", "IpProtocol": "-1", "FromPort": -1, "ToPort": -1}))
            .len(),
        3
    );
    assert!(
        open(json!({"CidrIp": "10.0.0.0/8", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}))
            .is_empty()
    );
    assert!(
        open(json!({"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080}))
            .is_empty()
    );
    assert!(
        open(json!({"CidrIp": "0.0.0.0/0", "IpProtocol": "icmp", "FromPort": -1, "ToPort": -1}))
            .is_empty()
    );
    assert!(
        violations(&p, sg(json!([]), json!([]))).is_empty(),
        "no ingress at all"
    );
}

#[test]
fn standalone_ingress_resources_are_checked_and_can_be_allowed_in_the_guard_file() {
    let p = guarded("");
    let ingress = |logical_id: &str| {
        resource(
            logical_id,
            "AWS::EC2::SecurityGroupIngress",
            vec![diff("/Description", json!("x"))],
            Some(
                json!({"GroupId": "sg-1", "CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80}),
            ),
            None,
        )
    };
    assert_eq!(violations(&p, ingress("OpenHttp")), ["NO_PUBLIC_HTTP"]);
    assert!(violations(&p, ingress("AllowedPublicIngressExample")).is_empty());
}

#[test]
fn the_allow_tag_exempts_the_ports_it_lists_when_it_is_as_git_has_it() {
    let p = guarded("");
    let world = json!([
        {"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443},
        {"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80}
    ]);
    let tag = |v: &str| json!([{"Key": "driftsync:allow-public-ingress", "Value": v}]);
    assert_eq!(
        violations(&p, sg(world.clone(), tag("443"))),
        ["NO_PUBLIC_HTTP"]
    );
    assert!(violations(&p, sg(world.clone(), tag("80, 443"))).is_empty());
    assert_eq!(
        violations(&p, sg(world.clone(), tag("4430"))).len(),
        2,
        "whole port numbers only"
    );
    // The same tag added out of band shows as Tags drift: then it is not trusted.
    let mut tampered = sg(world, tag("80,443"));
    tampered.differences.push(diff(
        "/Tags/0",
        json!({"Key": "driftsync:allow-public-ingress", "Value": "80,443"}),
    ));
    assert_eq!(
        violations(&p, tampered),
        ["NO_PUBLIC_HTTP", "NO_PUBLIC_HTTPS"]
    );
}

#[test]
fn odd_live_values_never_panic_and_an_unevaluable_guard_fails_closed() {
    let p = guarded("");
    for ingress in [
        json!("not a list"),
        json!([null, 3, "x", {"CidrIp": ["0.0.0.0/0"]}]),
        json!([{"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": "22", "ToPort": "22"}]),
        json!([{"CidrIp": "0.0.0.0/0", "IpProtocol": 6, "FromPort": 1.5, "ToPort": true}]),
    ] {
        let _ = violations(&p, sg(ingress, json!("tags as text")));
    }
    // cfn-guard 3.2.1 reaches an `unreachable!()` on this (a filter on a
    // key-filtered query): the panic is caught and counts as a violation.
    let broken = "let allowed = [ 'A' ]\nlet x = Resources[ keys not in %allowed ][ Type == 'AWS::SQS::Queue' ]\nrule R when %x !empty { %x exists }\n";
    let c = config("guards:\n  - file: g.guard\n");
    let p = Policy::new(&c, &[("g.guard".into(), broken.into())]).unwrap();
    let r = resource(
        "Q",
        "AWS::SQS::Queue",
        vec![diff("/DelaySeconds", json!(5))],
        Some(json!({"Size": 5})),
        None,
    );
    let d = p.decide(&stack("data", vec![r], vec![]), &NoHistory, now());
    assert_eq!(only(&d).action, Action::Revert, "{:#?}", only(&d));
    assert!(
        only(&d).reason.contains("could not be evaluated"),
        "{}",
        only(&d).reason
    );
}

#[test]
fn a_guard_file_that_does_not_parse_or_was_not_read_is_a_located_error() {
    let c = config("guards:\n  - file: policies/bad.guard\n");
    let err = Policy::new(
        &c,
        &[(
            "policies/bad.guard".into(),
            "rule broken {\n  Resources.* exists\n".into(),
        )],
    )
    .unwrap_err();
    assert!(
        matches!(&err, PolicyError::GuardParse { file, .. } if file == "policies/bad.guard"),
        "{err}"
    );
    assert!(err.to_string().starts_with("policies/bad.guard"), "{err}");
    let err = Policy::new(&c, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "driftsync.yaml:7:11: guard file policies/bad.guard was not found"
    );
    assert!(
        check_guard(
            "ok.guard",
            include_str!("../../../config/policies/no-public-ingress.guard")
        )
        .is_ok()
    );
}

#[test]
fn a_drift_without_live_properties_says_its_guards_were_not_evaluated() {
    let p = guarded("policy: {default: codify}\n");
    let r = resource(
        "Q",
        "AWS::SQS::Queue",
        vec![diff("/DelaySeconds", json!(5))],
        None,
        None,
    );
    let d = p.decide(&stack("data", vec![r], vec![]), &NoHistory, now());
    assert_eq!(only(&d).action, Action::Codify);
    assert!(
        only(&d)
            .reason
            .ends_with("guards were not evaluated: the detection returned no live properties"),
        "{}",
        only(&d).reason
    );
}

#[test]
fn a_deeply_nested_guard_file_is_refused_with_its_place_not_a_stack_overflow() {
    // Guard's parser recurses once per nesting level; a repository must not
    // be able to crash the agent that reads its guard files.
    let lists = format!(
        "rule r {{\n  Resources.*.Properties.X in {}1{}\n}}\n",
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    let err = check_guard("deep.guard", &lists).unwrap_err();
    assert!(err.to_string().starts_with("deep.guard:2:"), "{err}");
    assert!(
        err.to_string().contains("nested more than 64 levels deep"),
        "{err}"
    );

    let mut whens = String::from("rule r {\n");
    for _ in 0..10_000 {
        whens.push_str("when Resources exists {\n");
    }
    let err = check_guard("when.guard", &whens).unwrap_err();
    assert!(
        err.to_string().contains("nested more than 64 levels deep"),
        "{err}"
    );
}

#[test]
fn a_guard_file_larger_than_the_limit_is_refused_before_parsing() {
    let mut text = String::new();
    while text.len() <= 1024 * 1024 {
        text.push_str("rule r { Resources exists } # padding padding padding\n");
    }
    let err = check_guard("big.guard", &text).unwrap_err();
    assert!(
        err.to_string()
            .contains("larger than the 1048576-byte limit for guard files"),
        "{err}"
    );
}

#[test]
fn brackets_in_comments_and_strings_do_not_count_as_nesting() {
    let text = format!(
        "# {}\nrule r {{ Resources.*.Properties.Name == \"{}\" }}\n",
        "[".repeat(100),
        "{".repeat(100)
    );
    assert!(check_guard("ok.guard", &text).is_ok());
}

#[test]
fn nesting_at_the_limit_is_handed_to_guard_on_a_test_threads_small_stack() {
    let depth = crate::policy::guard::MAX_GUARD_NESTING - 1; // the rule's own `{`
    let text = format!(
        "rule r {{\n  Resources.*.Properties.X in {}1{}\n}}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    // Parses or is refused by Guard itself; either way, no overflow.
    let _ = check_guard("limit.guard", &text);
}

#[test]
fn nothing_stops_a_guard_violations_revert_and_the_override_is_said_loudly() {
    let p = guarded("policy: {default: revert}\n");
    let element = crate::drift::loop_path(
        "AWS::EC2::SecurityGroup",
        &open_ssh(json!([])).differences[0],
    );
    // The open SSH rule "came back" twice and the circuit is open: any other
    // revert would be blocked.
    let flip = (
        "web-sg".to_string(),
        "WebSg".to_string(),
        element,
        now() - Duration::from_secs(60),
        Some("mallory".to_string()),
    );
    for history in [
        MemoryHistory {
            flips: vec![flip.clone(), flip.clone()],
            ..MemoryHistory::default()
        },
        MemoryHistory {
            circuits: vec![("web-sg".into(), now() + Duration::from_secs(600))],
            ..MemoryHistory::default()
        },
    ] {
        let d = p.decide(
            &stack("web-sg", vec![open_ssh(json!([]))], vec![]),
            &history,
            now(),
        );
        let d = only(&d);
        assert_eq!((d.action, d.blocked_by), (Action::Revert, None), "{d:?}");
        assert!(d.is_actionable());
        assert!(d.limit_overridden.is_some());
        assert!(
            d.reason.contains("a guard violation is never left open"),
            "{}",
            d.reason
        );
    }
}

//! Rules, defaults, pending changes, break-glass and limits.

use super::*;

const RULES: &str = "policy:\n  default: codify\n  rules:\n    - match: { type: AWS::SSM::Parameter, property: /Value }\n      action: reapply\n      reason: parameters follow git\n    - match: { stack: 'web-*' }\n      action: revert\n";

#[test]
fn the_first_matching_rule_wins_and_stack_rules_are_tried_first() {
    let p = policy(RULES);
    let d = p.decide(
        &stack("data", vec![parameter_drift("P", json!([]))], vec![]),
        &NoHistory,
        now(),
    );
    let d = only(&d);
    assert_eq!(d.action, Action::Reapply);
    assert_eq!(d.reason, "parameters follow git");
    assert_eq!(
        d.rule,
        RuleRef::Rule {
            scope: Scope::Global,
            index: 0,
            file: "driftsync.yaml".into(),
            location: crate::doc::Location { line: 9, col: 7 },
        }
    );
    // The stack's own rule comes before the top-level ones.
    let stacked = "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - name: data\n    template: d.yaml\n    policy:\n      rules:\n        - match: { logical_id: P }\n          action: ignore\npolicy:\n  rules:\n    - match: { logical_id: P }\n      action: revert\n";
    let p = Policy::new(&Config::parse(stacked, "driftsync.yaml").unwrap(), &[]).unwrap();
    let d = p.decide(
        &stack("data", vec![parameter_drift("P", json!([]))], vec![]),
        &NoHistory,
        now(),
    );
    assert_eq!(only(&d).action, Action::Ignore);
    assert!(matches!(
        only(&d).rule,
        RuleRef::Rule {
            scope: Scope::Stack,
            index: 0,
            ..
        }
    ));
}

#[test]
fn without_a_matching_rule_the_stack_default_then_the_top_level_default_then_report_decide() {
    let drift = || {
        vec![resource(
            "Q",
            "AWS::SQS::Queue",
            vec![diff("/DelaySeconds", json!(5))],
            None,
            None,
        )]
    };
    let d = policy(RULES).decide(&stack("data", drift(), vec![]), &NoHistory, now());
    assert_eq!(only(&d).action, Action::Codify);
    assert_eq!(
        only(&d).rule.to_string(),
        "default of the top-level policy (driftsync.yaml:7:12)"
    );
    let d = policy("").decide(&stack("data", drift(), vec![]), &NoHistory, now());
    assert_eq!(only(&d).action, Action::Report);
    assert_eq!(
        only(&d).rule,
        RuleRef::Default {
            scope: Scope::Builtin,
            file: None,
            location: None
        }
    );
    let own = "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: data, template: d.yaml, policy: {default: ignore}}\npolicy: {default: revert}\n";
    let p = Policy::new(&Config::parse(own, "driftsync.yaml").unwrap(), &[]).unwrap();
    let d = p.decide(&stack("data", drift(), vec![]), &NoHistory, now());
    assert_eq!(only(&d).action, Action::Ignore);
    assert!(matches!(
        only(&d).rule,
        RuleRef::Default {
            scope: Scope::Stack,
            location: Some(_),
            ..
        }
    ));
}

#[test]
fn pending_changes_are_reapplied_unless_a_pending_rule_says_otherwise() {
    let d = policy(RULES).decide(
        &stack(
            "data",
            vec![],
            vec![pending("Q", Some("/VisibilityTimeout"), false)],
        ),
        &NoHistory,
        now(),
    );
    let d = only(&d);
    assert_eq!((d.action, d.kind), (Action::Reapply, DecisionKind::Pending));
    assert_eq!(
        d.rule,
        RuleRef::Default {
            scope: Scope::Builtin,
            file: None,
            location: None
        }
    );
    assert_eq!(
        d.property_path,
        Some(PropertyPath::parse("/VisibilityTimeout"))
    );
    let p = policy(
        "policy:\n  rules:\n    - match: { kind: drift }\n      action: revert\n    - match: { kind: pending, type: 'AWS::SQS::*' }\n      action: report\n",
    );
    let d = p.decide(
        &stack("data", vec![], vec![pending("Q", None, false)]),
        &NoHistory,
        now(),
    );
    assert_eq!(only(&d).action, Action::Report);
    assert!(matches!(only(&d).rule, RuleRef::Rule { index: 1, .. }));
}

#[test]
fn a_change_that_would_replace_a_resource_is_blocked_unless_replacement_is_allowed() {
    let s = stack("data", vec![], vec![pending("Q", Some("/QueueName"), true)]);
    let d = policy("").decide(&s, &NoHistory, now());
    assert_eq!(only(&d).blocked_by, Some(LimitKind::Replacement));
    assert!(!only(&d).is_actionable());
    let d = policy("policy: {allow_replacement: true}\n").decide(&s, &NoHistory, now());
    assert!(only(&d).allow_replacement && only(&d).blocked.is_none());
    let rule = "policy:\n  allow_replacement: true\n  rules:\n    - {match: {logical_id: Q}, action: reapply, allow_replacement: false}\n";
    let d = policy(rule).decide(&s, &NoHistory, now());
    assert_eq!(
        only(&d).blocked_by,
        Some(LimitKind::Replacement),
        "the rule's setting wins"
    );
}

#[test]
fn a_deleted_resource_gets_one_decision_without_a_property_path() {
    let mut r = resource("Q", "AWS::SQS::Queue", vec![], None, None);
    r.status = "DELETED".into();
    let mut skipped = resource("Fn", "AWS::Lambda::Function", vec![], None, None);
    skipped.status = "NOT_CHECKED".into();
    let p = policy("policy:\n  rules:\n    - {match: {property: '/**'}, action: revert}\n");
    let d = p.decide(&stack("data", vec![r, skipped], vec![]), &NoHistory, now());
    let d = only(&d);
    assert_eq!(
        (d.property_path.as_ref(), d.action),
        (None, Action::Report),
        "a property rule never matches a whole resource"
    );
}

#[test]
fn ignore_decisions_are_recorded_but_plan_nothing() {
    let p = policy(
        "policy:\n  rules:\n    - {match: {logical_id: P}, action: ignore, reason: owned by the app}\n",
    );
    let d = p.decide(
        &stack("data", vec![parameter_drift("P", json!([]))], vec![]),
        &NoHistory,
        now(),
    );
    assert_eq!(only(&d).action, Action::Ignore);
    assert!(!only(&d).is_actionable());
}

#[test]
fn a_rule_can_match_who_changed_the_resource() {
    let p = policy(
        "policy:\n  rules:\n    - {match: {changed_by: 'oncall-*'}, action: codify}\n    - {match: {kind: drift}, action: revert}\n",
    );
    let mut r = parameter_drift("P", json!([]));
    r.changed_by[0].principal = "oncall-carol".into();
    let d = p.decide(
        &stack("data", vec![r, parameter_drift("P2", json!([]))], vec![]),
        &NoHistory,
        now(),
    );
    let actions: Vec<Action> = d.decisions.iter().map(|d| d.action).collect();
    assert_eq!(actions, [Action::Codify, Action::Revert]);
}

#[test]
fn a_live_break_glass_tag_tolerates_drift_until_it_expires_then_codifies() {
    let p = policy("policy: {default: revert}\n");
    let later = now() + Duration::from_secs(3 * 3600);
    for tags in [
        json!([{"Key": "driftsync:break-glass", "Value": rfc(later)}]),
        json!({"driftsync:break-glass": rfc(later)}),
    ] {
        let s = stack("data", vec![parameter_drift("P", tags)], vec![]);
        let d = p.decide(&s, &NoHistory, now());
        let d = only(&d);
        assert_eq!(d.action, Action::Report);
        assert_eq!(d.tolerated_until.as_deref(), Some("2026-06-01T03:00:00Z"));
        assert_eq!(d.tolerated_remaining_secs, Some(3 * 3600));
        assert!(d.reason.contains("3h more"), "{}", d.reason);
        assert!(matches!(
            &d.rule,
            RuleRef::BreakGlass {
                source: LeaseSource::Tag,
                expired: false,
                ..
            }
        ));
        let after = p.decide(&s, &NoHistory, later + Duration::from_secs(1));
        assert_eq!(
            only(&after).action,
            Action::Codify,
            "the emergency fix is not lost"
        );
        assert!(matches!(
            &only(&after).rule,
            RuleRef::BreakGlass { expired: true, .. }
        ));
    }
    let revert_after = policy("policy:\n  break_glass: {after: revert, tag: 'ops:lease'}\n");
    let s = stack(
        "data",
        vec![parameter_drift(
            "P",
            json!([{"Key": "ops:lease", "Value": "2026-05-01T00:00:00+02:00"}]),
        )],
        vec![],
    );
    assert_eq!(
        only(&revert_after.decide(&s, &NoHistory, now())).action,
        Action::Revert
    );
}

#[test]
fn a_config_window_tolerates_drift_only_on_the_stacks_it_names() {
    let p = policy(
        "policy:\n  default: revert\n  break_glass:\n    windows:\n      - {stack: 'web-*', until: '2026-12-01T00:00:00Z', reason: INC-42}\n",
    );
    let web = p.decide(
        &stack("web-sg", vec![parameter_drift("P", json!([]))], vec![]),
        &NoHistory,
        now(),
    );
    assert_eq!(only(&web).action, Action::Report);
    assert!(only(&web).reason.contains("INC-42"));
    assert!(matches!(
        &only(&web).rule,
        RuleRef::BreakGlass {
            source: LeaseSource::Window,
            ..
        }
    ));
    let data = p.decide(
        &stack("data", vec![parameter_drift("P", json!([]))], vec![]),
        &NoHistory,
        now(),
    );
    assert_eq!(only(&data).action, Action::Revert);
}

#[test]
fn a_lease_recorded_in_state_tolerates_drift_and_ignore_stays_ignore() {
    let history = MemoryHistory {
        leases: vec![(
            "data".into(),
            "*".into(),
            now() + Duration::from_secs(60),
            "approved in #ops".into(),
        )],
        ..MemoryHistory::default()
    };
    let p = policy(
        "policy:\n  default: revert\n  rules:\n    - {match: {logical_id: Ignored}, action: ignore}\n",
    );
    let s = stack(
        "data",
        vec![
            parameter_drift("P", json!([])),
            parameter_drift("Ignored", json!([])),
        ],
        vec![],
    );
    let d = p.decide(&s, &history, now());
    assert_eq!(d.decisions[0].action, Action::Report);
    assert!(matches!(
        &d.decisions[0].rule,
        RuleRef::BreakGlass {
            source: LeaseSource::State,
            ..
        }
    ));
    assert_eq!(d.decisions[1].action, Action::Ignore);
}

#[test]
fn a_break_glass_tag_that_is_not_a_time_grants_nothing_and_says_why() {
    let p = policy("policy: {default: revert}\n");
    let s = stack(
        "data",
        vec![parameter_drift(
            "P",
            json!([{"Key": "driftsync:break-glass", "Value": "tomorrow"}]),
        )],
        vec![],
    );
    let d = p.decide(&s, &NoHistory, now());
    assert_eq!(only(&d).action, Action::Revert);
    assert!(
        only(&d)
            .reason
            .contains("\"tomorrow\", which is not an RFC 3339 time"),
        "{}",
        only(&d).reason
    );
}

#[test]
fn a_revert_is_blocked_once_the_resource_reached_max_reverts_within_the_window() {
    let p = policy("policy:\n  default: revert\n  limits: {max_reverts: 2, window: 30m}\n");
    let at = |mins: u64| now() - Duration::from_secs(mins * 60);
    let mut history = MemoryHistory {
        reverts: vec![
            ("data".into(), "P".into(), at(10)),
            ("data".into(), "P".into(), at(45)),
        ],
        ..MemoryHistory::default()
    };
    let s = stack("data", vec![parameter_drift("P", json!([]))], vec![]);
    assert!(
        only(&p.decide(&s, &history, now())).blocked.is_none(),
        "one revert is outside the window"
    );
    history.reverts.push(("data".into(), "P".into(), at(5)));
    let d = p.decide(&s, &history, now());
    assert_eq!(only(&d).blocked_by, Some(LimitKind::MaxReverts));
    assert!(
        only(&d)
            .blocked
            .as_deref()
            .unwrap()
            .contains("reverted 2 times within 30m (max_reverts: 2) (last changed by \"bob\")")
    );
    assert_eq!(d.limits.window, Duration::from_secs(1800));
    assert_eq!(d.limits.max_reverts, 2);
    assert_eq!(d.limits.flip_flops, 2, "unset limits keep their defaults");
}

#[test]
fn a_flip_flop_stops_reverts_and_names_the_competing_actor_and_the_way_out() {
    let p = policy("policy: {default: revert}\n");
    let flip = |actor: Option<&str>| {
        (
            "data".to_string(),
            "P".to_string(),
            "/Value".to_string(),
            now() - Duration::from_secs(60),
            actor.map(String::from),
        )
    };
    let history = MemoryHistory {
        flips: vec![flip(None), flip(Some("deploy-bot"))],
        ..MemoryHistory::default()
    };
    let s = stack("data", vec![parameter_drift("P", json!([]))], vec![]);
    let d = p.decide(&s, &history, now());
    let d = only(&d);
    assert_eq!(
        (d.action, d.blocked_by),
        (Action::Revert, Some(LimitKind::FlipFlop))
    );
    let why = d.blocked.as_deref().unwrap();
    assert!(
        why.contains("\"bob\" keeps changing it"),
        "CloudTrail's actor first: {why}"
    );
    assert!(
        why.contains("ignore: [{stack: \"data\", logical_id: \"P\", property: \"/Value\"}]"),
        "{why}"
    );
    assert!(why.contains("codify"), "{why}");
    let mut quiet = parameter_drift("P", json!([]));
    quiet.changed_by.clear();
    let d = p.decide(&stack("data", vec![quiet], vec![]), &history, now());
    assert!(
        only(&d)
            .blocked
            .as_deref()
            .unwrap()
            .contains("\"deploy-bot\""),
        "then the recorded actor"
    );
}

#[test]
fn an_open_circuit_blocks_every_revert_and_reapply_in_the_stack() {
    let history = MemoryHistory {
        circuits: vec![("data".into(), now() + Duration::from_secs(600))],
        ..MemoryHistory::default()
    };
    let p = policy(
        "policy:\n  default: revert\n  rules:\n    - {match: {logical_id: C}, action: codify}\n",
    );
    let s = stack(
        "data",
        vec![
            parameter_drift("P", json!([])),
            parameter_drift("C", json!([])),
        ],
        vec![pending("Q", None, false)],
    );
    let d = p.decide(&s, &history, now());
    assert!(d.circuit_open);
    let blocked: Vec<Option<LimitKind>> = d.decisions.iter().map(|d| d.blocked_by).collect();
    assert_eq!(
        blocked,
        [
            Some(LimitKind::CircuitOpen),
            None,
            Some(LimitKind::CircuitOpen)
        ]
    );
    assert!(
        !p.decide(&s, &history, now() + Duration::from_secs(601))
            .circuit_open
    );
}

#[test]
fn stack_settings_override_top_level_ones_field_by_field() {
    let text = "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - name: data\n    template: d.yaml\n    policy:\n      revert: {via: cloudcontrol}\n      limits: {max_reverts: 9}\npolicy:\n  revert: {via: ssm}\n  limits: {max_reverts: 1, cooldown: 5m}\n";
    let p = Policy::new(&Config::parse(text, "driftsync.yaml").unwrap(), &[]).unwrap();
    let d = p.decide(&stack("data", vec![], vec![]), &NoHistory, now());
    assert_eq!(d.revert_via, RevertVia::CloudControl);
    assert_eq!(
        (d.limits.max_reverts, d.limits.cooldown),
        (9, Duration::from_secs(300))
    );
    let other = p.decide(&stack("elsewhere", vec![], vec![]), &NoHistory, now());
    assert_eq!(
        (other.revert_via, other.limits.max_reverts),
        (RevertVia::Ssm, 1)
    );
}

#[test]
fn decisions_serialise_in_the_documented_plan_shape() {
    let p = policy(
        "policy:\n  rules:\n    - {match: {logical_id: P}, action: revert, reason: pipeline-owned}\n",
    );
    let d = p.decide(
        &stack("data", vec![parameter_drift("P", json!([]))], vec![]),
        &NoHistory,
        now(),
    );
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        json!({
            "stack": "data",
            "decisions": [{
                "logical_id": "P", "physical_id": "phys-P", "type": "AWS::SSM::Parameter",
                "property_path": "/Value", "kind": "drift", "action": "revert",
                "reason": "pipeline-owned",
                "rule": {"kind": "rule", "scope": "global", "index": 0, "file": "driftsync.yaml", "line": 8, "column": 7},
                "guard_violations": [], "tolerated_until": null, "tolerated_remaining_secs": null,
                "allow_replacement": false, "blocked": null, "blocked_by": null,
                "limit_overridden": null
            }],
            "revert_via": "auto",
            "create": false,
            "limits": {"max_reverts": 3, "window": "1h", "flip_flops": 2, "failures_to_open": 3, "cooldown": "30m"},
            "circuit_open": false
        })
    );
}

#[test]
fn drift_in_a_nested_stack_is_reverted_surgically_but_never_reapplied_or_codified_through_the_parent()
 {
    let nested = |logical_id: &str| {
        let mut r = parameter_drift(&format!("Net/{logical_id}"), json!([]));
        r.nested_stack = Some(crate::check::NestedIn {
            path: "Net".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:1:stack/app-Net-1/x".into(),
            logical_id: logical_id.into(),
        });
        r
    };
    let secret = {
        let mut r = nested("Token");
        r.differences[0].secret = true;
        r
    };
    for (default, drift, want) in [
        ("reapply", nested("P"), Action::Report),
        ("codify", nested("P"), Action::Report),
        ("revert", nested("P"), Action::Revert),
        // A secret is never patched, and the parent cannot re-apply it.
        ("revert", secret, Action::Report),
    ] {
        let p = policy(&format!("policy:\n  default: {default}\n"));
        let d = p.decide(&stack("data", vec![drift], vec![]), &NoHistory, now());
        assert_eq!(only(&d).action, want, "{default}: {}", only(&d).reason);
        if want == Action::Report {
            assert!(
                only(&d).reason.contains("nested stack Net"),
                "{}",
                only(&d).reason
            );
        }
    }
}

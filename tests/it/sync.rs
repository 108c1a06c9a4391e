//! `driftsync plan` and `sync --apply` end to end on the AWS test bed: the
//! seed scenario, guards, re-apply, deploys, refusals, flip-flops,
//! break-glass, crash recovery and the AWS Config side.

use std::path::Path;

use serde_json::{Value, json};

use crate::check::{driftsync_as, example, scenario_with};
use crate::support::emulator::{Account, emulator};

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn ingress(account: &Account, group_id: &str) -> Vec<(String, i64, String)> {
    let v = emulator().boto3(
        account,
        "ec2",
        "describe_security_groups",
        json!({"GroupIds": [group_id]}),
    );
    let mut out: Vec<_> = v["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["IpRanges"].as_array().unwrap().iter().map(move |r| {
                (
                    p["IpProtocol"].as_str().unwrap().to_string(),
                    p["FromPort"].as_i64().unwrap_or(-1),
                    r["CidrIp"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    out.sort();
    out
}

fn open_ssh(account: &Account, group_id: &str) {
    emulator().boto3(account, "ec2", "authorize_security_group_ingress", json!({
        "GroupId": group_id,
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    }));
}

fn https_only() -> Vec<(String, i64, String)> {
    vec![("tcp".to_string(), 443, "10.0.0.0/8".to_string())]
}

#[test]
fn the_seed_scenario_is_planned_then_surgically_reverted_and_a_second_sync_has_nothing_to_do() {
    let s = scenario_with(None);
    let dir = s.repo.path();

    let (out, err, code) = driftsync_as(
        &s.account,
        dir,
        &["plan", "--stack", "web-sg", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let plan = json_of(&out);
    let step = &plan["stacks"][0]["steps"][0];
    assert_eq!(step["step"], "revert_properties", "{out}");
    assert_eq!(
        step["patch"],
        json!([{"op": "remove", "path": "/SecurityGroupIngress/1"}])
    );
    // `revert.via: auto` with nothing bootstrapped: Cloud Control, and why.
    assert_eq!(step["via"], "cloudcontrol", "{out}");
    assert!(
        step["via_reason"]
            .as_str()
            .unwrap()
            .contains("driftsync-RevertProperties is not installed"),
        "{out}"
    );
    assert_eq!(
        ingress(&s.account, &s.group_id).len(),
        2,
        "a dry run changes nothing"
    );

    let (out, err, code) = driftsync_as(
        &s.account,
        dir,
        &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let report = json_of(&out);
    assert_eq!(
        report["stacks"][0]["outcomes"][0]["result"], "applied",
        "{out}"
    );
    assert_eq!(
        report["stacks"][0]["outcomes"][0]["verified"], true,
        "{out}"
    );
    assert_eq!(
        ingress(&s.account, &s.group_id),
        https_only(),
        "only the SSH rule is gone; the group keeps its id and its rule"
    );

    let (out, _, code) = driftsync_as(&s.account, dir, &["sync", "--stack", "web-sg", "--apply"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Stack web-sg") && out.contains("IN_SYNC"),
        "{out}"
    );

    // Every decision and action is in the audit log.
    let audit = std::fs::read_to_string(dir.join(".git/driftsync-state/audit.jsonl")).unwrap();
    let lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.iter().any(|l| l["action"] == "revert"
            && l["outcome"] == "succeeded"
            && l["property_path"] == "/SecurityGroupIngress/1"),
        "{audit}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l["revision"].is_string() && l["reason"].is_string()),
        "{audit}"
    );
}

#[test]
fn a_guard_violation_is_reverted_even_when_a_rule_says_codify() {
    let config = example("infra/driftsync.yaml").replace(
        "    - match: { type: AWS::EC2::SecurityGroup, property: \"/SecurityGroupIngress/*\" }\n      action: revert",
        "    - match: { type: AWS::EC2::SecurityGroup, property: \"/SecurityGroupIngress/*\" }\n      action: codify",
    );
    let s = scenario_with(Some(&config));
    let (out, err, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let r = json_of(&out);
    let d = &r["stacks"][0]["decisions"][0];
    assert_eq!(d["action"], "revert", "{out}");
    assert_eq!(d["rule"]["kind"], "guard", "{out}");
    assert!(
        d["guard_violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("port 22"),
        "{out}"
    );
    assert_eq!(ingress(&s.account, &s.group_id), https_only());
}

#[test]
fn a_changed_parameter_is_restored_by_a_revert_drift_change_set_when_the_policy_reapplies() {
    let config = example("infra/driftsync.yaml").replace(
        "    - match: { stack: app-config, kind: drift }\n      action: codify",
        "    - match: { stack: app-config, kind: drift }\n      action: reapply",
    );
    let s = scenario_with(Some(&config));
    emulator().boto3(
        &s.account,
        "ssm",
        "put_parameter",
        json!({"Name": "/app/log-level", "Value": "debug", "Type": "String", "Overwrite": true}),
    );
    let (out, err, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["sync", "--stack", "app-config", "--apply", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let r = json_of(&out);
    assert_eq!(r["stacks"][0]["steps"][0]["step"], "revert_drift", "{out}");
    assert_eq!(r["stacks"][0]["outcomes"][0]["result"], "applied", "{out}");
    let v = emulator().boto3(
        &s.account,
        "ssm",
        "get_parameter",
        json!({"Name": "/app/log-level"}),
    );
    assert_eq!(v["Parameter"]["Value"], "info");
    // Every deployed parameter was kept (an omitted one would need a value).
    let stack = emulator().boto3(
        &s.account,
        "cloudformation",
        "describe_stacks",
        json!({"StackName": "app-config"}),
    );
    let mut params: Vec<(String, String)> = stack["Stacks"][0]["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let v = |k: &str| p[k].as_str().unwrap().to_string();
            (v("ParameterKey"), v("ParameterValue"))
        })
        .collect();
    params.sort();
    assert_eq!(
        params,
        [
            ("LogLevel".to_string(), "info".to_string()),
            ("MaxConnections".to_string(), "200".to_string())
        ]
    );
}

#[test]
fn a_pending_commit_is_deployed_by_change_set() {
    let s = scenario_with(None);
    let (out, err, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["sync", "--stack", "events", "--apply", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let r = json_of(&out);
    assert_eq!(r["stacks"][0]["steps"][0]["step"], "deploy", "{out}");
    assert_eq!(r["stacks"][0]["outcomes"][0]["result"], "applied", "{out}");
    assert!(
        r["stacks"][0]["outcomes"][0]["events"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "stack events stream: {out}"
    );
    let url = emulator().boto3(
        &s.account,
        "sqs",
        "get_queue_url",
        json!({"QueueName": "events-orders"}),
    )["QueueUrl"]
        .clone();
    let attrs = emulator().boto3(
        &s.account,
        "sqs",
        "get_queue_attributes",
        json!({"QueueUrl": url, "AttributeNames": ["VisibilityTimeout"]}),
    );
    assert_eq!(attrs["Attributes"]["VisibilityTimeout"], "120");
    let (out, _, code) = driftsync_as(&s.account, s.repo.path(), &["check", "--stack", "events"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_change_that_would_replace_a_resource_is_refused_and_counts_as_a_failure() {
    let s = scenario_with(None);
    s.repo.write(
        "stacks/web-sg.yaml",
        &example("infra/stacks/web-sg.yaml").replace("web tier (${Env})", "web servers (${Env})"),
    );
    s.repo
        .commit("rename the group's description (replaces it)");
    emulator().boto3(&s.account, "ec2", "revoke_security_group_ingress", json!({"GroupId": s.group_id, "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}));
    let (out, err, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let r = json_of(&out);
    let d = &r["stacks"][0]["decisions"][0];
    assert_eq!(d["blocked_by"], "replacement", "{out}");
    assert_eq!(r["summary"]["refused"], 1);
    assert_eq!(
        emulator().calls(&s.account, "ExecuteChangeSet"),
        0,
        "nothing was executed"
    );
}

#[test]
fn a_flip_flop_stops_after_the_limit_and_names_the_competing_actor() {
    let s = scenario_with(None);
    let dir = s.repo.path();
    // After the seeded SSH rule, a harmless rule (a guard violation would
    // be reverted whatever the limits say).
    for round in 0..3 {
        let (out, _, code) = driftsync_as(
            &s.account,
            dir,
            &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
        );
        assert_eq!(code, 2, "round {round}: {out}");
        assert_eq!(
            json_of(&out)["stacks"][0]["outcomes"][0]["result"],
            "applied",
            "round {round}: {out}"
        );
        allow(&s.account, &s.group_id, 80, "10.1.0.0/16"); // someone keeps putting it back
    }
    let (out, _, code) = driftsync_as(
        &s.account,
        dir,
        &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}");
    let r = json_of(&out);
    let d = &r["stacks"][0]["decisions"][0];
    assert_eq!(d["blocked_by"], "flip_flop", "{out}");
    let why = d["blocked"].as_str().unwrap();
    assert!(why.contains("emulator"), "names the actor: {why}");
    assert!(
        why.contains("ignore") || why.contains("codify"),
        "recommends what to do: {why}"
    );
    assert_eq!(
        r["stacks"][0]["steps"].as_array().unwrap().len(),
        0,
        "{out}"
    );
    assert_eq!(ingress(&s.account, &s.group_id).len(), 2, "no third revert");

    // The drift stays open, and the plan says for how long.
    let (out, _, code) = driftsync_as(&s.account, dir, &["plan", "--stack", "web-sg"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("WebSg /SecurityGroupIngress/1 (drifted for <1m)"),
        "{out}"
    );
}

#[test]
fn break_glass_tolerates_drift_until_expiry_then_the_after_action_runs_but_never_for_a_guard_violation()
 {
    let s = scenario_with(None);
    let param = |until: &str| {
        emulator().boto3(&s.account, "ssm", "put_parameter", json!({"Name": "/app/max-connections", "Value": "500", "Type": "String", "Overwrite": true}));
        emulator().boto3(&s.account, "ssm", "add_tags_to_resource", json!({"ResourceType": "Parameter", "ResourceId": "/app/max-connections", "Tags": [{"Key": "driftsync:break-glass", "Value": until}]}));
    };
    param("2099-01-01T00:00:00Z");
    let (out, _, _) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["plan", "--stack", "app-config", "-o", "json"],
    );
    let r = json_of(&out);
    let d = r["stacks"][0]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["property_path"] == "/Value")
        .cloned()
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(d["tolerated_until"], "2099-01-01T00:00:00Z", "{out}");
    assert_eq!(d["action"], "report");
    assert!(d["tolerated_remaining_secs"].as_u64().unwrap() > 0);

    param("2020-01-01T00:00:00Z");
    let (out, _, _) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["plan", "--stack", "app-config", "-o", "json"],
    );
    let r = json_of(&out);
    let d = r["stacks"][0]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["property_path"] == "/Value")
        .cloned()
        .unwrap();
    assert_eq!(
        d["action"], "codify",
        "after expiry, the configured action (codify): {out}"
    );

    // A lease never covers a guard violation.
    emulator().boto3(&s.account, "ec2", "create_tags", json!({"Resources": [s.group_id], "Tags": [{"Key": "driftsync:break-glass", "Value": "2099-01-01T00:00:00Z"}]}));
    let (out, _, _) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["plan", "--stack", "web-sg", "-o", "json"],
    );
    let r = json_of(&out);
    let d = r["stacks"][0]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["property_path"] == "/SecurityGroupIngress/1")
        .cloned()
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(d["action"], "revert", "{out}");
    assert!(d["tolerated_until"].is_null(), "{out}");
}

#[test]
fn a_sync_killed_during_apply_converges_on_rerun_without_a_second_change_set_or_execution() {
    let s = scenario_with(None);
    emulator().post("/_emulator/config", json!({"stack_operation_seconds": 3.0}));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_driftsync"))
        .args(["sync", "--stack", "events", "--apply", "--color=never"])
        .current_dir(s.repo.path())
        .envs(s.account.env())
        .env(
            "DRIFTSYNC_STATE_DIR",
            s.repo.path().join(".git/driftsync-state"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while emulator().calls(&s.account, "ExecuteChangeSet") == 0 && started.elapsed().as_secs() < 60
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    let _ = child.wait();
    emulator().post("/_emulator/config", json!({"stack_operation_seconds": 0.0}));
    assert_eq!(
        emulator().calls(&s.account, "ExecuteChangeSet"),
        1,
        "killed mid-update"
    );

    let (out, err, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["sync", "--stack", "events", "--apply", "-o", "json"],
    );
    assert!(code == 2 || code == 0, "{out}\n{err}");
    assert_eq!(
        emulator().calls(&s.account, "ExecuteChangeSet"),
        1,
        "no second execution: {out}"
    );
    let created = emulator().calls(&s.account, "CreateChangeSet");
    assert_eq!(created, 1, "no second change set: {out}");
    let (out, _, code) = driftsync_as(&s.account, s.repo.path(), &["check", "--stack", "events"]);
    assert_eq!(code, 0, "converged: {out}");
}

#[test]
fn bootstrap_deploys_the_runbooks_and_rules_reverts_run_through_the_runbook_and_verdicts_reach_config()
 {
    // The example's `revert.via: auto` takes the runbook once it is installed.
    let s = scenario_with(None);
    let dir = s.repo.path();
    let (out, err, code) = driftsync_as(&s.account, dir, &["bootstrap", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(json_of(&out)["Resources"]["RevertPropertiesRunbook"].is_object());

    let (out, err, code) = driftsync_as(&s.account, dir, &["bootstrap"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("driftsync-bootstrap in us-east-1: CREATE_COMPLETE"),
        "{out}"
    );
    let (out, _, code) = driftsync_as(&s.account, dir, &["bootstrap"]);
    assert_eq!(code, 0, "idempotent: {out}");

    // The Config drift rule evaluates the stacks.
    let found = evaluate_drift_rule(&s.account);
    assert!(
        found["EvaluationResults"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["ComplianceType"] == "NON_COMPLIANT"),
        "{found}"
    );

    // A revert through the runbook, and the verdict in Config.
    let (out, err, code) = driftsync_as(
        &s.account,
        dir,
        &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let stack = &json_of(&out)["stacks"][0];
    assert_eq!(stack["outcomes"][0]["result"], "applied", "{out}");
    assert_eq!(stack["steps"][0]["via"], "ssm", "{out}");
    assert!(
        stack["steps"][0]["via_reason"]
            .as_str()
            .unwrap()
            .contains("is installed"),
        "{out}"
    );
    assert_eq!(ingress(&s.account, &s.group_id), https_only());
    assert!(emulator().calls(&s.account, "StartAutomationExecution") >= 1);
    let verdict = emulator().boto3(
        &s.account,
        "config",
        "describe_compliance_by_config_rule",
        json!({"ConfigRuleNames": ["driftsync-in-sync"]}),
    );
    assert_eq!(
        verdict["ComplianceByConfigRules"][0]["Compliance"]["ComplianceType"], "COMPLIANT",
        "{verdict}"
    );
    let _ = Path::new(".");
}

/// Runs the bootstrap's Config drift rule and waits for its three results.
fn evaluate_drift_rule(account: &Account) -> Value {
    emulator().boto3(
        account,
        "config",
        "start_config_rules_evaluation",
        json!({"ConfigRuleNames": ["driftsync-stack-drift"]}),
    );
    let mut found = Value::Null;
    for _ in 0..100 {
        found = emulator().boto3(
            account,
            "config",
            "get_compliance_details_by_config_rule",
            json!({"ConfigRuleName": "driftsync-stack-drift"}),
        );
        if found["EvaluationResults"]
            .as_array()
            .is_some_and(|r| r.len() >= 3)
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    found
}

#[test]
fn check_trusts_a_fresh_compliant_config_verdict_and_detects_only_the_other_stacks() {
    let s = scenario_with(None);
    let dir = s.repo.path();
    let (out, err, code) = driftsync_as(&s.account, dir, &["bootstrap"]);
    assert_eq!(code, 2, "{out}\n{err}");
    evaluate_drift_rule(&s.account);

    let detections = || emulator().calls(&s.account, "DetectStackDrift");
    let before = detections();
    let (out, err, code) = driftsync_as(
        &s.account,
        dir,
        &["check", "--trust-config", "1h", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let report = json_of(&out);
    let stacks = report["stacks"].as_array().unwrap();
    let status = |name: &str| {
        let st = stacks.iter().find(|x| x["name"] == name).unwrap();
        (st["status"].clone(), st["config_verdict"]["rule"].clone())
    };
    // Config found web-sg drifted: it is detected (and drifted); the other
    // two are trusted compliant and cost no detection.
    assert_eq!(status("web-sg"), (json!("DRIFTED"), Value::Null), "{out}");
    assert_eq!(
        status("app-config"),
        (json!("IN_SYNC"), json!("driftsync-stack-drift")),
        "{out}"
    );
    assert_eq!(status("events").1, json!("driftsync-stack-drift"), "{out}");
    assert_eq!(detections() - before, 1, "{out}");

    // A stale verdict is not trusted: every stack is detected again.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let before = detections();
    let (out, _, _) = driftsync_as(
        &s.account,
        dir,
        &["check", "--trust-config", "1s", "-o", "json"],
    );
    assert!(!out.contains("config_verdict"), "{out}");
    assert_eq!(detections() - before, 3, "{out}");
}

/// A repository with one stack, deployed from this template: (account,
/// repository, the commit's SHA).
fn one_stack(
    name: &str,
    file: &str,
    template: &str,
) -> (Account, crate::support::TestRepo, String) {
    let account = emulator().new_account();
    let repo = crate::support::TestRepo::new();
    repo.write(
        "driftsync.yaml",
        &format!("version: 1\ndefaults: {{region: us-east-1}}\nstacks:\n  - name: {name}\n    template: {file}\n"),
    );
    repo.write(file, template);
    let first = repo.commit(&format!("the {name} stack"));
    crate::support::emulator::deploy_stack(&account, name, template, &[]);
    (account, repo, first)
}

/// A launch configuration as the AWS sample ELBWithLockedDownAutoScaledInstances
/// declares it: cfn-init reads its packages from `Metadata`.
const LAUNCH_CONFIG: &str = include_str!("../fixtures/templates/launch-config-cfn-init.yaml");

#[test]
fn a_commit_that_changes_only_metadata_is_a_change_pending_and_deployed() {
    let (account, repo, first) = one_stack("web-lc", "lc.yaml", LAUNCH_CONFIG);
    let next = LAUNCH_CONFIG.replace("httpd: []", "httpd: []\n              nginx: []");
    repo.write("lc.yaml", &next);
    repo.commit("cfn-init installs nginx too");

    let (out, err, code) = driftsync_as(
        &account,
        repo.path(),
        &["diff", "--from", &first, "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let d = json_of(&out);
    assert_eq!(
        d["stacks"][0]["resources"][0]["attributes"],
        json!([{"name": "Metadata", "attribute_path": "/AWS::CloudFormation::Init/config/packages/yum/nginx", "change": "ADD", "from": null, "to": []}]),
        "{out}"
    );

    let (out, err, code) = driftsync_as(&account, repo.path(), &["check", "-o", "json"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let c = json_of(&out);
    let pending = &c["stacks"][0]["pending"][0];
    assert_eq!(pending["attribute"], "Metadata", "{out}");
    assert_eq!(
        pending["attribute_path"], "/AWS::CloudFormation::Init/config/packages/yum/nginx",
        "{out}"
    );
    let (human, _, _) = driftsync_as(&account, repo.path(), &["check"]);
    assert!(
        human.contains("Metadata/AWS::CloudFormation::Init/config/packages/yum/nginx"),
        "{human}"
    );

    let (out, err, code) = driftsync_as(&account, repo.path(), &["sync", "--apply", "-o", "json"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let r = json_of(&out);
    assert_eq!(r["stacks"][0]["steps"][0]["step"], "deploy", "{out}");
    assert_eq!(r["stacks"][0]["outcomes"][0]["result"], "applied", "{out}");
    let deployed = emulator().boto3(
        &account,
        "cloudformation",
        "get_template",
        json!({"StackName": "web-lc"}),
    );
    let body = deployed["TemplateBody"].to_string();
    assert!(body.contains("nginx"), "the deployed template: {body}");
    let (out, _, code) = driftsync_as(&account, repo.path(), &["check"]);
    assert_eq!(code, 0, "{out}");
}

/// A subnet and its route table association, as VPC templates declare them.
const SUBNET_STACK: &str = include_str!("../fixtures/templates/subnet-association.yaml");

#[test]
fn a_replacement_propagates_to_what_names_the_replaced_resource_and_the_guard_counts_it() {
    let (account, repo, first) = one_stack("net", "net.yaml", SUBNET_STACK);
    let next = SUBNET_STACK.replace("us-east-1a", "us-east-1b").replace(
        "Properties: {VpcId: !Ref Vpc}}",
        "Properties: {VpcId: !Ref Vpc, Tags: [{Key: team, Value: net}]}}",
    );
    repo.write("net.yaml", &next);
    repo.commit("move the subnet to another zone, tag the route table");

    let (out, err, code) = driftsync_as(&account, repo.path(), &["diff", "--from", &first]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("SubnetId changes because Subnet is replaced"),
        "{out}"
    );
    assert!(out.contains("1 to change, 2 to replace"), "{out}");

    let (out, err, code) = driftsync_as(&account, repo.path(), &["plan", "-o", "json"]);
    assert_eq!(code, 1, "refused needs a person: {out}\n{err}");
    let p = json_of(&out);
    let decisions = p["stacks"][0]["decisions"].as_array().unwrap();
    let blocked: Vec<&str> = decisions
        .iter()
        .filter(|d| d["blocked_by"] == "replacement")
        .map(|d| d["logical_id"].as_str().unwrap())
        .collect();
    assert_eq!(blocked, ["Subnet", "Association"], "{out}");
    assert!(
        decisions.iter().any(|d| d["blocked"]
            .as_str()
            .is_some_and(|b| b.contains("SubnetId changes because Subnet is replaced"))),
        "{out}"
    );
    // The tag alone could go, but a deploy carries every change: refused.
    let steps = p["stacks"][0]["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["step"] != "deploy"), "{out}");
    assert!(
        steps.iter().any(|s| s["step"] == "refused"
            && s["reason"]
                .as_str()
                .is_some_and(|r| r.contains("would carry a refused change"))),
        "{out}"
    );

    let (out, err, code) = driftsync_as(&account, repo.path(), &["sync", "--apply", "-o", "json"]);
    assert_eq!(code, 1, "{out}\n{err}");
    // Both replacements, and the deploy that would have carried them.
    assert_eq!(json_of(&out)["summary"]["refused"], 3, "{out}");
    assert_eq!(
        emulator().calls(&account, "ExecuteChangeSet"),
        0,
        "nothing was executed"
    );
}

#[test]
fn a_commit_changing_only_a_parameter_value_is_pending_and_deployed_by_sync() {
    let s = scenario_with(None);
    let dir = s.repo.path();
    s.repo.write(
        "params/app-config.json",
        r#"[
  { "ParameterKey": "LogLevel", "ParameterValue": "debug" },
  { "ParameterKey": "MaxConnections", "ParameterValue": "200" }
]
"#,
    );
    s.repo.commit("debug logging");
    let (out, err, code) = driftsync_as(
        &s.account,
        dir,
        &["check", "--stack", "app-config", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let pending = json_of(&out)["stacks"][0]["pending"].clone();
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["logical_id"] == "LogLevel"
                && p["deployed"] == "info"
                && p["committed"] == "debug"),
        "{out}"
    );
    let (out, err, code) = driftsync_as(
        &s.account,
        dir,
        &["sync", "--stack", "app-config", "--apply", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let (out, err, code) = driftsync_as(&s.account, dir, &["check", "--stack", "app-config"]);
    assert_eq!(code, 0, "{out}\n{err}");
}

#[test]
fn a_revert_that_failed_for_want_of_the_runbook_is_tried_again_once_bootstrap_installs_it() {
    let config = example("infra/driftsync.yaml").replace("    via: auto ", "    via: ssm ");
    let s = scenario_with(Some(&config));
    let dir = s.repo.path();
    let sync = || {
        driftsync_as(
            &s.account,
            dir,
            &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
        )
    };

    let (out, err, code) = sync();
    assert_eq!(code, 1, "{out}\n{err}");
    assert_eq!(
        json_of(&out)["stacks"][0]["outcomes"][0]["result"],
        "failed",
        "{out}"
    );
    assert_eq!(ingress(&s.account, &s.group_id).len(), 2, "still open");

    let (out, err, code) = driftsync_as(&s.account, dir, &["bootstrap"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let (out, err, code) = sync();
    assert_eq!(code, 2, "{out}\n{err}");
    let outcome = &json_of(&out)["stacks"][0]["outcomes"][0];
    assert_eq!(
        outcome["result"], "applied",
        "a failure is never done: {out}"
    );
    assert_eq!(ingress(&s.account, &s.group_id), https_only());

    let (out, _, code) = sync();
    assert_eq!(code, 0, "converged: {out}");
}

fn visibility_timeout(account: &Account) -> Value {
    let url = emulator().boto3(
        account,
        "sqs",
        "get_queue_url",
        json!({"QueueName": "events-orders"}),
    )["QueueUrl"]
        .clone();
    emulator().boto3(
        account,
        "sqs",
        "get_queue_attributes",
        json!({"QueueUrl": url, "AttributeNames": ["VisibilityTimeout"]}),
    )["Attributes"]["VisibilityTimeout"]
        .clone()
}

#[test]
fn a_deploy_rolled_back_out_of_band_is_deployed_again_because_aws_decides_not_the_record() {
    let s = scenario_with(None);
    let dir = s.repo.path();
    let sync = || {
        driftsync_as(
            &s.account,
            dir,
            &["sync", "--stack", "events", "--apply", "-o", "json"],
        )
    };
    let (out, err, code) = sync();
    assert_eq!(code, 2, "{out}\n{err}");
    assert_eq!(
        json_of(&out)["stacks"][0]["outcomes"][0]["result"],
        "applied",
        "{out}"
    );
    assert_eq!(visibility_timeout(&s.account), "120");

    // Someone puts the old template back by hand.
    emulator().boto3(
        &s.account,
        "cloudformation",
        "update_stack",
        json!({
            "StackName": "events",
            "TemplateBody": example("infra/stacks/events.yaml"),
            "Parameters": [{"ParameterKey": "RetentionSeconds", "ParameterValue": "1209600"}],
        }),
    );
    emulator().wait_stack(&s.account, "events", "UPDATE_COMPLETE");
    assert_eq!(visibility_timeout(&s.account), "60");
    let (out, _, code) = driftsync_as(&s.account, dir, &["check", "--stack", "events"]);
    assert_eq!(code, 2, "pending again: {out}");

    let (out, err, code) = sync();
    assert_eq!(code, 2, "{out}\n{err}");
    let outcome = &json_of(&out)["stacks"][0]["outcomes"][0];
    assert_eq!(outcome["result"], "applied", "not already_done: {out}");
    assert_eq!(visibility_timeout(&s.account), "120");
    let (out, _, code) = driftsync_as(&s.account, dir, &["check", "--stack", "events"]);
    assert_eq!(code, 0, "{out}");
}

fn allow(account: &Account, group_id: &str, port: i64, cidr: &str) {
    emulator().boto3(account, "ec2", "authorize_security_group_ingress", json!({
        "GroupId": group_id,
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}],
    }));
}

#[test]
fn ssh_opened_where_harmless_rules_were_reverted_is_reverted_and_nothing_stops_a_guard_revert() {
    let config = example("infra/driftsync.yaml").replace(
        "policy:\n  default: report\n",
        "policy:\n  default: report\n  limits: {max_reverts: 10}\n",
    );
    let s = scenario_with(Some(&config));
    let dir = s.repo.path();
    let sync = || {
        let (out, err, code) = driftsync_as(
            &s.account,
            dir,
            &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
        );
        assert_eq!(code, 2, "{out}\n{err}");
        json_of(&out)["stacks"][0].clone()
    };
    // The seeded SSH rule, then two harmless rules, each added at the list
    // position the last one held and reverted.
    sync();
    for (port, cidr) in [(80, "10.1.0.0/16"), (8080, "10.2.0.0/16")] {
        allow(&s.account, &s.group_id, port, cidr);
        let stack = sync();
        assert_eq!(stack["outcomes"][0]["result"], "applied", "{stack}");
        assert_eq!(ingress(&s.account, &s.group_id), https_only());
    }
    // Not "the same element coming back" a third time: SSH is reverted.
    open_ssh(&s.account, &s.group_id);
    let stack = sync();
    assert_eq!(stack["decisions"][0]["blocked_by"], Value::Null, "{stack}");
    assert_eq!(stack["decisions"][0]["limit_overridden"], Value::Null);
    assert_eq!(ingress(&s.account, &s.group_id), https_only());

    // SSH itself keeps coming back: loop protection would stop any other
    // revert on the second flip-flop, but never a guard violation's; the
    // plan says so loudly.
    for overridden in [Value::Null, json!("flip_flop")] {
        open_ssh(&s.account, &s.group_id);
        let stack = sync();
        assert_eq!(
            stack["decisions"][0]["limit_overridden"], overridden,
            "{stack}"
        );
        assert_eq!(stack["outcomes"][0]["result"], "applied", "{stack}");
        assert_eq!(ingress(&s.account, &s.group_id), https_only());
    }
    open_ssh(&s.account, &s.group_id);
    let (out, _, code) = driftsync_as(&s.account, dir, &["plan", "--stack", "web-sg"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("WARNING: loop protection (flip_flop) would stop this revert"),
        "{out}"
    );
}

#[test]
fn a_stack_in_the_config_but_not_deployed_is_created_only_with_create_true() {
    let account = emulator().new_account();
    let repo = crate::support::TestRepo::new();
    let template = "Resources:\n  Flag:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: /new/flag\n      Type: String\n      Value: !Ref Value\nParameters:\n  Value: {Type: String}\n";
    let config = |policy: &str| {
        format!(
            "version: 1\ndefaults: {{region: us-east-1}}\nstacks:\n  - name: fresh\n    template: fresh.yaml\n    parameters: {{Value: on}}\n    tags: {{team: platform}}\n{policy}"
        )
    };
    repo.write("fresh.yaml", template);
    repo.write("driftsync.yaml", &config(""));
    repo.commit("a new stack");
    let dir = repo.path();

    // Without create: reported, left alone.
    let (out, err, code) = driftsync_as(&account, dir, &["sync", "--apply", "-o", "json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let r = json_of(&out);
    assert_eq!(r["stacks"][0]["status"], "NOT_DEPLOYED", "{out}");
    assert_eq!(r["stacks"][0]["steps"], json!([]), "{out}");

    repo.write("driftsync.yaml", &config("policy:\n  create: true\n"));
    repo.commit("create it");
    let (out, err, code) = driftsync_as(&account, dir, &["plan"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("create the stack from the committed template"),
        "{out}"
    );
    let (out, err, code) = driftsync_as(&account, dir, &["sync", "--apply", "-o", "json"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let r = json_of(&out);
    assert_eq!(r["stacks"][0]["steps"][0]["step"], "create", "{out}");
    assert_eq!(r["stacks"][0]["outcomes"][0]["result"], "applied", "{out}");
    assert!(
        r["stacks"][0]["outcomes"][0]["events"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "the stack's events are followed: {out}"
    );
    let stack = emulator().boto3(
        &account,
        "cloudformation",
        "describe_stacks",
        json!({"StackName": "fresh"}),
    );
    assert_eq!(stack["Stacks"][0]["StackStatus"], "CREATE_COMPLETE");
    assert_eq!(stack["Stacks"][0]["Tags"][0]["Key"], "team", "{stack}");
    let v = emulator().boto3(
        &account,
        "ssm",
        "get_parameter",
        json!({"Name": "/new/flag"}),
    );
    assert_eq!(v["Parameter"]["Value"], "on");

    let (out, err, code) = driftsync_as(&account, dir, &["sync", "--apply"]);
    assert_eq!(code, 0, "in sync now: {out}\n{err}");
}

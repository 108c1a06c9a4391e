//! `driftsync check` end to end on the AWS test bed: the example infra repo
//! with one stack in sync, one drifted out of band and one with a newer
//! commit; every output format; exit codes; noise; throttling.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::TestRepo;
use crate::support::emulator::{Account, deploy_stack, emulator};

/// Runs driftsync as `account`, reaching the test bed only through the
/// standard AWS environment variables.
pub fn driftsync_as(account: &Account, dir: &Path, args: &[&str]) -> (String, String, i32) {
    driftsync_as_with(account, dir, args, &[])
}

/// [`driftsync_as`] with more environment variables.
pub fn driftsync_as_with(
    account: &Account,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_driftsync"))
        .args(args)
        .arg("--color=never")
        .current_dir(dir)
        .envs(account.env())
        .env_remove("CI")
        .env("DRIFTSYNC_CACHE_DIR", dir.join(".git/driftsync-test-cache"))
        .env("DRIFTSYNC_STATE_DIR", dir.join(".git/driftsync-state"))
        .envs(env.iter().copied())
        .output()
        .expect("driftsync runs");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

pub fn example(rel: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(rel),
    )
    .unwrap()
}

/// The example repo deployed as committed, then: someone opens SSH on the
/// web tier out of band, and a newer commit changes the events queue.
pub struct Scenario {
    pub account: Account,
    pub repo: TestRepo,
    pub group_id: String,
}

fn scenario() -> Scenario {
    scenario_with(None)
}

/// [`scenario`], with another `driftsync.yaml` when given.
pub fn scenario_with(config: Option<&str>) -> Scenario {
    let account = emulator().new_account();
    let repo = TestRepo::new();
    repo.copy_from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/infra"));
    if let Some(c) = config {
        repo.write("driftsync.yaml", c);
    }
    repo.commit("initial stacks");
    let stack_tags = [("managed-by", "driftsync")];
    let _ = stack_tags;
    deploy_stack(
        &account,
        "web-sg",
        &example("infra/stacks/web-sg.yaml"),
        &[("Env", "prod"), ("OfficeCidr", "10.0.0.0/8")],
    );
    deploy_stack(
        &account,
        "app-config",
        &example("infra/stacks/app-config.yaml"),
        &[("LogLevel", "info"), ("MaxConnections", "200")],
    );
    deploy_stack(
        &account,
        "events",
        &example("infra/stacks/events.yaml"),
        &[("RetentionSeconds", "1209600")],
    );
    let res = emulator().boto3(
        &account,
        "cloudformation",
        "describe_stack_resource",
        json!({"StackName": "web-sg", "LogicalResourceId": "WebSg"}),
    );
    let group_id = res["StackResourceDetail"]["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    emulator().boto3(&account, "ec2", "authorize_security_group_ingress", json!({
        "GroupId": group_id,
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "break-glass"}]}],
    }));
    repo.write(
        "stacks/events.yaml",
        &example("infra-next/stacks/events.yaml"),
    );
    repo.commit("longer visibility timeout");
    Scenario {
        account,
        repo,
        group_id,
    }
}

/// Snapshots with what changes run to run replaced.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![
            (r"\b[0-9a-f]{40}\b", "[SHA]"),
            (r"\b[0-9a-f]{12}\b", "[SHORT]"),
            (r"sg-[0-9a-f]+", "[SG]"),
            (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIME]"),
            (r#""duration_ms": \d+"#, r#""duration_ms": "[MS]""#),
            (r"\d+ AWS API calls in \d+\.\d s", "[N] AWS API calls in [S] s"),
            (r#""driftsync/v1": "[0-9a-f]+""#, r#""driftsync/v1": "[FP]""#),
        ]}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

/// The API-call counts vary with poll timing; the snapshot leaves them out.
fn without_call_counts(mut v: Value) -> String {
    v["stats"]["api_calls"] = json!("[COUNTS]");
    for s in v["stacks"].as_array_mut().unwrap() {
        s["api_calls"] = json!("[COUNTS]");
    }
    // Sorted as before cfn-guard turned on serde_json's `preserve_order`.
    v.sort_all_objects();
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn check_reports_one_stack_in_sync_one_drifted_and_one_pending_in_every_format() {
    let s = scenario();
    let (out, err, code) = driftsync_as(&s.account, s.repo.path(), &["check", "-o", "json"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["summary"],
        json!({"stacks": 3, "in_sync": 1, "drifted": 1, "pending": 1, "errors": 0, "not_deployed": 0, "skipped": 0})
    );
    let by_name = |n: &str| {
        v["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .unwrap()
            .clone()
    };
    let web = by_name("web-sg");
    assert_eq!(web["status"], "DRIFTED");
    assert_eq!(web["drift"][0]["physical_id"], s.group_id.as_str());
    assert_eq!(
        web["drift"][0]["differences"],
        json!([{
            "property_path": "/SecurityGroupIngress/1", "kind": "ADD", "expected": null,
            "actual": {"CidrIp": "0.0.0.0/0", "Description": "break-glass", "FromPort": 22, "IpProtocol": "tcp", "ToPort": 22},
            "ignored_by": null,
        }])
    );
    assert_eq!(
        web["drift"][0]["changed_by"][0]["event"],
        "AuthorizeSecurityGroupIngress"
    );
    assert_eq!(by_name("app-config")["status"], "IN_SYNC");
    let events = by_name("events");
    assert_eq!(events["status"], "PENDING");
    assert_eq!(events["pending"][0]["property_path"], "/VisibilityTimeout");
    assert_eq!(
        (
            events["pending"][0]["deployed"].clone(),
            events["pending"][0]["committed"].clone()
        ),
        (json!(60), json!(120))
    );
    assert_eq!(v["stats"]["api_calls"]["DetectStackDrift"], 3);
    assert_eq!(web["api_calls"]["DetectStackDrift"], 1);
    let account = s.account.account_id.as_str();
    snapshot!(
        "check_json",
        without_call_counts(v).replace(account, "[ACCOUNT]")
    );

    for (format, name) in [
        ("human", "check_human"),
        ("markdown", "check_markdown"),
        ("sarif", "check_sarif"),
    ] {
        let (out, err, code) = driftsync_as(&s.account, s.repo.path(), &["check", "-o", format]);
        assert_eq!(code, 2, "{format}: {err}");
        snapshot!(name, out.replace(account, "[ACCOUNT]"));
    }
}

#[test]
fn sarif_points_at_the_template_line_of_the_drifted_property() {
    let s = scenario();
    let (out, _, _) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["check", "--stack", "web-sg", "-o", "sarif"],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let result = &v["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "drift/added");
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "stacks/web-sg.yaml");
    // The SecurityGroupIngress key of WebSg in examples/infra/stacks/web-sg.yaml.
    assert_eq!(
        (
            loc["region"]["startLine"].as_u64(),
            loc["region"]["startColumn"].as_u64()
        ),
        (Some(17), Some(7))
    );
}

#[test]
fn a_clean_stack_exits_0_and_a_missing_one_is_not_deployed() {
    let account = emulator().new_account();
    let repo = TestRepo::new();
    repo.copy_from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/infra"));
    repo.commit("initial stacks");
    deploy_stack(
        &account,
        "app-config",
        &example("infra/stacks/app-config.yaml"),
        &[("LogLevel", "info"), ("MaxConnections", "200")],
    );
    let (out, err, code) = driftsync_as(&account, repo.path(), &["check", "--stack", "app-config"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("Stack app-config") && out.contains("in sync"),
        "{out}"
    );
    let (out, _, code) = driftsync_as(
        &account,
        repo.path(),
        &["check", "--stack", "web-sg", "-o", "json"],
    );
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["stacks"][0]["status"], "NOT_DEPLOYED");
}

#[test]
fn types_the_test_bed_cannot_detect_are_reported_not_checked_not_in_sync() {
    // The test bed checks drift for the types in tests/emulator/README.md; a VPC is not one.
    let account = emulator().new_account();
    let repo = TestRepo::new();
    let template = "Resources:\n  Vpc:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: 10.1.0.0/16}\n  Flag:\n    Type: AWS::SSM::Parameter\n    Properties: {Name: /net/flag, Type: String, Value: 'on'}\n";
    repo.write(
        "driftsync.yaml",
        "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: net, template: net.yaml}\n",
    )
    .write("net.yaml", template);
    repo.commit("net");
    deploy_stack(&account, "net", template, &[]);
    let (out, _, code) = driftsync_as(&account, repo.path(), &["check", "-o", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let statuses: Vec<_> = v["stacks"][0]["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["logical_id"].as_str().unwrap(),
                r["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(statuses, ["Vpc NOT_CHECKED"], "{out}");
    let (human, _, _) = driftsync_as(&account, repo.path(), &["check"]);
    assert!(
        human.contains("not checked (CloudFormation cannot detect drift on their types): Vpc"),
        "{human}"
    );
}

#[test]
fn throttling_and_server_errors_do_not_stop_the_run_or_change_its_answer() {
    let s = scenario();
    emulator().post("/_emulator/faults", json!([
        {"kind": "throttle", "service": "cloudformation", "rate": 0.3, "access_key": s.account.access_key_id},
        {"kind": "error", "status": 503, "code": "ServiceUnavailable", "operation": "DescribeStackResourceDrifts", "count": 1, "access_key": s.account.access_key_id},
    ]));
    let (out, err, code) = driftsync_as(&s.account, s.repo.path(), &["check", "-o", "json"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["drifted"], 1);
    assert_eq!(v["summary"]["pending"], 1);
    assert_eq!(v["summary"]["errors"], 0, "{out}");
    let hits = fault_hits(&s.account);
    assert!(hits >= 2, "faults fired: {hits}");
}

/// How often the test bed's fault rules for this account fired.
fn fault_hits(account: &crate::support::emulator::Account) -> u64 {
    emulator().get("/_emulator/faults")["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["access_key"] == account.access_key_id.as_str())
        .map(|f| f["hits"].as_u64().unwrap())
        .sum()
}

#[test]
fn deep_finds_live_properties_the_template_does_not_declare_and_ignore_rules_hide_them() {
    let s = scenario();
    // Someone tunes the queue: neither attribute is in the template, so
    // CloudFormation's detection cannot see them.
    let url = emulator().boto3(
        &s.account,
        "sqs",
        "get_queue_url",
        json!({"QueueName": "events-orders"}),
    )["QueueUrl"]
        .clone();
    emulator().boto3(&s.account, "sqs", "set_queue_attributes", json!({"QueueUrl": url, "Attributes": {"DelaySeconds": "5", "ReceiveMessageWaitTimeSeconds": "20"}}));
    let (out, _, _) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["check", "--stack", "events", "-o", "json"],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["stacks"][0]["drift"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == "MODIFIED")
            .count(),
        0,
        "CloudFormation's detection cannot see it: {out}"
    );

    let (out, _, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &[
            "check",
            "--stack",
            "events",
            "--deep",
            "--show-ignored",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 2, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let queue = v["stacks"][0]["drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["logical_id"] == "OrdersQueue")
        .unwrap_or_else(|| panic!("{out}"))
        .clone();
    let diff = |path: &str| {
        queue["differences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["property_path"] == path)
            .cloned()
            .unwrap_or_else(|| panic!("{path}: {queue}"))
    };
    let delay = diff("/DelaySeconds");
    assert_eq!(
        (
            delay["kind"].clone(),
            delay["actual"].clone(),
            delay["ignored_by"].clone()
        ),
        (json!("ADD"), json!(5), json!(null))
    );
    let wait = diff("/ReceiveMessageWaitTimeSeconds");
    assert_eq!(
        wait["ignored_by"]["rule"]["reason"],
        "long polling is tuned by the consumer team, not in this repo"
    );
    // Attributes AWS sets by default are not drift, even in deep mode.
    for d in queue["differences"].as_array().unwrap() {
        assert!(
            d["ignored_by"].is_null() || d["property_path"] != "/DelaySeconds",
            "{d}"
        );
    }

    let (out, _, _) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["check", "--stack", "events", "--deep", "-o", "json"],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let shown: Vec<_> = v["stacks"][0]["drift"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["differences"].as_array().unwrap().clone())
        .map(|d| d["property_path"].clone())
        .collect();
    assert_eq!(
        shown,
        [json!("/DelaySeconds")],
        "without --show-ignored only real drift shows: {out}"
    );
}

#[test]
fn a_stack_in_another_account_is_checked_through_its_role() {
    let runner = emulator().new_account();
    let target = emulator().new_account();
    deploy_stack(
        &target,
        "app-config",
        &example("infra/stacks/app-config.yaml"),
        &[("LogLevel", "info"), ("MaxConnections", "200")],
    );
    let repo = TestRepo::new();
    repo.copy_from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/infra"));
    let config = example("infra/driftsync.yaml").replace(
        "    parameters_file: params/app-config.json\n",
        &format!("    parameters_file: params/app-config.json\n    role_arn: arn:aws:iam::{}:role/driftsync\n", target.account_id),
    );
    repo.write("driftsync.yaml", &config);
    repo.commit("app-config lives in another account");
    let (out, err, code) = driftsync_as(
        &runner,
        repo.path(),
        &["check", "--stack", "app-config", "-o", "json"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["stacks"][0]["status"], "IN_SYNC");
    assert_eq!(v["stacks"][0]["account"], target.account_id.as_str());
}

#[test]
fn a_recent_detection_is_reused_within_max_age() {
    let s = scenario();
    let (_, _, code) = driftsync_as(&s.account, s.repo.path(), &["check", "--stack", "web-sg"]);
    assert_eq!(code, 2);
    let before = emulator().calls(&s.account, "DetectStackDrift");
    let (out, _, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &[
            "check",
            "--stack",
            "web-sg",
            "--max-age",
            "1h",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        emulator().calls(&s.account, "DetectStackDrift"),
        before,
        "no new detection within --max-age"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["stacks"][0]["drift"][0]["differences"][0]["property_path"],
        "/SecurityGroupIngress/1"
    );
}

#[test]
fn one_resource_is_checked_with_detect_stack_resource_drift() {
    let s = scenario();
    let (out, _, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &[
            "check",
            "--stack",
            "web-sg",
            "--resource",
            "WebSg",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert_eq!(emulator().calls(&s.account, "DetectStackResourceDrift"), 1);
    assert_eq!(emulator().calls(&s.account, "DetectStackDrift"), 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["stacks"][0]["status"], "DRIFTED");
}

/// Renders markdown as GitHub does (tables, autolinks), with raw HTML
/// passed through so that an injection would show.
fn render_gfm(markdown: &str) -> String {
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    options.render.r#unsafe = true;
    comrak::markdown_to_html(markdown, &options)
}

#[test]
fn a_hostile_live_value_is_inert_text_in_the_markdown_reports() {
    let s = scenario();
    let hostile = "x` | <img src=x onerror=alert(1)> | [login](https://evil.example) ![p](https://evil.example/p.png) <b>b</b>";
    emulator().boto3(
        &s.account,
        "ssm",
        "put_parameter",
        json!({"Name": "/app/log-level", "Value": hostile, "Type": "String", "Overwrite": true}),
    );
    for args in [
        &["check", "-o", "markdown"][..],
        &["plan", "-o", "markdown"][..],
    ] {
        let (out, err, code) = driftsync_as(&s.account, s.repo.path(), args);
        assert_eq!(code, 2, "{args:?}: {out}\n{err}");
        if args[0] == "check" {
            assert!(out.contains("onerror"), "the value is shown:\n{out}");
        }
        let html = render_gfm(&out);
        for bad in ["<a ", "<img", "<b>"] {
            assert!(
                !html.contains(bad),
                "{args:?} rendered {bad}:\n{out}\n{html}"
            );
        }
        // Every row has as many cells as its table's header.
        for table in html.split("<table>").skip(1) {
            let table = table.split("</table>").next().unwrap();
            let columns = table.matches("</th>").count();
            for row in table.split("<tr>").skip(2) {
                assert_eq!(row.matches("</td>").count(), columns, "{args:?}:\n{out}");
            }
        }
    }
}

#[test]
fn a_service_that_never_answers_is_cut_off_at_the_runs_deadline_and_said_so() {
    let s = scenario();
    emulator().post(
        "/_emulator/faults",
        json!([{"kind": "latency", "latency_ms": 30000, "access_key": s.account.access_key_id}]),
    );
    let started = std::time::Instant::now();
    let (out, err, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["check", "-o", "json", "--deadline", "3s"],
    );
    let took = started.elapsed();
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["errors"], 3, "{out}");
    for stack in v["stacks"].as_array().unwrap() {
        assert_eq!(
            stack["error"],
            "timed out: the run's deadline of 3s (--deadline) passed before this stack was checked",
            "{out}"
        );
    }
}

#[test]
fn constant_throttling_fails_each_stack_saying_how_hard_driftsync_tried() {
    let s = scenario();
    emulator().post(
        "/_emulator/faults",
        json!([{"kind": "throttle", "service": "cloudformation", "operation": "DescribeStacks", "access_key": s.account.access_key_id}]),
    );
    // The operator's SDK setting wins over driftsync's 8 attempts (and
    // keeps this test short).
    let (out, err, code) = driftsync_as_with(
        &s.account,
        s.repo.path(),
        &["check", "-o", "json"],
        &[("AWS_MAX_ATTEMPTS", "3")],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let error = v["stacks"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("Throttling: Rate exceeded [gave up after up to 3 attempts (AWS_MAX_ATTEMPTS), 20 s per attempt, 60 s per call]"),
        "{error}"
    );
    assert_eq!(fault_hits(&s.account), 3, "one DescribeStacks, 3 attempts");
}

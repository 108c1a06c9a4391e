//! The state directory's guarantees, end to end on the AWS test bed: one
//! applying process per directory, the intent recorded before AWS is
//! changed, and attempts a killed run left in progress settled by the next.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::check::{driftsync_as_with, scenario_with};
use crate::support::emulator::{Account, emulator};

fn state_dir(repo: &Path) -> PathBuf {
    repo.join(".git/driftsync-state")
}

fn audit_lines(repo: &Path) -> Vec<Value> {
    std::fs::read_to_string(state_dir(repo).join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `sync --stack web-sg --apply -o json` as a child process.
fn spawn_sync(account: &Account, repo: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_driftsync"))
        .args([
            "sync",
            "--stack",
            "web-sg",
            "--apply",
            "-o",
            "json",
            "--color=never",
        ])
        .current_dir(repo)
        .envs(account.env())
        .env_remove("CI")
        .env(
            "DRIFTSYNC_CACHE_DIR",
            repo.join(".git/driftsync-test-cache"),
        )
        .env("DRIFTSYNC_STATE_DIR", state_dir(repo))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Slows this account's next Cloud Control UpdateResource down.
fn slow_update_resource(account: &Account, ms: u64) {
    emulator().post(
        "/_emulator/faults",
        json!({"kind": "latency", "latency_ms": ms, "operation": "UpdateResource",
               "count": 1, "access_key": account.access_key_id}),
    );
}

#[test]
fn a_second_sync_apply_on_the_same_state_directory_waits_then_exits_1_naming_the_first() {
    let s = scenario_with(None);
    let repo = s.repo.path();
    slow_update_resource(&s.account, 5000);
    let first = spawn_sync(&s.account, repo);
    let lock = state_dir(repo).join("driftsync.lock");
    let holder = format!("pid {}", first.id());
    let started = Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&holder))
        && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(50));
    }

    let (out, err, code) = driftsync_as_with(
        &s.account,
        repo,
        &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
        &[("DRIFTSYNC_LOCK_WAIT", "1s")],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("state directory is in use"), "{err}");
    assert!(err.contains(&holder), "names the holder: {err}");

    let first = first.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(2), "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["stacks"][0]["outcomes"][0]["result"], "applied");
    assert_eq!(emulator().calls(&s.account, "UpdateResource"), 1);
    let succeeded = audit_lines(repo)
        .into_iter()
        .filter(|l| l["action"] == "revert" && l["outcome"] == "succeeded")
        .count();
    assert_eq!(succeeded, 1, "one run acted and recorded it");
}

/// Whether the scenario's security group is still open to the world.
fn ssh_open(account: &Account, group_id: &str) -> bool {
    let v = emulator().boto3(
        account,
        "ec2",
        "describe_security_groups",
        json!({"GroupIds": [group_id]}),
    );
    v["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["IpRanges"].as_array().unwrap().iter())
        .any(|r| r["CidrIp"] == "0.0.0.0/0")
}

#[test]
fn every_change_to_aws_is_preceded_by_a_started_line_naming_its_attempt() {
    let s = scenario_with(None);
    let repo = s.repo.path();
    let (out, err, code) = driftsync_as_with(
        &s.account,
        repo,
        &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
        &[],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let lines = audit_lines(repo);
    let position = |outcome: &str| {
        lines
            .iter()
            .position(|l| l["action"] == "revert" && l["outcome"] == outcome)
            .unwrap_or_else(|| panic!("no {outcome} line: {lines:#?}"))
    };
    let (started, succeeded) = (position("started"), position("succeeded"));
    assert!(started < succeeded, "{lines:#?}");
    assert_eq!(lines[started]["detail"]["attempt"], 1);
    assert!(lines[started]["detail"]["action_id"].is_i64());
    assert_eq!(lines[started]["property_path"], "/SecurityGroupIngress/1");
}

#[test]
fn an_action_whose_intent_cannot_be_written_is_not_taken_and_the_step_says_why() {
    let s = scenario_with(None);
    let repo = s.repo.path();
    // Something else holds the audit log, past the busy timeout.
    std::fs::create_dir_all(state_dir(repo)).unwrap();
    let audit = std::fs::File::create(state_dir(repo).join("audit.jsonl")).unwrap();
    audit.lock().unwrap();

    let (out, err, code) = driftsync_as_with(
        &s.account,
        repo,
        &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
        &[],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let outcome = &report["stacks"][0]["outcomes"][0];
    assert_eq!(outcome["result"], "failed", "{out}");
    let reason = outcome["reason"].as_str().unwrap();
    assert!(
        reason.contains("nothing was done") && reason.contains("audit log"),
        "{reason}"
    );
    assert_eq!(emulator().calls(&s.account, "UpdateResource"), 0);
    assert!(ssh_open(&s.account, &s.group_id), "AWS was not changed");

    audit.unlock().unwrap();
    let (out, err, code) = driftsync_as_with(
        &s.account,
        repo,
        &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
        &[],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        !ssh_open(&s.account, &s.group_id),
        "reverted once it could be recorded"
    );
}

/// `(outcome, reason)` of every action of the state directory, by id.
fn actions(repo: &Path) -> Vec<(i64, Option<String>, Option<String>)> {
    let conn = rusqlite::Connection::open(state_dir(repo).join("driftsync.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, outcome, reason FROM actions ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_revert_killed_after_reaching_aws_is_settled_as_succeeded_by_the_next_run() {
    let s = scenario_with(None);
    let repo = s.repo.path();
    // Hold the run in its first wait for the request, then kill it there.
    emulator().post(
        "/_emulator/faults",
        json!({"kind": "latency", "latency_ms": 20000, "operation": "GetResourceRequestStatus",
               "count": 1, "access_key": s.account.access_key_id}),
    );
    let mut first = spawn_sync(&s.account, repo);
    let started = Instant::now();
    while emulator().calls(&s.account, "UpdateResource") == 0
        && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1000));
    first.kill().unwrap();
    let _ = first.wait();
    let begun = actions(repo);
    assert_eq!(begun.len(), 1, "{begun:?}");
    assert_eq!(begun[0].1, None, "left in progress by the kill");

    let (out, err, code) = driftsync_as_with(
        &s.account,
        repo,
        &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
        &[],
    );
    assert_eq!(
        code, 0,
        "the revert took effect, nothing left to do: {out}\n{err}"
    );
    let settled = actions(repo);
    assert_eq!(settled.len(), 1, "no new attempt: {settled:?}");
    assert_eq!(settled[0].1.as_deref(), Some("succeeded"), "{settled:?}");
    let line = audit_lines(repo)
        .into_iter()
        .find(|l| l["detail"]["settled"] == true)
        .expect("an audit line for the settled attempt");
    assert_eq!(line["outcome"], "succeeded");
    assert_eq!(line["action"], "revert");
    assert_eq!(line["detail"]["action_id"], settled[0].0);
    assert_eq!(emulator().calls(&s.account, "UpdateResource"), 1);
}

/// Records an attempt at a deploy by change set `name` as a killed run
/// would have left it: begun, never finished.
fn left_in_progress(repo: &Path, name: &str) {
    let conn = rusqlite::Connection::open(state_dir(repo).join("driftsync.db")).unwrap();
    conn.execute(
        "INSERT INTO actions (idempotency_key, attempt, stack, logical_id, property_path, \
         action, revision, detail, started_at) \
         VALUES (?1, 1, 'web-sg', '', '', 'deploy', 'abc', '{}', 0)",
        [name],
    )
    .unwrap();
}

#[test]
fn change_sets_a_killed_run_never_executed_or_never_made_are_settled_as_interrupted() {
    let s = scenario_with(None);
    let repo = s.repo.path();
    let sync = || {
        driftsync_as_with(
            &s.account,
            repo,
            &["sync", "--stack", "web-sg", "--apply", "-o", "json"],
            &[],
        )
    };
    let (out, err, code) = sync();
    assert_eq!(code, 2, "{out}\n{err}");
    emulator().boto3(
        &s.account,
        "cloudformation",
        "create_change_set",
        json!({"StackName": "web-sg", "ChangeSetName": "driftsync-deploy-made",
               "UsePreviousTemplate": true,
               "Parameters": [{"ParameterKey": "Env", "UsePreviousValue": true},
                              {"ParameterKey": "OfficeCidr", "ParameterValue": "10.1.0.0/16"}]}),
    );
    left_in_progress(repo, "driftsync-deploy-made");
    left_in_progress(repo, "driftsync-deploy-never");

    let (out, err, code) = sync();
    assert_eq!(code, 0, "{out}\n{err}");
    let rows = actions(repo);
    let reason = |i: usize| rows[i].2.clone().unwrap_or_default();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[1].1.as_deref(), Some("interrupted"), "{rows:?}");
    assert!(reason(1).contains("never executed"), "{rows:?}");
    assert_eq!(rows[2].1.as_deref(), Some("interrupted"), "{rows:?}");
    assert!(reason(2).contains("no change set"), "{rows:?}");
    let settled: Vec<Value> = audit_lines(repo)
        .into_iter()
        .filter(|l| l["detail"]["settled"] == true)
        .collect();
    assert_eq!(settled.len(), 2, "{settled:#?}");
    assert!(settled.iter().all(|l| l["outcome"] == "interrupted"));
    assert_eq!(emulator().calls(&s.account, "ExecuteChangeSet"), 0);
}

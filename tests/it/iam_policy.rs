//! `driftsync iam-policy` end to end: the policy it prints is enough for a
//! real run, and no more than the mode allows. The run goes through the test
//! bed with IAM enforced (`/moto-api/reset-auth`), which is server-wide, so
//! this test owns its emulator.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::check::example;
use crate::cli::driftsync;
use crate::support::TestRepo;
use crate::support::emulator::{Account, Emulator};

/// An IAM user's keys, in the account's own state.
struct User {
    name: String,
    access_key_id: String,
    secret_access_key: String,
}

fn create_user(emu: &Emulator, account: &Account, name: &str, policy: &Value) -> User {
    emu.boto3(account, "iam", "create_user", json!({"UserName": name}));
    emu.boto3(
        account,
        "iam",
        "put_user_policy",
        json!({"UserName": name, "PolicyName": "driftsync", "PolicyDocument": policy.to_string()}),
    );
    let key = emu.boto3(
        account,
        "iam",
        "create_access_key",
        json!({"UserName": name}),
    );
    let s = |k: &str| key["AccessKey"][k].as_str().unwrap().to_string();
    User {
        name: name.to_string(),
        access_key_id: s("AccessKeyId"),
        secret_access_key: s("SecretAccessKey"),
    }
}

/// driftsync as `user`, through the standard AWS variables only.
fn run_as(emu: &Emulator, user: &User, dir: &Path, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_driftsync"))
        .args(args)
        .arg("--color=never")
        .current_dir(dir)
        .env_remove("CI")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", emu.endpoint())
        .env("AWS_ACCESS_KEY_ID", &user.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &user.secret_access_key)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("DRIFTSYNC_CACHE_DIR", dir.join(".git/driftsync-test-cache"))
        // Each user's own state: one's refused revert must not hold back the other's.
        .env(
            "DRIFTSYNC_STATE_DIR",
            dir.join(format!(".git/state-{}", user.name)),
        )
        .output()
        .expect("driftsync runs");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn policy(dir: &Path, mode: &str) -> Value {
    let (out, err, code) = driftsync(dir, &["iam-policy", "--mode", mode]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn statuses(report: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(report).unwrap();
    v["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap().to_string();
            (name, s["status"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn a_run_with_only_the_printed_policy_succeeds_and_check_cannot_sync() {
    let emu = Emulator::dedicated();
    let account = emu.new_account();
    let repo = TestRepo::new();
    repo.copy_from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/infra"));
    repo.commit("initial stacks");
    let deployed = [
        (
            "web-sg",
            "infra/stacks/web-sg.yaml",
            vec![("Env", "prod"), ("OfficeCidr", "10.0.0.0/8")],
        ),
        (
            "app-config",
            "infra/stacks/app-config.yaml",
            vec![("LogLevel", "info"), ("MaxConnections", "200")],
        ),
        (
            "events",
            "infra/stacks/events.yaml",
            vec![("RetentionSeconds", "1209600")],
        ),
    ];
    for (name, template, params) in &deployed {
        emu.deploy_stack(&account, name, &example(template), params);
    }
    // Out of band: SSH open to the world, which the example's policy reverts.
    let res = emu.boto3(
        &account,
        "cloudformation",
        "describe_stack_resource",
        json!({"StackName": "web-sg", "LogicalResourceId": "WebSg"}),
    );
    let group = res["StackResourceDetail"]["PhysicalResourceId"]
        .as_str()
        .unwrap();
    emu.boto3(&account, "ec2", "authorize_security_group_ingress", json!({"GroupId": group,
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}));
    // And a commit that sync deploys.
    repo.write(
        "stacks/events.yaml",
        &example("infra-next/stacks/events.yaml"),
    );
    repo.commit("longer visibility timeout");

    let checker = create_user(&emu, &account, "checker", &policy(repo.path(), "check"));
    let syncer = create_user(&emu, &account, "syncer", &policy(repo.path(), "sync"));
    ureq::post(format!("{}/moto-api/reset-auth", emu.endpoint()))
        .header("Content-Type", "text/plain")
        .send("0")
        .expect("IAM enforcement turns on");

    // The check policy is enough for check: every stack checked, none in error.
    let (out, err, code) = run_as(&emu, &checker, repo.path(), &["check", "-o", "json"]);
    assert_eq!(code, 2, "drift found, nothing refused: {err}\n{out}");
    let found = statuses(&out);
    assert!(
        found.contains(&("web-sg".into(), "DRIFTED".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("events".into(), "PENDING".into())),
        "{found:?}"
    );
    assert!(found.iter().all(|(_, s)| s != "ERROR"), "{found:?}\n{out}");
    assert!(
        !out.contains("AccessDenied") && !err.contains("AccessDenied"),
        "{err}\n{out}"
    );

    // ... and for plan, which acts on nothing.
    let (out, err, code) = run_as(&emu, &checker, repo.path(), &["plan", "-o", "json"]);
    assert_ne!(code, 1, "{err}\n{out}");
    assert!(
        !out.contains("AccessDenied") && !err.contains("AccessDenied"),
        "{err}\n{out}"
    );

    // ... but not for sync --apply: the revert is refused.
    let (out, err, _) = run_as(
        &emu,
        &checker,
        repo.path(),
        &["sync", "--apply", "-o", "json"],
    );
    assert!(
        out.contains("AccessDenied") || err.contains("AccessDenied"),
        "{err}\n{out}"
    );

    // The sync policy reverts the drift and deploys the commit: all in sync.
    let (out, err, code) = run_as(
        &emu,
        &syncer,
        repo.path(),
        &["sync", "--apply", "-o", "json"],
    );
    assert!(
        !out.contains("AccessDenied") && !err.contains("AccessDenied"),
        "{err}\n{out}"
    );
    assert_ne!(code, 1, "{err}\n{out}");
    let (out, err, _) = run_as(&emu, &syncer, repo.path(), &["check", "-o", "json"]);
    let after = statuses(&out);
    assert!(
        after.iter().all(|(_, s)| s == "IN_SYNC"),
        "{after:?}\n{err}\n{out}"
    );
}

#[test]
fn the_sync_policy_is_enough_to_upload_a_large_template_and_deploy_it_from_s3() {
    let emu = Emulator::dedicated();
    let account = emu.new_account();
    let bucket = format!("artifacts-{}", account.account_id);
    emu.boto3(&account, "s3", "create_bucket", json!({"Bucket": bucket}));
    let small = "Resources:\n  Flag:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: /big/flag\n      Type: String\n      Value: on\n";
    let big = format!(
        "{small}  Notes:\n    Type: AWS::SSM::Parameter\n    Metadata:\n      Notes: {}\n    Properties:\n      Name: /big/notes\n      Type: String\n      Value: kept\n",
        "n".repeat(52_000)
    );
    let repo = TestRepo::new();
    repo.write(
        "driftsync.yaml",
        &format!("version: 1\ndefaults:\n  region: us-east-1\n  artifacts: {{bucket: {bucket}, prefix: cfn}}\nstacks:\n  - {{name: big, template: big.yaml}}\n"),
    );
    repo.write("big.yaml", small);
    repo.commit("a small stack");
    emu.deploy_stack(&account, "big", small, &[]);
    repo.write("big.yaml", &big);
    repo.commit("notes in metadata");

    let syncer = create_user(&emu, &account, "syncer", &policy(repo.path(), "sync"));
    ureq::post(format!("{}/moto-api/reset-auth", emu.endpoint()))
        .header("Content-Type", "text/plain")
        .send("0")
        .expect("IAM enforcement turns on");
    let (out, err, code) = run_as(
        &emu,
        &syncer,
        repo.path(),
        &["sync", "--apply", "-o", "json"],
    );
    assert_eq!(code, 2, "{err}\n{out}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        r["stacks"][0]["outcomes"][0]["result"], "applied",
        "{err}\n{out}"
    );
}

//! Secrets never show: with tokens and AWS credentials set, every command
//! at trace level, and every file driftsync writes, is searched for them.

use std::path::Path;

use serde_json::json;

use crate::check::{driftsync_as_with, example, scenario_with};
use crate::support::emulator::emulator;
use crate::support::github_fake::GithubFake;

const GITHUB_TOKEN: &str = "ghp_SecretsTestGithub0a1b2c3d4e5f6g7h8";
const GIT_TOKEN: &str = "ghp_SecretsTestGit9z8y7x6w5v4u3t2s1r0q";

/// Every file under `dir`, as lossy text (SQLite databases included).
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    out
}

#[test]
fn no_token_or_aws_secret_reaches_any_output_log_report_or_file_at_trace_level() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(GithubFake::start("", GITHUB_TOKEN));
    let config = format!(
        "{}\ngithub:\n  repository: acme/infra\n  api_url: {}\n",
        example("infra/driftsync.yaml"),
        fake.api_url()
    );
    let s = scenario_with(Some(&config));
    let (remote, _) = crate::codify::with_origin(&s.repo);
    emulator().boto3(
        &s.account,
        "ssm",
        "put_parameter",
        json!({"Name": "/app/log-level", "Value": "debug", "Type": "String", "Overwrite": true}),
    );
    let reports = tempfile::tempdir().unwrap();
    let r = |name: &str| reports.path().join(name).display().to_string();
    let host = fake
        .api_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let env = [
        ("DRIFTSYNC_LOG", "trace"),
        ("GITHUB_TOKEN", GITHUB_TOKEN),
        ("DRIFTSYNC_GIT_TOKEN", GIT_TOKEN),
        ("DRIFTSYNC_ALLOWED_HOSTS", host.as_str()),
    ];
    let (check_report, summary, sarif, outputs) = (
        r("check.json"),
        r("summary.md"),
        r("check.sarif"),
        r("outputs"),
    );
    let (sync_report, sync_summary) = (r("sync.json"), r("sync.md"));
    let commands: Vec<Vec<&str>> = vec![
        vec!["validate"],
        vec!["diff", "--from", "HEAD~1"],
        vec![
            "check",
            "--report-file",
            &check_report,
            "--summary-file",
            &summary,
            "--sarif-file",
            &sarif,
            "--github-output",
            &outputs,
            "--annotations",
        ],
        vec!["check", "-o", "markdown", "--deep"],
        vec!["plan", "-o", "json"],
        vec![
            "sync",
            "--apply",
            "--report-file",
            &sync_report,
            "--summary-file",
            &sync_summary,
        ],
        vec!["codify", "--stack", "app-config", "--apply"],
        vec!["iam-policy"],
    ];
    let secrets = [
        ("GITHUB_TOKEN", GITHUB_TOKEN.to_string()),
        ("DRIFTSYNC_GIT_TOKEN", GIT_TOKEN.to_string()),
        ("AWS_SECRET_ACCESS_KEY", s.account.secret_access_key.clone()),
        ("AWS_SESSION_TOKEN", s.account.session_token.clone()),
    ];
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut logged = 0;
    for args in &commands {
        let (out, err, code) = driftsync_as_with(&s.account, s.repo.path(), args, &env);
        assert!(code == 0 || code == 2, "{args:?} exited {code}:\n{err}");
        logged += err.lines().count();
        texts.push((format!("stdout of {args:?}"), out));
        texts.push((format!("stderr of {args:?}"), err));
    }
    assert!(logged > 1000, "trace logging was on ({logged} lines)");
    assert!(
        !rt.block_on(fake.request_lines()).is_empty(),
        "the GitHub token was used"
    );
    texts.extend(files_under(reports.path()));
    texts.extend(files_under(&s.repo.path().join(".git")));
    texts.extend(files_under(remote.path()));
    assert!(
        texts.iter().any(|(name, _)| name.ends_with("audit.jsonl")),
        "the state directory was searched"
    );
    for (what, text) in &texts {
        for (name, secret) in &secrets {
            assert!(!text.contains(secret.as_str()), "{name} in {what}");
        }
    }
}

const NO_ECHO_SECRET: &str = "s3cr3t-NoEcho-value-4f1d";
const NO_ECHO_DRIFTED: &str = "drifted-NoEcho-value-9c2e";

const VAULT_TEMPLATE: &str = "Parameters:
  ApiToken:
    Type: String
    NoEcho: true
  Env:
    Type: String
Resources:
  TokenParam:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /vault/api-token
      Type: String
      Value: !Ref ApiToken
      Description: !Sub token of ${Env}
";

/// A stack whose NoEcho parameter feeds an SSM parameter's `Value`, changed
/// out of band: the secret (committed or drifted) shows nowhere, the drift is
/// shown as `(secret)`, fixed by re-applying the stack, and a second check
/// reports no pending parameter change.
#[test]
fn a_no_echo_value_and_its_drift_show_nowhere_and_are_fixed_by_re_applying_the_stack() {
    let account = emulator().new_account();
    let repo = crate::support::TestRepo::new();
    repo.write(
        "driftsync.yaml",
        &format!(
            "version: 1\ndefaults:\n  region: us-east-1\nstacks:\n  - name: vault\n    template: stacks/vault.yaml\n    parameters:\n      ApiToken: {NO_ECHO_SECRET}\n      Env: prod\npolicy:\n  default: revert\n"
        ),
    );
    repo.write("stacks/vault.yaml", VAULT_TEMPLATE);
    repo.commit("vault");
    crate::support::emulator::deploy_stack(
        &account,
        "vault",
        VAULT_TEMPLATE,
        &[("ApiToken", NO_ECHO_SECRET), ("Env", "prod")],
    );
    let value = || {
        emulator().boto3(
            &account,
            "ssm",
            "get_parameter",
            json!({"Name": "/vault/api-token"}),
        )["Parameter"]["Value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let run = |args: &[&str]| {
        driftsync_as_with(&account, repo.path(), args, &[("DRIFTSYNC_LOG", "trace")])
    };

    let (out, err, code) = run(&["check"]);
    assert_eq!(code, 0, "nothing drifted, nothing pending:\n{out}\n{err}");
    emulator().boto3(
        &account,
        "ssm",
        "put_parameter",
        json!({"Name": "/vault/api-token", "Value": NO_ECHO_DRIFTED, "Type": "String", "Overwrite": true}),
    );
    let mut texts = vec![("check (in sync)".to_string(), out + &err)];
    let (out, err, code) = run(&["check"]);
    assert_eq!(code, 2, "the drift is found:\n{out}\n{err}");
    assert!(out.contains("(secret)"), "{out}");
    texts.push(("check".into(), out + &err));
    let (out, err, code) = run(&["check", "-o", "json"]);
    assert_eq!(code, 2, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let stack = &report["stacks"][0];
    assert_eq!(stack["pending"].as_array().map_or(0, Vec::len), 0, "{out}");
    let drift = &stack["drift"][0]["differences"][0];
    assert_eq!(drift["expected"], json!("(secret)"), "{out}");
    assert_eq!(drift["actual"], json!("(secret)"), "{out}");
    texts.push(("check -o json".into(), out + &err));
    let (out, err, _) = run(&["plan", "-o", "json"]);
    assert!(
        out.contains("REVERT_DRIFT"),
        "re-applied, not patched:\n{out}"
    );
    texts.push(("plan".into(), out + &err));
    let (out, err, code) = run(&["sync", "--apply"]);
    assert_eq!(code, 2, "changes were made:\n{out}\n{err}");
    texts.push(("sync --apply".into(), out + &err));
    assert_eq!(value(), NO_ECHO_SECRET, "the drift was fixed");
    let (out, err, code) = run(&["check", "-o", "json"]);
    assert_eq!(
        code, 0,
        "in sync, no pending parameter change:\n{out}\n{err}"
    );
    texts.push(("check after sync".into(), out + &err));
    let state = files_under(&repo.path().join(".git/driftsync-state"));
    assert!(state.iter().any(|(n, _)| n.ends_with("audit.jsonl")));
    texts.extend(state);
    for (what, text) in &texts {
        for secret in [NO_ECHO_SECRET, NO_ECHO_DRIFTED] {
            assert!(!text.contains(secret), "{secret} in {what}:\n{text}");
        }
    }
}

/// The SDK's own logs stay out of a default run, and its trace-level dumps
/// of request and response bodies (which carry parameter values and
/// secrets) stay out even when DRIFTSYNC_LOG asks for trace.
#[test]
fn a_default_run_logs_no_sdk_chatter_and_trace_never_dumps_wire_bodies() {
    let s = scenario_with(None);
    let (out, err, _) = crate::check::driftsync_as(&s.account, s.repo.path(), &["check"]);
    for level in ["TRACE", "DEBUG", " INFO "] {
        assert!(
            !err.contains(level),
            "{level} in a default run:\n{out}\n{err}"
        );
    }
    let (_, err, _) = driftsync_as_with(
        &s.account,
        s.repo.path(),
        &["check"],
        &[("DRIFTSYNC_LOG", "trace")],
    );
    assert!(err.contains("TRACE"), "trace was asked for:\n{err}");
    for dump in ["read HTTP response body", "output_or_error", "TemplateBody"] {
        assert!(!err.contains(dump), "{dump} at trace level:\n{err}");
    }
}

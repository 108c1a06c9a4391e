//! The GitHub Action's entry point (`action/run.sh`) on the test bed, read
//! the way GitHub reads it: the job summary, the step outputs, the
//! annotations on stdout, the report and the SARIF file.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::check::{Scenario, scenario_with};

struct Run {
    code: i32,
    stdout: String,
    summary: String,
    outputs: BTreeMap<String, String>,
}

/// Runs the action's script as a workflow step would, with `inputs` as the
/// action's inputs (`fail-on-drift` → `INPUT_FAIL_ON_DRIFT`).
fn action(s: &Scenario, temp: &Path, inputs: &[(&str, &str)]) -> Run {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let summary = temp.join("summary.md");
    let output = temp.join("output");
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("action/run.sh"))
        .current_dir(s.repo.path())
        .envs(s.account.env())
        .env("CI", "true")
        .env("DRIFTSYNC_BIN", env!("CARGO_BIN_EXE_driftsync"))
        .env("RUNNER_TEMP", temp)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .env("DRIFTSYNC_CACHE_DIR", s.repo.path().join(".git/cache"))
        .env("DRIFTSYNC_STATE_DIR", s.repo.path().join(".git/state"));
    for (k, v) in inputs {
        cmd.env(format!("INPUT_{}", k.to_uppercase().replace('-', "_")), v);
    }
    let out = cmd.output().unwrap();
    let outputs = std::fs::read_to_string(&output)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        outputs,
    }
}

/// The template line where web-sg's ingress rules are written.
fn ingress_line(s: &Scenario) -> usize {
    let text = std::fs::read_to_string(s.repo.path().join("stacks/web-sg.yaml")).unwrap();
    1 + text
        .lines()
        .position(|l| l.contains("SecurityGroupIngress"))
        .unwrap()
}

#[test]
fn check_writes_the_summary_outputs_annotations_and_sarif_and_fails_on_drift() {
    let s = scenario_with(None);
    let temp = tempfile::tempdir().unwrap();
    let run = action(
        &s,
        temp.path(),
        &[
            ("command", "check"),
            ("output", "json"),
            ("fail-on-drift", "true"),
        ],
    );

    assert_eq!(
        run.code, 1,
        "fail-on-drift turns drift into a failed step:\n{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("::error title=driftsync::check found drift"),
        "{}",
        run.stdout
    );
    assert_eq!(run.outputs["drift-detected"], "true");
    assert_eq!(
        run.outputs["pending-detected"], "true",
        "events has a newer commit"
    );

    // The summary is the markdown report: each stack with its verdict.
    assert!(
        run.summary.contains("web-sg") && run.summary.contains("events"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("0.0.0.0/0"),
        "the drifted rule is shown:\n{}",
        run.summary
    );

    // An annotation at the template's ingress rules, for the opened port.
    let line = ingress_line(&s);
    let warning = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::warning file=stacks/web-sg.yaml,"))
        .unwrap_or_else(|| panic!("no annotation on web-sg:\n{}", run.stdout));
    let at: usize = warning
        .split("line=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        at >= line,
        "{warning} points above the ingress rules (line {line})"
    );

    // The report file is the JSON report; the SARIF file is code scanning's.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&run.outputs["report-path"]).unwrap())
            .unwrap();
    assert_eq!(report["summary"]["drifted"], 1);
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(&run.outputs["sarif-path"]).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let web = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stacks/web-sg.yaml"
        })
        .expect("a result in web-sg's template");
    assert!(
        web["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
            >= line as u64
    );
}

#[test]
fn without_fail_on_drift_drift_passes_and_plan_summarises_the_plan() {
    let s = scenario_with(None);
    let temp = tempfile::tempdir().unwrap();
    let run = action(
        &s,
        temp.path(),
        &[("command", "plan"), ("stacks", "web-sg, events")],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["drift-detected"], "true");
    assert!(run.summary.contains("web-sg"), "{}", run.summary);
    assert!(
        !run.summary.contains("app-config"),
        "only the stacks asked for:\n{}",
        run.summary
    );
    let report = std::fs::read_to_string(&run.outputs["report-path"]).unwrap();
    assert!(run.outputs["report-path"].ends_with(".md"));
    assert_eq!(
        report.trim(),
        run.summary.trim(),
        "markdown report and summary agree"
    );
}

#[test]
fn bad_inputs_fail_with_an_error_annotation_before_anything_runs() {
    let s = scenario_with(None);
    let temp = tempfile::tempdir().unwrap();
    for (inputs, says) in [
        (
            vec![("command", "destroy")],
            "command must be check, plan, sync or codify",
        ),
        (
            vec![("command", "check"), ("apply", "true")],
            "apply: true goes with command: sync",
        ),
        (
            vec![("command", "check"), ("fail-on-drift", "maybe")],
            "expected true or false",
        ),
        (
            vec![("command", "check"), ("output", "xml")],
            "output must be human, json, markdown or sarif",
        ),
    ] {
        let run = action(&s, temp.path(), &inputs);
        assert_eq!(run.code, 1, "{inputs:?}");
        assert!(
            run.stdout
                .contains(&format!("::error title=driftsync::{says}")),
            "{inputs:?}: {}",
            run.stdout
        );
        assert!(run.outputs.is_empty(), "nothing ran: {:?}", run.outputs);
    }
}

/// `action/install.sh` with a PATH holding only driftsync's directory and
/// the basic tools, so no other driftsync or cargo is found by accident.
fn install(env: &[(&str, &Path)], version: &str) -> (i32, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_driftsync")).parent().unwrap();
    let out = Command::new("bash")
        .arg(root.join("action/install.sh"))
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("GITHUB_ACTION_PATH", root)
        .env("DRIFTSYNC_VERSION", version)
        .env_remove("ACTION_REPOSITORY")
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn install_uses_a_driftsync_of_the_wanted_version_already_there_then_the_tool_cache() {
    let temp = tempfile::tempdir().unwrap();
    let github_path = temp.path().join("github_path");
    let cache = temp.path().join("tool-cache");
    let env = [
        ("GITHUB_PATH", github_path.as_path()),
        ("RUNNER_TOOL_CACHE", cache.as_path()),
    ];

    // This build's version (Cargo.toml's, the default) is on the PATH.
    let (code, text) = install(&env, "");
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!(
            "driftsync {}: already on the PATH",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );

    // Another version: found in the tool cache, whose bin goes on the PATH.
    let cached = cache.join("driftsync/9.9.9/bin");
    std::fs::create_dir_all(&cached).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_driftsync"), cached.join("driftsync")).unwrap();
    let (code, text) = install(&env, "v9.9.9");
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("driftsync 9.9.9: from the tool cache"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&github_path).unwrap().trim(),
        cached.display().to_string()
    );

    // Not there, no release to fetch, no cargo: a clear failure.
    let (code, text) = install(&env, "8.8.8");
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("::error title=driftsync::no release binary for this runner and no cargo"),
        "{text}"
    );
}

#[test]
fn with_trusted_keys_sync_refuses_an_unsigned_revision_and_says_why() {
    let s = scenario_with(None);
    let temp = tempfile::tempdir().unwrap();
    let key = temp.path().join("key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let run = action(
        &s,
        temp.path(),
        &[
            ("command", "sync"),
            ("apply", "true"),
            ("trusted-keys", &format!("ops@example.com {public}")),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("is not signed"), "{}", run.stdout);
    let group = crate::support::emulator::emulator().boto3(
        &s.account,
        "ec2",
        "describe_security_groups",
        serde_json::json!({"GroupIds": [s.group_id]}),
    );
    let rules = group["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(rules, 2, "nothing was reverted");
}

/// A local web server for `dir`, as GitHub's release downloads: its base URL.
fn serve(dir: &Path) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (child, format!("http://127.0.0.1:{port}"))
}

#[test]
fn install_fetches_the_release_binary_checks_its_sha256_and_refuses_a_tampered_one() {
    let target = match std::env::consts::ARCH {
        "x86_64" => "x86_64-unknown-linux-gnu",
        "aarch64" => "aarch64-unknown-linux-gnu",
        _ => return,
    };
    let temp = tempfile::tempdir().unwrap();
    let release = temp
        .path()
        .join("srv/acme/driftsync/releases/download/v7.7.7");
    std::fs::create_dir_all(&release).unwrap();
    let staging = temp.path().join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_driftsync"), staging.join("driftsync")).unwrap();
    let name = format!("driftsync-7.7.7-{target}.tar.gz");
    let tarball = release.join(&name);
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&staging)
        .arg("driftsync")
        .status()
        .unwrap();
    assert!(ok.success());
    let sum = Command::new("sha256sum")
        .arg(&name)
        .current_dir(&release)
        .output()
        .unwrap();
    std::fs::write(release.join(format!("{name}.sha256")), &sum.stdout).unwrap();
    let (mut server, url) = serve(&temp.path().join("srv"));

    let github_path = temp.path().join("github_path");
    let cache = temp.path().join("tool-cache");
    let server_url = std::path::PathBuf::from(&url);
    let env = [
        ("GITHUB_PATH", github_path.as_path()),
        ("RUNNER_TOOL_CACHE", cache.as_path()),
        ("GITHUB_SERVER_URL", server_url.as_path()),
        ("ACTION_REPOSITORY", Path::new("acme/driftsync")),
    ];

    // A tarball that is not the one whose sha256 was published.
    let good = std::fs::read(&tarball).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    std::fs::write(&tarball, &bad).unwrap();
    let (code, text) = install(&env, "7.7.7");
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(&format!(
            "::error title=driftsync::{name} does not match its published sha256"
        )),
        "{text}"
    );
    let installed = cache.join("driftsync/7.7.7/bin/driftsync");
    assert!(!installed.exists(), "nothing installed");

    // The real one: checked, unpacked into the tool cache, on the PATH.
    std::fs::write(&tarball, &good).unwrap();
    let (code, text) = install(&env, "7.7.7");
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("driftsync 7.7.7: release binary for {target}")),
        "{text}"
    );
    assert!(installed.exists());

    // The second time, the tool cache: no download (the server is gone).
    server.kill().unwrap();
    server.wait().unwrap();
    let (code, text) = install(&env, "7.7.7");
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("driftsync 7.7.7: from the tool cache"),
        "{text}"
    );
}

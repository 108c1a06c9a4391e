//! The `driftsync` binary end to end: exit codes and output snapshots on the
//! example infra repository, and located errors for bad input.

use std::path::Path;
use std::process::Command;

use crate::support::TestRepo;

/// Runs driftsync in `dir`; returns (stdout, stderr, exit code).
pub fn driftsync(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_driftsync"))
        .args(args)
        .arg("--color=never")
        .current_dir(dir)
        .env_remove("DRIFTSYNC_REPO")
        .env_remove("DRIFTSYNC_CONFIG")
        .env_remove("GITHUB_TOKEN")
        .env("DRIFTSYNC_CACHE_DIR", dir.join(".git/driftsync-test-cache"))
        .output()
        .expect("driftsync runs");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

/// The example infra repo with two commits: `examples/infra`, then
/// `examples/infra-next` on top.
pub fn example_repo() -> TestRepo {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let r = TestRepo::new();
    r.copy_from(&root.join("infra"));
    r.commit("initial stacks");
    r.copy_from(&root.join("infra-next"));
    r.commit("web tier on 8443; longer visibility timeout");
    r
}

/// Snapshots with commit SHAs replaced.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![
            (r"\b[0-9a-f]{40}\b", "[SHA]"),
            (r"\b[0-9a-f]{12}\b", "[SHORT]"),
        ]}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

#[test]
fn validate_on_the_example_repo_is_clean() {
    let r = example_repo();
    let (out, err, code) = driftsync(r.path(), &["validate"]);
    assert_eq!(code, 0, "{err}");
    snapshot!("validate_human", out);
    let (out, _, code) = driftsync(r.path(), &["validate", "--output", "json"]);
    assert_eq!(code, 0);
    snapshot!("validate_json", out);
}

#[test]
fn diff_between_the_two_example_commits_exits_2() {
    let r = example_repo();
    let (out, err, code) = driftsync(r.path(), &["diff", "--from", "HEAD~1"]);
    assert_eq!(code, 2, "{err}");
    snapshot!("diff_human", out);
    let (out, _, code) = driftsync(r.path(), &["diff", "--from", "HEAD~1", "-o", "json"]);
    assert_eq!(code, 2);
    snapshot!("diff_json", out);
}

#[test]
fn diff_of_a_revision_with_itself_exits_0() {
    let r = example_repo();
    let (out, err, code) = driftsync(r.path(), &["diff", "--from", "HEAD", "--to", "HEAD"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 of 3 stacks changed"), "{out}");
}

#[test]
fn diff_works_against_a_file_remote() {
    let r = example_repo();
    let elsewhere = tempfile::tempdir().unwrap();
    let url = r.file_url();
    let (out, err, code) = driftsync(
        elsewhere.path(),
        &["--repo", &url, "diff", "--from", "HEAD~1", "-o", "json"],
    );
    assert_eq!(code, 2, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["changed"], 2);
}

#[test]
fn schema_prints_the_committed_json_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _, code) = driftsync(dir.path(), &["schema"]);
    assert_eq!(code, 0);
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/driftsync.schema.json"),
    )
    .unwrap();
    assert_eq!(out, committed);
}

#[test]
fn stacks_added_to_and_removed_from_the_config_show_as_such() {
    let r = TestRepo::new();
    let cfg = |name: &str| {
        format!(
            "version: 1\ndefaults: {{region: us-east-1}}\nstacks:\n  - {{name: {name}, template: {name}.yaml}}\n"
        )
    };
    r.write("driftsync.yaml", &cfg("old"))
        .write("old.yaml", "Resources:\n  T: {Type: AWS::SNS::Topic}\n");
    r.commit("old");
    r.remove("old.yaml")
        .write("driftsync.yaml", &cfg("new"))
        .write("new.yaml", "Resources:\n  Q: {Type: AWS::SQS::Queue}\n");
    r.commit("new");
    let (out, err, code) = driftsync(r.path(), &["diff", "--from", "HEAD~1", "-o", "json"]);
    assert_eq!(code, 2, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let stacks: Vec<_> = v["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["name"].as_str().unwrap(),
                s["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(stacks, ["new ADDED", "old REMOVED"]);
    assert_eq!(v["stacks"][0]["resources"][0]["change"], "ADD");
    assert_eq!(v["stacks"][1]["resources"][0]["change"], "REMOVE");
}

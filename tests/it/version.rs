//! `driftsync --version`: the crate version and the commit it was built
//! from, as build.rs stamps it.

use std::path::Path;
use std::process::Command;

#[test]
fn version_names_the_crate_version_and_the_commit_it_was_built_from() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_driftsync"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // A checkout gives its HEAD; a source tarball has no commit to give.
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string());
    let commit = std::env::var("DRIFTSYNC_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .map(|c| c[..c.len().min(12)].to_string())
        .or(head)
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(
        text.trim(),
        format!("driftsync {} (commit {commit})", env!("CARGO_PKG_VERSION"))
    );
}

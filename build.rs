//! Stamps the binary with the git commit it was built from, for
//! `driftsync --version`. The commit comes from `DRIFTSYNC_GIT_COMMIT` when
//! set (a container build, whose context has no `.git`), else from `git`,
//! else it is `unknown` (a source tarball): a build never fails for want of it.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=DRIFTSYNC_GIT_COMMIT");
    // A fuzz build (scripts/fuzz, `--cfg fuzzing`) takes minutes to
    // recompile the library: no commit stamp, so a new commit does not
    // force it.
    if std::env::var_os("CARGO_CFG_FUZZING").is_some() {
        println!("cargo:rustc-env=DRIFTSYNC_GIT_COMMIT=unknown");
        return;
    }
    let from_env = std::env::var("DRIFTSYNC_GIT_COMMIT")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let commit = from_env.or_else(|| {
        // Only this crate's own repository counts, not one it was unpacked into.
        let top = git(&["rev-parse", "--show-toplevel"])?;
        let here = std::env::var("CARGO_MANIFEST_DIR").ok()?;
        if std::fs::canonicalize(top).ok()? != std::fs::canonicalize(here).ok()? {
            return None;
        }
        // Rebuild when HEAD moves: watch HEAD, the branch it points to and
        // packed-refs, wherever this checkout (or worktree) keeps them.
        for name in ["HEAD", "packed-refs"] {
            watch(git(&["rev-parse", "--git-path", name]));
        }
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(git(&["rev-parse", "--git-path", &branch]));
        }
        git(&["rev-parse", "--short=12", "HEAD"])
    });
    let commit = commit
        .filter(|c| c.len() <= 40 && c.chars().all(|c| c.is_ascii_hexdigit()))
        .map_or_else(|| "unknown".into(), |c| c[..c.len().min(12)].to_string());
    println!("cargo:rustc-env=DRIFTSYNC_GIT_COMMIT={commit}");
}

/// Reruns the build script when `path` changes; a path that does not exist
/// is not watched (cargo would rerun the script on every build).
fn watch(path: Option<String>) {
    if let Some(p) = path.filter(|p| std::path::Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={p}");
    }
}

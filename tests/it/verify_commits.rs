//! `--verify-commits`: `sync --apply` acts only on a revision whose commit
//! is signed by a trusted key, checked with commits really signed by
//! `ssh-keygen` and `gpg` through git.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::check::{driftsync_as, scenario_with};
use crate::support::emulator::emulator;

fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &Path)]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An SSH key pair in `dir`: (private key path, public key line).
fn ssh_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    run(
        dir,
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            name,
            "-f",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_string())
}

/// Adds an empty commit to `repo`, signed with SSH `key`; returns its SHA.
fn ssh_signed_commit(repo: &Path, key: &Path) -> String {
    let key = key.to_str().unwrap();
    run(
        repo,
        "git",
        &[
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("user.signingkey={key}"),
            "-c",
            "user.name=Alice",
            "-c",
            "user.email=alice@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-S",
            "-m",
            "signed",
        ],
        &[],
    );
    run(repo, "git", &["rev-parse", "HEAD"], &[])
        .trim()
        .to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn sync_apply_acts_only_on_a_revision_signed_by_a_trusted_ssh_key() {
    let s = scenario_with(None);
    let dir = s.repo.path();
    let keys = tempfile::tempdir().unwrap();
    let (alice, alice_pub) = ssh_key(keys.path(), "alice");
    let (mallory, _) = ssh_key(keys.path(), "mallory");
    let trusted = write(
        keys.path(),
        "allowed_signers",
        &format!("alice@example.com {alice_pub}\n"),
    );
    let trusted = trusted.to_str().unwrap();
    let sync = |extra: &[&str]| {
        let mut args = vec![
            "sync",
            "--stack",
            "web-sg",
            "--apply",
            "--verify-commits",
            trusted,
        ];
        args.extend(extra);
        driftsync_as(&s.account, dir, &args)
    };
    let open_rules = || {
        let v = emulator().boto3(
            &s.account,
            "ec2",
            "describe_security_groups",
            serde_json::json!({"GroupIds": [s.group_id]}),
        );
        v["SecurityGroups"][0]["IpPermissions"]
            .as_array()
            .unwrap()
            .len()
    };

    // Unsigned: refused before anything is read from AWS; plan says so and goes on.
    let (out, err, code) = sync(&[]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("is not signed"), "{err}");
    assert!(
        err.contains("refusing to act on an unverified revision"),
        "{err}"
    );
    assert_eq!(open_rules(), 2, "nothing was reverted");
    let (out, err, code) = driftsync_as(
        &s.account,
        dir,
        &["plan", "--stack", "web-sg", "--verify-commits", trusted],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("sync --apply would refuse this revision"),
        "{err}"
    );

    // Signed by a key that is not trusted.
    let sha = ssh_signed_commit(dir, &mallory);
    let (_, err, code) = sync(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("commit {sha} is signed by ssh key SHA256:")),
        "{err}"
    );
    assert!(err.contains("not among the trusted keys"), "{err}");

    // Trusted, but the key's validity ended.
    ssh_signed_commit(dir, &alice);
    let expired = write(
        keys.path(),
        "expired_signers",
        &format!("alice@example.com valid-before=\"20200101\" {alice_pub}\n"),
    );
    let (_, err, code) = driftsync_as(
        &s.account,
        dir,
        &[
            "sync",
            "--apply",
            "--verify-commits",
            expired.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("alice@example.com (ssh key SHA256:"), "{err}");
    assert!(err.contains("valid-before"), "{err}");

    // Trusted and valid: the revert runs.
    let (out, err, code) = sync(&["-v"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("signed by a trusted key"), "{err}");
    assert_eq!(open_rules(), 1, "the SSH rule was reverted");
}

#[test]
fn a_tampered_signed_commit_and_a_bad_key_file_are_refused_with_the_reason() {
    let repo = crate::support::TestRepo::new();
    repo.write("driftsync.yaml", "version: 1\nstacks: []\n");
    repo.commit("init");
    let dir = repo.path();
    let keys = tempfile::tempdir().unwrap();
    let (alice, alice_pub) = ssh_key(keys.path(), "alice");
    let trusted = write(
        keys.path(),
        "allowed_signers",
        &format!("alice@example.com {alice_pub}\n"),
    );
    ssh_signed_commit(dir, &alice);
    // The same signature on a different message: what an attacker with
    // push access but no key could make.
    let raw = run(dir, "git", &["cat-file", "commit", "HEAD"], &[]);
    let forged = write(
        keys.path(),
        "forged",
        &raw.replace("\n\nsigned\n", "\n\nsigned, honestly\n"),
    );
    let sha = run(
        dir,
        "git",
        &[
            "hash-object",
            "-t",
            "commit",
            "-w",
            forged.to_str().unwrap(),
        ],
        &[],
    );
    run(dir, "git", &["update-ref", "HEAD", sha.trim()], &[]);
    let (out, err, code) = crate::cli::driftsync(
        dir,
        &[
            "sync",
            "--apply",
            "--verify-commits",
            trusted.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "commit {}: the signature by alice@example.com",
            sha.trim()
        )),
        "{err}"
    );
    assert!(err.contains("does not match the commit"), "{err}");

    let bad = write(
        keys.path(),
        "bad_signers",
        "\nalice@example.com ssh-ed25519 not-base64\n",
    );
    let (_, err, code) = crate::cli::driftsync(
        dir,
        &["sync", "--apply", "--verify-commits", bad.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{}:2:1: not an SSH public key", bad.display())),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// A gpg home with one ed25519 signing key for `uid`, created (and valid
/// for a day from) `at`, e.g. `20200101T000000`, or now.
fn gpg_key(home: &Path, uid: &str, at: Option<&str>) -> String {
    let mut args = vec![
        "--batch",
        "--quiet",
        "--passphrase",
        "",
        "--pinentry-mode",
        "loopback",
    ];
    if let Some(at) = at {
        args.extend(["--faked-system-time", at]);
    }
    args.extend(["--quick-gen-key", uid, "ed25519", "sign", "1d"]);
    run(home, "gpg", &args, &[("GNUPGHOME", home)]);
    run(
        home,
        "gpg",
        &["--armor", "--export", uid],
        &[("GNUPGHOME", home)],
    )
}

/// Adds an empty commit signed by `email`'s key in gpg `home`, made at `at`.
fn gpg_signed_commit(repo: &Path, home: &Path, email: &str, at: Option<&str>) -> String {
    let program = home.join("gpg-at");
    let faked = at
        .map(|t| format!(" --faked-system-time {t}"))
        .unwrap_or_default();
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\nexec gpg --batch --pinentry-mode loopback --passphrase ''{faked} \"$@\"\n"
        ),
    )
    .unwrap();
    run(home, "chmod", &["+x", program.to_str().unwrap()], &[]);
    run(
        repo,
        "git",
        &[
            "-c",
            &format!("gpg.program={}", program.display()),
            "-c",
            "user.name=Signer",
            "-c",
            &format!("user.signingkey={email}"),
            "commit",
            "-q",
            "--allow-empty",
            "-S",
            "-m",
            "gpg-signed",
        ],
        &[("GNUPGHOME", home)],
    );
    run(repo, "git", &["rev-parse", "HEAD"], &[])
        .trim()
        .to_string()
}

#[test]
fn openpgp_signatures_are_verified_against_an_armored_keyring_and_expired_keys_refused() {
    let repo = crate::support::TestRepo::new();
    repo.write("driftsync.yaml", "version: 1\nstacks: []\n");
    repo.commit("init");
    let dir = repo.path();
    let home = tempfile::tempdir().unwrap();
    let armored = gpg_key(home.path(), "Bob <bob@example.com>", None);
    let keyring = write(home.path(), "trusted.asc", &armored);
    gpg_signed_commit(dir, home.path(), "bob@example.com", None);
    // Trusted: the run goes past verification (and ends with no stacks).
    let (out, err, code) = crate::cli::driftsync(
        dir,
        &["check", "-v", "--verify-commits", keyring.to_str().unwrap()],
    );
    assert!(err.contains("signed by a trusted key"), "{out}\n{err}");
    assert!(err.contains("Bob <bob@example.com> (openpgp key"), "{err}");
    assert_eq!(code, 0, "no stacks, nothing to check: {out}\n{err}");

    // A key that expired: made and used in 2020, valid for a day.
    let old = tempfile::tempdir().unwrap();
    let armored = gpg_key(old.path(), "Old <old@example.com>", Some("20200101T000000"));
    let keyring = write(old.path(), "trusted.asc", &armored);
    let sha = gpg_signed_commit(dir, old.path(), "old@example.com", Some("20200101T010000"));
    let (_, err, code) = crate::cli::driftsync(
        dir,
        &[
            "sync",
            "--apply",
            "--verify-commits",
            keyring.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("commit {sha} is signed by Old <old@example.com>")),
        "{err}"
    );
    assert!(err.contains("expired at 2020-01-02T00:00:00Z"), "{err}");
}

#[test]
fn since_applied_mode_refuses_an_unsigned_commit_hidden_under_a_signed_tip() {
    let s = scenario_with(None);
    let dir = s.repo.path();
    let keys = tempfile::tempdir().unwrap();
    let (alice, alice_pub) = ssh_key(keys.path(), "alice");
    let trusted = write(
        keys.path(),
        "allowed_signers",
        &format!("alice@example.com {alice_pub}\n"),
    );
    let trusted = trusted.to_str().unwrap();
    let sync = |mode: &str| {
        driftsync_as(
            &s.account,
            dir,
            &[
                "sync",
                "--stack",
                "web-sg",
                "--apply",
                "--verify-commits",
                trusted,
                "--verify-mode",
                mode,
            ],
        )
    };

    // Nothing applied yet: the signed tip is all there is to verify; the
    // revert is applied at it.
    let applied = ssh_signed_commit(dir, &alice);
    let (out, err, code) = sync("since-applied");
    assert_eq!(code, 2, "{out}\n{err}");

    // An unsigned commit, then a signed one on top.
    run(
        dir,
        "git",
        &[
            "-c",
            "user.name=Eve",
            "-c",
            "user.email=eve@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "sneaky",
        ],
        &[],
    );
    let sneaky = run(dir, "git", &["rev-parse", "HEAD"], &[])
        .trim()
        .to_string();
    ssh_signed_commit(dir, &alice);
    let (out, err, code) = sync("since-applied");
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!("commit {sneaky} is not signed")),
        "{err}"
    );
    let (out, err, code) = sync("tip");
    assert!(
        code == 0 || code == 2,
        "the tip alone is signed:\n{out}\n{err}"
    );

    // History rewritten past the applied revision: nothing in between can be vouched for.
    run(
        dir,
        "git",
        &["reset", "-q", "--hard", &format!("{applied}~1")],
        &[],
    );
    ssh_signed_commit(dir, &alice);
    let (out, err, code) = sync("since-applied");
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!("the last applied revision {}", &applied[..12])),
        "{err}"
    );
    assert!(err.contains("not an ancestor"), "{err}");
}

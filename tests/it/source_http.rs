//! The git source against a real smart-HTTP remote with token auth
//! (`scripts/git-http-server`: Python around `git http-backend`), over https
//! and plain http.
//!
//! libgit2 takes the certificate it trusts from `SSL_CERT_FILE` in the
//! process environment, which the threads of this binary share, so the
//! https cases run the `driftsync` binary with that variable set for it
//! alone. Plain-http cases call `Source::open` in process.

use std::path::Path;
use std::process::Command;

use driftsync::source::{Credentials, Secret, Source, SourceError, SourceOptions};

use crate::support::TestRepo;
use crate::support::git_http::GitHttpServer;

/// The server's one accepted password, shaped like a GitHub token.
const TOKEN: &str = "ghp_HttpTestToken0a1b2c3d4e5f6g7h8i9j";
/// A token the server refuses.
const WRONG: &str = "ghp_WrongToken9z8y7x6w5v4u3t2s1r0q";

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The example infra repository at its first commit.
fn infra_repo() -> (TestRepo, String) {
    let r = TestRepo::new();
    r.copy_from(&examples().join("infra"));
    let sha = r.commit("initial stacks");
    (r, sha)
}

/// Adds the example's second commit on top.
fn next_commit(r: &TestRepo) -> String {
    r.copy_from(&examples().join("infra-next"));
    r.commit("web tier on 8443; longer visibility timeout")
}

fn opts(cache: &Path, token: Option<&str>) -> SourceOptions {
    SourceOptions {
        cache_dir: Some(cache.to_path_buf()),
        credentials: Credentials {
            token: token.map(Secret::new),
            username: None,
            ssh_key: None,
        },
        branch: None,
    }
}

/// Runs the driftsync binary in `home` (also its cache and `HOME`, so no
/// credential helper of the developer's answers), with `token` as
/// `DRIFTSYNC_GIT_TOKEN` and, if `trust` is given, that certificate as
/// `SSL_CERT_FILE`. Returns (stdout, stderr, exit code).
fn driftsync(
    home: &Path,
    token: Option<&str>,
    trust: Option<&Path>,
    args: &[&str],
) -> (String, String, i32) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_driftsync"));
    cmd.args(args)
        .arg("--color=never")
        .current_dir(home)
        .env_remove("DRIFTSYNC_REPO")
        .env_remove("DRIFTSYNC_CONFIG")
        .env_remove("DRIFTSYNC_BRANCH")
        .env_remove("DRIFTSYNC_GIT_TOKEN")
        .env_remove("DRIFTSYNC_GIT_USERNAME")
        .env_remove("DRIFTSYNC_SSH_KEY")
        .env_remove("GITHUB_TOKEN")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env_remove("DRIFTSYNC_LOG")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("DRIFTSYNC_CACHE_DIR", home.join("cache"));
    if let Some(token) = token {
        cmd.env("DRIFTSYNC_GIT_TOKEN", token);
    }
    if let Some(cert) = trust {
        cmd.env("SSL_CERT_FILE", cert);
    }
    let out = cmd.output().expect("driftsync runs");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn assert_no_secret<S: AsRef<str>>(texts: &[S]) {
    for text in texts.iter().map(AsRef::as_ref) {
        for secret in [TOKEN, WRONG] {
            assert!(!text.contains(secret), "a token leaked: {text}");
        }
    }
}

#[test]
fn cloning_and_fetching_over_https_with_a_token_reads_the_revisions_files() {
    let server = GitHttpServer::start(TOKEN, true);
    let cert = server
        .cert_path()
        .expect("an https server has a certificate");
    let (repo, first) = infra_repo();
    assert_eq!(server.publish(&repo, "infra"), first);
    let url = server.url("infra");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let home = tempfile::tempdir().unwrap();

    let (out, err, code) = driftsync(
        home.path(),
        Some(TOKEN),
        Some(cert.as_path()),
        &["--repo", &url, "validate", "-o", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(v["revision"], first.as_str());
    assert_eq!(v["valid"].as_bool(), Some(true), "{out}");
    assert_eq!(v["stacks"].as_array().unwrap().len(), 3, "{out}");
    assert_no_secret(&[&out, &err]);
    // The objects came over https with the token, sent as GitHub expects it.
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("allowed POST /infra.git/git-upload-pack")),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.starts_with("allowed "))
            .all(|r| r.ends_with(" user=x-access-token")),
        "{requests:#?}"
    );

    // A new push is seen by the next run, which fetches into the same cache.
    let second = next_commit(&repo);
    server.publish(&repo, "infra");
    let (out, err, code) = driftsync(
        home.path(),
        Some(TOKEN),
        Some(cert.as_path()),
        &["--repo", &url, "validate", "-o", "json"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["revision"], second.as_str());
    let (out, err, code) = driftsync(
        home.path(),
        Some(TOKEN),
        Some(cert.as_path()),
        &["--repo", &url, "diff", "--from", "HEAD~1", "-o", "json"],
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(json(&out)["summary"]["changed"], 2, "{out}");
    assert_no_secret(&[&out, &err]);
}

#[test]
fn an_untrusted_https_certificate_is_refused_before_any_request() {
    let server = GitHttpServer::start(TOKEN, true);
    let (repo, _) = infra_repo();
    server.publish(&repo, "infra");
    let before = server.requests().len();
    let home = tempfile::tempdir().unwrap();
    // No SSL_CERT_FILE: the self-signed certificate is not trusted.
    let (out, err, code) = driftsync(
        home.path(),
        Some(TOKEN),
        None,
        &["--repo", &server.url("infra"), "validate"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&server.url("infra")), "{err}");
    assert!(!err.contains("authentication"), "{err}");
    assert_no_secret(&[&out, &err]);
    let requests = server.requests();
    assert!(requests[before..].is_empty(), "{:#?}", &requests[before..]);
}

#[test]
fn a_wrong_or_missing_token_fails_with_auth_failed_promptly_and_never_shows_the_token() {
    let server = GitHttpServer::start(TOKEN, false);
    let (repo, _) = infra_repo();
    server.publish(&repo, "infra");
    let url = server.url("infra");
    for (label, token) in [("wrong", Some(WRONG)), ("missing", None)] {
        let before = server.requests().len();
        let cache = tempfile::tempdir().unwrap();
        let err = Source::open(&url, &opts(cache.path(), token))
            .err()
            .unwrap_or_else(|| panic!("{label} token: opened anyway"));
        let asked = server.requests()[before..].to_vec();
        let (shown, debug) = (err.to_string(), format!("{err:?}"));
        assert!(
            matches!(err, SourceError::AuthFailed { .. }),
            "{label} token: {shown} ({debug})"
        );
        assert!(shown.contains(&url), "{label} token: {shown}");
        assert_no_secret(&[&shown, &debug]);
        // The server was asked, refused every time, and was not asked again
        // and again: one request without credentials and a few with them
        // (libgit2 alone would replay up to 15 times).
        assert!(
            !asked.is_empty(),
            "{label} token: the server was never asked"
        );
        assert!(
            asked.iter().all(|r| r.starts_with("denied ")),
            "{label} token: {asked:#?}"
        );
        assert!(
            asked.len() <= 5,
            "{label} token: {} requests: {asked:#?}",
            asked.len()
        );
    }

    // The same over https through the binary.
    let tls = GitHttpServer::start(TOKEN, true);
    tls.publish(&repo, "infra");
    let cert = tls.cert_path().unwrap();
    for (label, token) in [("wrong", Some(WRONG)), ("missing", None)] {
        let home = tempfile::tempdir().unwrap();
        let before = tls.requests().len();
        let (out, err, code) = driftsync(
            home.path(),
            token,
            Some(cert.as_path()),
            &["--repo", &tls.url("infra"), "validate"],
        );
        assert_eq!(code, 1, "{label} token: {out}{err}");
        assert!(
            err.contains(&format!("authentication to {} failed", tls.url("infra"))),
            "{label} token: {err}"
        );
        assert_no_secret(&[&out, &err]);
        let requests = tls.requests();
        let asked = &requests[before..];
        assert!(
            !asked.is_empty() && asked.len() <= 5,
            "{label} token: {asked:#?}"
        );
    }
}

#[test]
fn a_token_inside_the_url_works_and_is_redacted_from_every_message() {
    let server = GitHttpServer::start(TOKEN, false);
    let (repo, first) = infra_repo();
    server.publish(&repo, "infra");
    let redacted = format!(
        "http://x-access-token@127.0.0.1:{}/infra.git",
        server.port()
    );

    // No token in the options: only the one in the URL.
    let cache = tempfile::tempdir().unwrap();
    let url = server.url_with_credentials("infra", "x-access-token", TOKEN);
    let src = Source::open(&url, &opts(cache.path(), None)).unwrap();
    let rev = src.resolve(None).unwrap();
    assert_eq!(rev.sha, first);
    assert_eq!(
        src.read_text(&rev, "driftsync.yaml").unwrap(),
        std::fs::read_to_string(examples().join("infra/driftsync.yaml")).unwrap()
    );
    assert_eq!(src.describe(), redacted);
    assert_no_secret(&[&src.describe(), &format!("{:?}", src.origin())]);
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("allowed ") && r.ends_with(" user=x-access-token")),
        "{requests:#?}"
    );

    // A wrong token in the URL is an authentication failure that names the
    // URL without it.
    let cache = tempfile::tempdir().unwrap();
    let bad = server.url_with_credentials("infra", "x-access-token", WRONG);
    let err = Source::open(&bad, &opts(cache.path(), None)).err().unwrap();
    let (shown, debug) = (err.to_string(), format!("{err:?}"));
    assert!(matches!(err, SourceError::AuthFailed { .. }), "{shown}");
    assert!(shown.contains(&redacted), "{shown}");
    assert_no_secret(&[&shown, &debug]);

    // Over https through the binary, with debug logging on: neither the
    // report, nor the logs, nor the error shows the token.
    let tls = GitHttpServer::start(TOKEN, true);
    tls.publish(&repo, "infra");
    let cert = tls.cert_path().unwrap();
    let home = tempfile::tempdir().unwrap();
    let url = tls.url_with_credentials("infra", "x-access-token", TOKEN);
    let (out, err, code) = driftsync(
        home.path(),
        None,
        Some(cert.as_path()),
        &["-vv", "--repo", &url, "validate", "-o", "json"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["revision"], first.as_str());
    assert_no_secret(&[&out, &err]);
    let bad = tls.url_with_credentials("infra", "x-access-token", WRONG);
    let (out, err, code) = driftsync(
        home.path(),
        None,
        Some(cert.as_path()),
        &["-vv", "--repo", &bad, "validate"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "authentication to https://x-access-token@127.0.0.1:{}/infra.git failed",
            tls.port()
        )),
        "{err}"
    );
    assert_no_secret(&[&out, &err]);
}

#[test]
fn a_password_in_the_url_never_shows_in_the_error_for_a_revision_that_does_not_exist() {
    let server = GitHttpServer::start(TOKEN, false);
    let (repo, _) = infra_repo();
    server.publish(&repo, "infra");
    let home = tempfile::tempdir().unwrap();
    let url = server.url_with_credentials("infra", "alice", TOKEN);
    for command in [
        &["validate"][..],
        &["check"],
        &["plan"],
        &["sync"],
        &["diff", "--from", "HEAD"],
        &["codify", "--stack", "web-sg"],
    ] {
        let mut args = vec!["-vv", "--repo", &url, "--rev", "no-such-rev"];
        args.extend_from_slice(command);
        let (out, err, code) = driftsync(home.path(), None, None, &args);
        assert_eq!(code, 1, "{command:?}: {out}{err}");
        assert!(
            err.contains("unknown revision \"no-such-rev\""),
            "{command:?}: {err}"
        );
        assert!(
            err.contains(&format!(
                "http://alice@127.0.0.1:{}/infra.git",
                server.port()
            )),
            "{command:?}: {err}"
        );
        assert_no_secret(&[&out, &err]);
    }
}

#[test]
fn plain_http_to_loopback_works_the_same() {
    let server = GitHttpServer::start(TOKEN, false);
    let (repo, first) = infra_repo();
    server.publish(&repo, "infra");
    let url = server.url("infra");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let cache = tempfile::tempdir().unwrap();

    let src = Source::open(&url, &opts(cache.path(), Some(TOKEN))).unwrap();
    let rev = src.resolve(None).unwrap();
    assert_eq!(rev.sha, first);
    let web_sg = |dir: &str| {
        std::fs::read_to_string(examples().join(dir).join("stacks/web-sg.yaml")).unwrap()
    };
    assert_eq!(
        src.read_text(&rev, "stacks/web-sg.yaml").unwrap(),
        web_sg("infra")
    );

    // A new push is seen by the next open (a fetch into the same cache).
    let second = next_commit(&repo);
    server.publish(&repo, "infra");
    let src = Source::open(&url, &opts(cache.path(), Some(TOKEN))).unwrap();
    let rev = src.resolve(None).unwrap();
    assert_eq!(rev.sha, second);
    assert_eq!(
        src.read_text(&rev, "stacks/web-sg.yaml").unwrap(),
        web_sg("infra-next")
    );
    assert_eq!(src.resolve(Some("main")).unwrap().sha, second);
    let old = src.resolve(Some(first.as_str())).unwrap();
    assert_eq!(
        src.read_text(&old, "stacks/web-sg.yaml").unwrap(),
        web_sg("infra")
    );

    // The binary takes http to loopback as well.
    let home = tempfile::tempdir().unwrap();
    let (out, err, code) = driftsync(
        home.path(),
        Some(TOKEN),
        None,
        &["--repo", &url, "validate", "-o", "json"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["revision"], second.as_str());
    assert_no_secret(&[&out, &err]);
}

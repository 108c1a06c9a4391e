//! A real git smart-HTTP remote from Rust tests: `scripts/git-http-server`
//! (Python around `git http-backend`, HTTP Basic auth whose password is a
//! token), one per test that asks for one. It serves bare repositories under
//! its own temporary root as `/NAME.git`, and stops when dropped (its stdin
//! closes) or when the test binary exits.
//!
//! Needs python3, git and (for TLS) openssl; nothing runs as root.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::TestRepo;

pub struct GitHttpServer {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    base: String,
    /// The self-signed certificate (PEM) when serving HTTPS.
    cert: Option<PathBuf>,
    token: String,
    /// Holds `repos/` (the served root) and `requests.log`.
    dir: tempfile::TempDir,
    child: Child,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl GitHttpServer {
    /// Starts a server whose only accepted password is `token` (with any
    /// user name), over HTTPS with a fresh self-signed certificate if `tls`.
    ///
    /// # Panics
    /// When the server does not start.
    pub fn start(token: &str, tls: bool) -> GitHttpServer {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("repos")).unwrap();
        let logs = root().join("target/git-http-logs");
        std::fs::create_dir_all(&logs).unwrap();
        let log_path = logs.join(format!(
            "git-http-{}-{}.log",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::SeqCst)
        ));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut cmd = Command::new(root().join("scripts/git-http-server"));
        cmd.arg("--root")
            .arg(dir.path().join("repos"))
            .arg("--request-log")
            .arg(dir.path().join("requests.log"))
            .args(["--port", "0"])
            // In the environment rather than argv, so `ps` never shows it.
            .env("GIT_HTTP_SERVER_TOKEN", token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        if tls {
            cmd.arg("--tls");
        }
        let mut child = cmd
            .spawn()
            .expect("scripts/git-http-server starts (it needs python3 and git)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut words = line.split_whitespace();
        let (Some("ready"), Some(base)) = (words.next(), words.next()) else {
            let _ = child.wait();
            panic!(
                "git-http-server did not become ready (got {line:?}); {}:\n{}",
                log_path.display(),
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        };
        let cert = words
            .find_map(|w| w.strip_prefix("cert="))
            .map(PathBuf::from);
        assert_eq!(tls, cert.is_some(), "ready line: {line:?}");
        GitHttpServer {
            base: base.to_string(),
            cert,
            token: token.to_string(),
            dir,
            child,
        }
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The URL of the repository `name` (served from `NAME.git`), without
    /// credentials.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}.git", self.base)
    }

    /// The URL with `user:password@` in it.
    pub fn url_with_credentials(&self, name: &str, user: &str, password: &str) -> String {
        let (scheme, rest) = self.base.split_once("://").unwrap();
        format!("{scheme}://{user}:{password}@{rest}/{name}.git")
    }

    /// The server's self-signed certificate (PEM), when serving HTTPS: what
    /// `SSL_CERT_FILE` (libgit2) or `GIT_SSL_CAINFO` (git) must name.
    pub fn cert_path(&self) -> Option<PathBuf> {
        self.cert.clone()
    }

    /// The directory of bare repositories being served.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("repos")
    }

    /// One line per request the server has answered so far, in order:
    /// `allowed METHOD /NAME.git/PATH[?QUERY] user=NAME` or
    /// `denied METHOD /NAME.git/PATH[?QUERY]`. Written before each response
    /// is sent, so a request a client has seen answered is always here.
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// Pushes every branch and tag of `repo` to the server as `name`
    /// (creating the bare repository, with `main` as its HEAD, on first use).
    /// The push goes over HTTP(S) with libgit2, with the token, exactly as a
    /// client would (libgit2 sends pushes with chunked transfer encoding).
    /// Returns the SHA of `repo`'s HEAD.
    ///
    /// # Panics
    /// When the push fails or the server rejects a ref.
    pub fn publish(&self, repo: &TestRepo, name: &str) -> String {
        let bare = self.root().join(format!("{name}.git"));
        if !bare.exists() {
            git2::Repository::init_opts(
                &bare,
                git2::RepositoryInitOptions::new()
                    .bare(true)
                    .initial_head("main"),
            )
            .unwrap();
        }
        let refspecs: Vec<String> = repo
            .repo
            .references()
            .unwrap()
            .filter_map(|r| r.ok().and_then(|r| r.name().ok().map(String::from)))
            .filter(|n| n.starts_with("refs/heads/") || n.starts_with("refs/tags/"))
            .map(|n| format!("+{n}:{n}"))
            .collect();
        assert!(!refspecs.is_empty(), "nothing to publish: commit first");

        let token = self.token.clone();
        let der = self
            .cert
            .as_ref()
            .map(|pem| std::fs::read(pem.with_extension("der")).unwrap());
        let mut callbacks = git2::RemoteCallbacks::new();
        callbacks.credentials(move |_url, user, _allowed| {
            git2::Cred::userpass_plaintext(user.unwrap_or("x-access-token"), &token)
        });
        // Trust exactly this server's certificate, without touching the
        // process environment (SSL_CERT_FILE) that other tests share.
        callbacks.certificate_check(move |cert, _host| {
            let presented = cert.as_x509().map(|c| c.data());
            match &der {
                Some(der) if presented == Some(der.as_slice()) => {
                    Ok(git2::CertificateCheckStatus::CertificateOk)
                }
                _ => Err(git2::Error::from_str("not the test server's certificate")),
            }
        });
        callbacks.push_update_reference(|refname, status| match status {
            Some(why) => Err(git2::Error::from_str(&format!(
                "the server rejected {refname}: {why}"
            ))),
            None => Ok(()),
        });
        let mut options = git2::PushOptions::new();
        options.remote_callbacks(callbacks);
        let mut remote = repo.repo.remote_anonymous(&self.url(name)).unwrap();
        remote
            .push(&refspecs, Some(&mut options))
            .unwrap_or_else(|e| panic!("publishing {name} to {}: {e}", self.base));
        repo.repo
            .head()
            .unwrap()
            .peel_to_commit()
            .unwrap()
            .id()
            .to_string()
    }
}

impl Drop for GitHttpServer {
    /// Closes the server's stdin, which stops it (and lighttpd), and waits.
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

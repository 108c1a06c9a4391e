//! The codify pull request's lifecycle against the stateful GitHub fake:
//! open once, no duplicates, update and comment on change, close when the
//! drift is gone; GitHub Enterprise's base path; App authentication; and
//! errors that name the operation but never the token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use driftsync::github::{Auth, GithubClient, GithubError, PrOutcome, PullRequestSpec};
use octocrab::secrecy::{ExposeSecret, SecretString};

use crate::support::github_fake::{GithubFake, INSTALLATION_TOKEN};

pub const TOKEN: &str = "ghp_faketoken0123456789abcdefSECRET";
pub const HEAD: &str = "driftsync/codify/web-sg-1a2b3c";

pub fn spec(body: &str) -> PullRequestSpec {
    let mut spec = PullRequestSpec::new(HEAD, "main", "driftsync: codify drift in web-sg", body);
    spec.labels = vec!["drift".into(), "codify".into()];
    spec.reviewers = vec!["alice".into(), "acme/platform".into()];
    spec.assignees = vec!["bob".into()];
    spec
}

pub async fn token_client(fake: &GithubFake) -> GithubClient {
    GithubClient::connect(
        &fake.api_url(),
        "acme/infra".parse().unwrap(),
        Auth::Token(SecretString::from(TOKEN)),
    )
    .await
    .unwrap()
}

/// The whole lifecycle; also what `github_prism` replays.
pub async fn lifecycle(fake: &GithubFake) {
    let client = token_client(fake).await;
    let first = client.sync_pull_request(&spec("drift v1")).await.unwrap();
    let PrOutcome::Opened { number, url } = &first else {
        panic!("{first:?}")
    };
    assert_eq!(
        url,
        &format!("https://github.example/acme/infra/pull/{number}")
    );
    let pr = fake.pull(*number);
    assert!(pr.open && pr.head == HEAD && pr.base == "main");
    assert!(
        pr.body
            .starts_with("drift v1\n\n<!-- driftsync:body-sha256="),
        "{}",
        pr.body
    );
    assert_eq!(pr.labels, ["drift", "codify"]);
    assert_eq!(pr.assignees, ["bob"]);
    assert_eq!(
        (pr.reviewers, pr.team_reviewers),
        (vec!["alice".to_string()], vec!["platform".to_string()])
    );

    // Same drift again: nothing is written.
    let before = fake.request_lines().await.len();
    let again = client.sync_pull_request(&spec("drift v1")).await.unwrap();
    assert!(
        matches!(again, PrOutcome::Unchanged { number: n, .. } if n == *number),
        "{again:?}"
    );
    let sent = fake.request_lines().await;
    assert_eq!(sent.len(), before + 1, "{:?}", &sent[before..]);
    assert!(sent[before].starts_with("GET "), "{}", sent[before]);

    // The drift changed: the body is updated, once, with a comment.
    let changed = client.sync_pull_request(&spec("drift v2")).await.unwrap();
    assert!(
        matches!(
            changed,
            PrOutcome::Updated {
                commented: true,
                ..
            }
        ),
        "{changed:?}"
    );
    let pr = fake.pull(*number);
    assert!(pr.body.starts_with("drift v2\n"), "{}", pr.body);
    assert_eq!(pr.comments.len(), 1);
    assert!(pr.comments[0].contains("has changed"), "{:?}", pr.comments);
    assert_eq!(pr.labels, ["drift", "codify"], "labels are not re-applied");

    // Only the title changed: updated without a comment.
    let mut retitled = spec("drift v2");
    retitled.title = "driftsync: codify 2 drifts in web-sg".into();
    let outcome = client.sync_pull_request(&retitled).await.unwrap();
    assert!(
        matches!(
            outcome,
            PrOutcome::Updated {
                commented: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(fake.pull(*number).title, retitled.title);
    assert_eq!(fake.pull(*number).comments.len(), 1);

    // A stack's open codify heads are found by prefix (not another stack's).
    assert_eq!(
        client
            .open_heads_with_prefix("driftsync/codify/")
            .await
            .unwrap(),
        [HEAD]
    );
    assert!(
        client
            .open_heads_with_prefix("driftsync/codify/other-stack-")
            .await
            .unwrap()
            .is_empty()
    );

    // The drift is gone: comment, then close; then there is nothing left.
    let closed = client
        .close_pull_request(HEAD, "The drift was reverted in the console.")
        .await
        .unwrap();
    assert!(
        matches!(closed, PrOutcome::Closed { number: n, .. } if n == *number),
        "{closed:?}"
    );
    let pr = fake.pull(*number);
    assert!(!pr.open);
    assert_eq!(
        pr.comments.last().unwrap(),
        "The drift was reverted in the console."
    );
    let nothing = client.close_pull_request(HEAD, "again").await.unwrap();
    assert_eq!(nothing, PrOutcome::NothingToClose);
    assert_eq!(fake.pulls().len(), 1, "never a duplicate");
}

#[tokio::test]
async fn a_pull_request_is_opened_once_updated_on_change_and_closed_when_the_drift_is_gone() {
    let fake = GithubFake::start("", TOKEN).await;
    lifecycle(&fake).await;
}

#[tokio::test]
async fn github_enterprise_server_keeps_its_api_v3_base_path() {
    let fake = GithubFake::start("/api/v3", TOKEN).await;
    lifecycle(&fake).await;
    let lines = fake.request_lines().await;
    assert!(!lines.is_empty());
    for line in lines {
        assert!(
            line.split(' ')
                .nth(1)
                .unwrap()
                .starts_with("/api/v3/repos/acme/infra/"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn a_person_editing_the_description_is_not_overwritten_while_the_drift_is_the_same() {
    let fake = GithubFake::start("", TOKEN).await;
    let client = token_client(&fake).await;
    client.sync_pull_request(&spec("drift v1")).await.unwrap();
    fake.edit(1, |p| {
        p.body = p.body.replace("drift v1", "drift v1\n\nSee INC-42 (alice)")
    });
    let outcome = client.sync_pull_request(&spec("drift v1")).await.unwrap();
    assert!(
        matches!(outcome, PrOutcome::Unchanged { .. }),
        "{outcome:?}"
    );
    assert!(fake.pull(1).body.contains("INC-42"));
}

#[tokio::test]
async fn a_pull_request_opened_by_a_concurrent_run_is_updated_not_duplicated() {
    let fake = GithubFake::start("", TOKEN).await;
    let client = token_client(&fake).await;
    client.sync_pull_request(&spec("drift v1")).await.unwrap();
    // This run's lookup misses it (the other run had not opened it yet);
    // GitHub then refuses a second pull request on the same head.
    fake.hide_next_list();
    let outcome = client.sync_pull_request(&spec("drift v2")).await.unwrap();
    assert!(
        matches!(
            outcome,
            PrOutcome::Updated {
                number: 1,
                commented: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(fake.pulls().len(), 1);
    assert!(fake.pull(1).body.starts_with("drift v2"));
}

#[tokio::test]
async fn a_failed_review_request_says_the_pull_request_is_open_anyway() {
    let fake = GithubFake::start("", TOKEN).await;
    let client = token_client(&fake).await;
    fake.fail_next("POST", "/requested_reviewers", 422);
    let err = client
        .sync_pull_request(&spec("drift v1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GithubError::Decorate { number: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "pull request #1 is open (https://github.example/acme/infra/pull/1), but failed to \
         request reviews on pull request #1 in acme/infra: GitHub answered 422 Unprocessable Entity: Validation \
         Failed (Reviews may only be requested from collaborators.)"
    );
    assert!(!err.is_retryable());
    assert!(fake.pull(1).open);
}

/// Everything driftsync and octocrab log, at every level, from every test in
/// this binary. Global, because a thread-scoped subscriber misses events
/// whose callsites other test threads registered first.
fn capture_logs() -> Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let sink = captured.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "driftsync=trace,octocrab=trace",
            ))
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .init();
        captured
    })
    .clone()
}

/// A `tracing` writer that keeps what it is given.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_rejected_token_fails_with_the_operation_and_never_shows_the_token() {
    let captured = capture_logs();
    let fake = GithubFake::start("", "ghp_theonlyvalidtoken").await;
    let client = token_client(&fake).await;
    let err = client
        .sync_pull_request(&spec("drift v1"))
        .await
        .unwrap_err();
    let shown = format!("{err}\n{err:?}\n{client:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "failed to find the open pull request for {HEAD} in acme/infra: GitHub answered 401 Unauthorized: Bad credentials"
        )
    );
    assert_eq!(err.status(), Some(401));
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        !logs.is_empty(),
        "the client logged nothing, so this proves nothing"
    );
    for text in [&shown, &logs] {
        assert!(!text.contains("faketoken0123"), "the token leaked: {text}");
    }
}

#[tokio::test]
async fn github_app_authentication_uses_an_installation_token_scoped_to_the_repository() {
    let fake = GithubFake::start_app("/api/v3", 4242).await;
    let pem = rsa_private_key();
    let auth = Auth::App {
        app_id: 4242,
        private_key: SecretString::from(pem),
        installation_id: None,
    };
    let client = GithubClient::connect(&fake.api_url(), "acme/infra".parse().unwrap(), auth)
        .await
        .unwrap();
    let outcome = client.sync_pull_request(&spec("drift v1")).await.unwrap();
    assert!(
        matches!(outcome, PrOutcome::Opened { number: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(fake.token_scope(), Some(serde_json::json!(["infra"])));
    let token = client.git_token().await.unwrap();
    assert_eq!(token.expose_secret(), INSTALLATION_TOKEN);
    let shown = format!("{client:?}");
    assert!(
        !shown.contains(INSTALLATION_TOKEN) && !shown.contains("PRIVATE"),
        "{shown}"
    );
    let lines = fake.request_lines().await;
    assert_eq!(lines[0], "GET /api/v3/repos/acme/infra/installation");
    assert_eq!(lines[1], "POST /api/v3/app/installations/77/access_tokens");
}

#[tokio::test]
async fn a_token_client_hands_git_the_same_token() {
    let fake = GithubFake::start("", TOKEN).await;
    let token = token_client(&fake).await.git_token().await.unwrap();
    assert_eq!(token.expose_secret(), TOKEN);
}

#[tokio::test]
async fn an_unreadable_app_key_is_refused_before_any_request() {
    let fake = GithubFake::start_app("", 1).await;
    let auth = Auth::App {
        app_id: 1,
        private_key: SecretString::from(
            "-----BEGIN RSA PRIVATE KEY-----\nn0ts3cr3t\n-----END RSA PRIVATE KEY-----",
        ),
        installation_id: Some(77),
    };
    let err = GithubClient::connect(&fake.api_url(), "acme/infra".parse().unwrap(), auth)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("GITHUB_APP_PRIVATE_KEY is not an RSA private key"),
        "{err}"
    );
    assert!(!err.contains("n0ts3cr3t"), "{err}");
    assert!(fake.request_lines().await.is_empty());
}

/// A fresh RSA key in GitHub's PKCS#1 PEM form (openssl is installed by
/// scripts/test for the git test server).
pub fn rsa_private_key() -> String {
    let out = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "2048"])
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

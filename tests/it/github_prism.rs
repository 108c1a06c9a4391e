//! Every request the GitHub module makes is valid for the real GitHub API:
//! the lifecycle runs against the stateful fake, which records each request
//! (method, path, query, body), and each is replayed against Prism serving
//! GitHub's own OpenAPI description (`@octokit/openapi`), pruned to the
//! operations used. Prism answers an invalid request with 4xx and says why
//! in `sl-violations`; any of that fails the test.
//!
//! Prism comes from `tests/github-api` (`npm ci`, which scripts/test runs).
//! Without it the test is skipped locally, and fails in CI (`CI=true`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use driftsync::github::{Auth, GithubClient};
use octocrab::secrecy::SecretString;
use serde_json::{Value, json};

use crate::github::{lifecycle, rsa_private_key, spec};
use crate::support::github_fake::GithubFake;

/// One recorded request, relative to the API's base URL.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    query: Option<String>,
    body: Vec<u8>,
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_the_bot_makes_is_valid_for_the_github_openapi_description() {
    let Some(tools) = tools() else { return };
    let mut recorded = Vec::new();

    // A token, on GitHub Enterprise's base path: every pull request operation.
    let fake = GithubFake::start("/api/v3", crate::github::TOKEN).await;
    lifecycle(&fake).await;
    recorded.extend(record(&fake).await);

    // A GitHub App: the installation lookup and the installation token.
    let app = GithubFake::start_app("", 4242).await;
    let auth = Auth::App {
        app_id: 4242,
        private_key: SecretString::from(rsa_private_key()),
        installation_id: None,
    };
    let client = GithubClient::connect(&app.api_url(), "acme/infra".parse().unwrap(), auth)
        .await
        .unwrap();
    client.sync_pull_request(&spec("drift v1")).await.unwrap();
    recorded.extend(record(&app).await);

    let spec_doc: Value = serde_json::from_slice(
        &std::fs::read(&tools.spec).expect("the OpenAPI description is readable"),
    )
    .expect("the OpenAPI description is JSON");
    let (pruned, operations) = prune(&spec_doc, &recorded);
    let dir = tempfile::tempdir().unwrap();
    let pruned_path = dir.path().join("github.json");
    std::fs::write(&pruned_path, serde_json::to_vec(&pruned).unwrap()).unwrap();
    let prism = Prism::start(&tools, &pruned_path);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut failures = Vec::new();
    for r in &recorded {
        let (status, violations) = prism.send(&agent, r);
        if !(200..300).contains(&status) || violations.is_some() {
            failures.push(format!(
                "{} {}{} {} -> {status}: {}",
                r.method,
                r.path,
                r.query
                    .as_deref()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default(),
                String::from_utf8_lossy(&r.body),
                violations.unwrap_or_default()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "GitHub's API description rejects these requests:\n{}",
        failures.join("\n")
    );
    let expected: BTreeSet<&str> = [
        "GET /repos/{owner}/{repo}/installation",
        "POST /app/installations/{installation_id}/access_tokens",
        "GET /repos/{owner}/{repo}/pulls",
        "POST /repos/{owner}/{repo}/pulls",
        "PATCH /repos/{owner}/{repo}/pulls/{pull_number}",
        "POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
        "POST /repos/{owner}/{repo}/issues/{issue_number}/assignees",
    ]
    .into();
    assert_eq!(
        operations
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        expected
    );

    // The check itself works: Prism rejects a body GitHub would reject.
    let bad = Recorded {
        method: "POST".into(),
        path: "/repos/acme/infra/pulls".into(),
        query: None,
        body: serde_json::to_vec(&json!({ "title": 5, "base": "main" })).unwrap(),
    };
    let (status, violations) = prism.send(&agent, &bad);
    assert_eq!(status, 422, "Prism did not validate the request body");
    assert!(violations.unwrap_or_default().contains("head"));
}

async fn record(fake: &GithubFake) -> Vec<Recorded> {
    let requests = fake
        .server
        .received_requests()
        .await
        .expect("recording is on");
    requests
        .iter()
        .map(|r| Recorded {
            method: r.method.to_string(),
            path: r
                .url
                .path()
                .strip_prefix(fake.prefix())
                .unwrap()
                .to_string(),
            query: r.url.query().map(String::from),
            body: r.body.clone(),
        })
        .collect()
}

struct Tools {
    prism: PathBuf,
    spec: PathBuf,
}

/// Prism and the description, when installed; a panic in CI when not.
fn tools() -> Option<Tools> {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/github-api/node_modules");
    let tools = Tools {
        prism: modules.join("@stoplight/prism-cli/dist/index.js"),
        spec: modules.join("@octokit/openapi/generated/api.github.com.json"),
    };
    let node = Command::new("node").arg("--version").output().is_ok();
    if node && tools.prism.is_file() && tools.spec.is_file() {
        return Some(tools);
    }
    let why = "Prism or GitHub's OpenAPI description is not installed: run `npm ci` in tests/github-api (scripts/test does)";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// The operations `recorded` uses (as `METHOD /template`), and the
/// description cut down to them and the components they reference; without
/// `webhooks`, whose dangling references Prism refuses.
fn prune(doc: &Value, recorded: &[Recorded]) -> (Value, BTreeSet<String>) {
    let paths = doc["paths"].as_object().expect("paths");
    let mut kept: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    let mut operations = BTreeSet::new();
    for r in recorded {
        // The most specific template wins, as in a router.
        let template = paths
            .keys()
            .filter(|t| matches_template(t, &r.path))
            .max_by_key(|t| t.split('/').filter(|s| !s.starts_with('{')).count())
            .unwrap_or_else(|| panic!("{} {} is not a GitHub API path", r.method, r.path));
        let method = r.method.to_lowercase();
        let item = &paths[template];
        assert!(
            item.get(&method).is_some(),
            "{} {template} is not a GitHub API operation",
            r.method
        );
        let entry = kept.entry(template.clone()).or_default();
        entry.insert(method.clone(), item[&method].clone());
        if let Some(p) = item.get("parameters") {
            entry.insert("parameters".into(), p.clone());
        }
        operations.insert(format!("{} {template}", r.method));
    }
    let paths_value = json!(kept);
    let mut components = serde_json::Map::new();
    let mut pending: Vec<String> = Vec::new();
    collect_refs(&paths_value, &mut pending);
    let mut seen = BTreeSet::new();
    while let Some(reference) = pending.pop() {
        if !seen.insert(reference.clone()) {
            continue;
        }
        let parts: Vec<&str> = reference
            .trim_start_matches("#/components/")
            .split('/')
            .collect();
        let [kind, name] = parts[..] else {
            panic!("unexpected reference {reference}")
        };
        let target = doc["components"][kind][name].clone();
        collect_refs(&target, &mut pending);
        components
            .entry(kind.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap()
            .insert(name.to_string(), target);
    }
    let pruned = json!({
        "openapi": doc["openapi"],
        "info": doc["info"],
        "paths": paths_value,
        "components": components,
    });
    (pruned, operations)
}

fn matches_template(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// A Prism mock server on a free loopback port, killed on drop.
struct Prism {
    child: Child,
    url: String,
}

impl Prism {
    fn start(tools: &Tools, spec: &Path) -> Prism {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("node")
            .arg(&tools.prism)
            .args([
                "mock",
                spec.to_str().unwrap(),
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-v",
                "warn",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts Prism");
        let mut prism = Prism {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = prism.child.try_wait() {
                panic!("Prism exited before listening: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "Prism did not listen within 90 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        prism
    }

    /// Prism's status and the request violations in its `sl-violations`
    /// header, if any. Response violations are dropped: they are about
    /// GitHub's own examples, which break GitHub's own schema.
    fn send(&self, agent: &ureq::Agent, r: &Recorded) -> (u16, Option<String>) {
        let mut url = format!("{}{}", self.url, r.path);
        if let Some(q) = &r.query {
            url.push('?');
            url.push_str(q);
        }
        let request = ureq::http::Request::builder()
            .method(r.method.as_str())
            .uri(url);
        let response = if r.body.is_empty() {
            agent.run(request.body(()).unwrap())
        } else {
            let request = request.header("content-type", "application/json");
            agent.run(request.body(r.body.clone()).unwrap())
        }
        .expect("Prism answers");
        let violations = response
            .headers()
            .get("sl-violations")
            .map(|v| {
                let all: Vec<Value> = serde_json::from_slice(v.as_bytes())
                    .unwrap_or_else(|_| panic!("sl-violations is not JSON: {v:?}"));
                all.into_iter()
                    .filter(|v| v["location"][0] != "response")
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
            .map(|v| v.join("; "));
        (response.status().as_u16(), violations)
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

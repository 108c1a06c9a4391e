//! A stateful fake of the GitHub REST API (a wiremock server) for the
//! pull-request lifecycle: pulls, comments, labels, assignees, review
//! requests, and GitHub App installation tokens. It keeps what it was told,
//! answers the way GitHub does (including 401 for a wrong token and 422 for
//! a second open pull request on one head), and wiremock records every
//! request for `github_prism` to replay against GitHub's OpenAPI description.

use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const INSTALLATION_ID: u64 = 77;
pub const INSTALLATION_TOKEN: &str = "ghs_fakeinstallationtoken0001";

/// One pull request as the fake holds it.
#[derive(Debug, Clone, Default)]
pub struct FakePull {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub open: bool,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
    pub comments: Vec<String>,
}

#[derive(Default)]
struct State {
    pulls: Vec<FakePull>,
    /// What `Authorization` must be on repository routes.
    token: String,
    /// Set for a GitHub App: JWTs must name this app.
    app_id: Option<u64>,
    /// The `repositories` the installation token was scoped to.
    token_scope: Option<Value>,
    /// The next pulls listing answers empty (a concurrent run's view).
    hide_next_list: bool,
    /// (method, path suffix, status): answer the next matching request so.
    fail_next: Option<(String, String, u16)>,
}

/// The fake server; it shuts down when dropped.
pub struct GithubFake {
    pub server: MockServer,
    prefix: String,
    state: Arc<Mutex<State>>,
}

impl GithubFake {
    /// A fake under `prefix` (`""` for github.com, `/api/v3` for GitHub
    /// Enterprise Server) that accepts `token`.
    pub async fn start(prefix: &str, token: &str) -> GithubFake {
        Self::start_with(prefix, token.to_string(), None).await
    }

    /// A fake that accepts GitHub App `app_id`'s JWTs and mints installation tokens.
    pub async fn start_app(prefix: &str, app_id: u64) -> GithubFake {
        Self::start_with(prefix, INSTALLATION_TOKEN.to_string(), Some(app_id)).await
    }

    async fn start_with(prefix: &str, token: String, app_id: Option<u64>) -> GithubFake {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            token,
            app_id,
            ..Default::default()
        }));
        Mock::given(any())
            .respond_with(Responder {
                prefix: prefix.to_string(),
                state: state.clone(),
            })
            .mount(&server)
            .await;
        GithubFake {
            server,
            prefix: prefix.to_string(),
            state,
        }
    }

    pub fn api_url(&self) -> String {
        format!("{}{}", self.server.uri(), self.prefix)
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn pulls(&self) -> Vec<FakePull> {
        self.state.lock().unwrap().pulls.clone()
    }

    pub fn pull(&self, number: u64) -> FakePull {
        self.pulls()
            .into_iter()
            .find(|p| p.number == number)
            .expect("the pull request exists")
    }

    /// Changes a pull request the way a person in the web UI would.
    pub fn edit(&self, number: u64, f: impl FnOnce(&mut FakePull)) {
        let mut state = self.state.lock().unwrap();
        f(state.pulls.iter_mut().find(|p| p.number == number).unwrap());
    }

    pub fn hide_next_list(&self) {
        self.state.lock().unwrap().hide_next_list = true;
    }

    pub fn fail_next(&self, method: &str, path_suffix: &str, status: u16) {
        self.state.lock().unwrap().fail_next =
            Some((method.to_string(), path_suffix.to_string(), status));
    }

    pub fn token_scope(&self) -> Option<Value> {
        self.state.lock().unwrap().token_scope.clone()
    }

    /// Every request so far as `METHOD /path?query`.
    pub async fn request_lines(&self) -> Vec<String> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| match r.url.query() {
                Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
                None => format!("{} {}", r.method, r.url.path()),
            })
            .collect()
    }
}

struct Responder {
    prefix: String,
    state: Arc<Mutex<State>>,
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
    }))
}

fn pull_json(p: &FakePull) -> Value {
    json!({
        "id": 1000 + p.number,
        "number": p.number,
        "url": format!("https://api.github.example/repos/acme/infra/pulls/{}", p.number),
        "html_url": format!("https://github.example/acme/infra/pull/{}", p.number),
        "state": if p.open { "open" } else { "closed" },
        "title": p.title,
        "body": p.body,
        "head": { "ref": p.head, "label": format!("acme:{}", p.head) },
        "base": { "ref": p.base },
        "labels": p.labels.iter().map(|l| json!({ "name": l })).collect::<Vec<_>>(),
    })
}

fn strings(body: &Value, key: &str) -> Vec<String> {
    body[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let Some(path) = req.url.path().strip_prefix(&self.prefix) else {
            return error(404, "Not Found");
        };
        let method = req.method.as_str();
        if let Some((m, suffix, status)) = state.fail_next.clone()
            && m == method
            && path.ends_with(&suffix)
        {
            state.fail_next = None;
            return ResponseTemplate::new(status).set_body_json(json!({
                "message": "Validation Failed",
                "errors": [{ "resource": "PullRequest", "code": "custom",
                             "message": "Reviews may only be requested from collaborators." }],
            }));
        }
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();

        if segments.first() == Some(&"app") || path.ends_with("/installation") {
            return app_route(&mut state, method, &segments, &auth, &body);
        }
        if auth != format!("Bearer {}", state.token) {
            return error(401, "Bad credentials");
        }
        match (method, segments.as_slice()) {
            ("GET", ["repos", owner, _, "pulls"]) => {
                let query: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
                let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                if std::mem::take(&mut state.hide_next_list) {
                    return ResponseTemplate::new(200).set_body_json(json!([]));
                }
                let open_only = param("state").as_deref() != Some("all");
                let head = param("head");
                let list: Vec<Value> = state
                    .pulls
                    .iter()
                    .filter(|p| !open_only || p.open)
                    .filter(|p| {
                        head.as_ref()
                            .is_none_or(|h| *h == format!("{owner}:{}", p.head))
                    })
                    .map(pull_json)
                    .collect();
                ResponseTemplate::new(200).set_body_json(list)
            }
            ("POST", ["repos", owner, _, "pulls"]) => {
                let (title, head, base) = (&body["title"], &body["head"], &body["base"]);
                let (Some(title), Some(head), Some(base)) =
                    (title.as_str(), head.as_str(), base.as_str())
                else {
                    return error(422, "Validation Failed");
                };
                if state.pulls.iter().any(|p| p.open && p.head == head) {
                    return ResponseTemplate::new(422).set_body_json(json!({
                        "message": "Validation Failed",
                        "errors": [{ "resource": "PullRequest", "code": "custom",
                                     "message": format!("A pull request already exists for {owner}:{head}.") }],
                    }));
                }
                let pull = FakePull {
                    number: state.pulls.len() as u64 + 1,
                    title: title.to_string(),
                    body: body["body"].as_str().unwrap_or_default().to_string(),
                    head: head.to_string(),
                    base: base.to_string(),
                    open: true,
                    ..Default::default()
                };
                let answer = pull_json(&pull);
                state.pulls.push(pull);
                ResponseTemplate::new(201).set_body_json(answer)
            }
            (_, ["repos", _, _, kind, number, rest @ ..]) => {
                let Some(pull) = number
                    .parse::<u64>()
                    .ok()
                    .and_then(|n| state.pulls.iter_mut().find(|p| p.number == n))
                else {
                    return error(404, "Not Found");
                };
                match (method, *kind, rest) {
                    ("PATCH", "pulls", []) => {
                        if let Some(t) = body["title"].as_str() {
                            pull.title = t.to_string();
                        }
                        if let Some(b) = body["body"].as_str() {
                            pull.body = b.to_string();
                        }
                        if let Some(s) = body["state"].as_str() {
                            pull.open = s == "open";
                        }
                        ResponseTemplate::new(200).set_body_json(pull_json(pull))
                    }
                    ("POST", "issues", ["comments"]) => {
                        pull.comments
                            .push(body["body"].as_str().unwrap_or_default().to_string());
                        ResponseTemplate::new(201)
                            .set_body_json(json!({ "id": 1, "body": body["body"] }))
                    }
                    ("POST", "issues", ["labels"]) => {
                        pull.labels.extend(strings(&body, "labels"));
                        ResponseTemplate::new(200).set_body_json(json!([]))
                    }
                    ("POST", "issues", ["assignees"]) => {
                        pull.assignees.extend(strings(&body, "assignees"));
                        ResponseTemplate::new(201).set_body_json(pull_json(pull))
                    }
                    ("POST", "pulls", ["requested_reviewers"]) => {
                        pull.reviewers.extend(strings(&body, "reviewers"));
                        pull.team_reviewers.extend(strings(&body, "team_reviewers"));
                        ResponseTemplate::new(201).set_body_json(pull_json(pull))
                    }
                    _ => error(404, "Not Found"),
                }
            }
            _ => error(404, "Not Found"),
        }
    }
}

/// `GET /repos/{o}/{r}/installation` and `POST /app/installations/{id}/access_tokens`:
/// only a JWT issued by the configured app is accepted.
fn app_route(
    state: &mut State,
    method: &str,
    segments: &[&str],
    auth: &str,
    body: &Value,
) -> ResponseTemplate {
    let issuer = auth
        .strip_prefix("Bearer ")
        .and_then(|jwt| jwt.split('.').nth(1))
        .and_then(|claims| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .ok()
        })
        .and_then(|claims| serde_json::from_slice::<Value>(&claims).ok())
        .and_then(|claims| match &claims["iss"] {
            Value::String(s) => s.parse::<u64>().ok(),
            v => v.as_u64(),
        });
    if issuer.is_none() || issuer != state.app_id {
        return error(401, "A JSON web token could not be decoded");
    }
    match (method, segments) {
        ("GET", ["repos", _, _, "installation"]) => {
            ResponseTemplate::new(200).set_body_json(json!({ "id": INSTALLATION_ID }))
        }
        ("POST", ["app", "installations", id, "access_tokens"])
            if *id == INSTALLATION_ID.to_string() =>
        {
            state.token_scope = Some(body["repositories"].clone());
            ResponseTemplate::new(201).set_body_json(json!({
                "token": INSTALLATION_TOKEN,
                "expires_at": "2099-01-01T00:00:00Z",
                "permissions": { "pull_requests": "write" },
                "repository_selection": "selected",
            }))
        }
        _ => error(404, "Not Found"),
    }
}

//! One pull request per head branch: find, open or update, comment, close.

use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};

use super::client::Verb;
use super::{GithubClient, GithubError, wire};

/// The pull request the caller wants to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestSpec {
    /// The head branch, already pushed to the repository itself (not a
    /// fork), e.g. `driftsync/codify/web-sg-1a2b3c`. It identifies the pull
    /// request: there is never more than one open per head.
    pub head: String,
    /// The branch to merge into, e.g. `main`.
    pub base: String,
    pub title: String,
    /// Markdown. driftsync appends a hidden digest line to tell later runs
    /// whether the body changed, so edits by people elsewhere in the
    /// description survive runs that have nothing new to say.
    pub body: String,
    /// Set when the pull request is opened (never re-applied, so people can
    /// remove them): labels, reviewers (logins, or `org/team` for a team),
    /// and assignees (logins).
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub assignees: Vec<String>,
    /// The comment posted when the body changes; a generic one when `None`.
    pub change_comment: Option<String>,
}

impl PullRequestSpec {
    /// A spec with no labels, reviewers or assignees.
    pub fn new(
        head: impl Into<String>,
        base: impl Into<String>,
        title: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        PullRequestSpec {
            head: head.into(),
            base: base.into(),
            title: title.into(),
            body: body.into(),
            labels: Vec::new(),
            reviewers: Vec::new(),
            assignees: Vec::new(),
            change_comment: None,
        }
    }
}

/// What [`GithubClient::sync_pull_request`] or
/// [`GithubClient::close_pull_request`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PrOutcome {
    Opened {
        number: u64,
        url: String,
    },
    /// The title or body changed; `commented` when the body did.
    Updated {
        number: u64,
        url: String,
        commented: bool,
    },
    Unchanged {
        number: u64,
        url: String,
    },
    Closed {
        number: u64,
        url: String,
    },
    /// No open pull request has that head.
    NothingToClose,
}

impl PrOutcome {
    /// The pull request's number, when there is one.
    pub fn number(&self) -> Option<u64> {
        match self {
            PrOutcome::Opened { number, .. }
            | PrOutcome::Updated { number, .. }
            | PrOutcome::Unchanged { number, .. }
            | PrOutcome::Closed { number, .. } => Some(*number),
            PrOutcome::NothingToClose => None,
        }
    }

    /// The pull request's web address, when there is one.
    pub fn url(&self) -> Option<&str> {
        match self {
            PrOutcome::Opened { url, .. }
            | PrOutcome::Updated { url, .. }
            | PrOutcome::Unchanged { url, .. }
            | PrOutcome::Closed { url, .. } => Some(url),
            PrOutcome::NothingToClose => None,
        }
    }
}

const DEFAULT_CHANGE_COMMENT: &str = "The drift this pull request codifies has changed since it was opened; \
the description now shows the current drift, its proof, and the new template.";
const MARKER: &str = "<!-- driftsync:body-sha256=";

impl GithubClient {
    /// Makes the open pull request for `spec.head` match `spec`: opens it
    /// (with labels, reviewers and assignees) when there is none, updates
    /// its title and body when they differ, and comments when the body
    /// changed. Running it twice with the same spec changes nothing.
    ///
    /// # Errors
    /// A spec without a head, base or title; any failed request. When the
    /// pull request was opened but decorating it failed,
    /// [`GithubError::Decorate`] says which pull request it was.
    pub async fn sync_pull_request(
        &self,
        spec: &PullRequestSpec,
    ) -> Result<PrOutcome, GithubError> {
        check_spec(spec)?;
        let digest = hex_sha256(&spec.body);
        let body = format!("{}\n\n{MARKER}{digest} -->\n", spec.body.trim_end());
        let existing = match self.find_open(&spec.head).await? {
            Some(pr) => pr,
            None => match self.open(spec, &body).await {
                Ok(outcome) => return Ok(outcome),
                // Another run opened it between our lookup and our create.
                Err(e) if is_already_exists(&e) => match self.find_open(&spec.head).await? {
                    Some(pr) => pr,
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            },
        };
        let body_changed = marker(existing.body.as_deref()) != Some(digest.as_str());
        let title_changed = existing.title != spec.title;
        let (number, url) = (existing.number, existing.html_url);
        if !body_changed && !title_changed {
            return Ok(PrOutcome::Unchanged { number, url });
        }
        let update = wire::UpdatePull {
            title: title_changed.then_some(spec.title.as_str()),
            body: body_changed.then_some(body.as_str()),
            state: None,
        };
        let _: IgnoredAny = self
            .send(
                Verb::Patch,
                format!("update pull request #{number}"),
                self.route(&format!("/pulls/{number}")),
                &update,
            )
            .await?;
        if body_changed {
            let text = spec
                .change_comment
                .as_deref()
                .unwrap_or(DEFAULT_CHANGE_COMMENT);
            self.comment(number, text).await?;
        }
        Ok(PrOutcome::Updated {
            number,
            url,
            commented: body_changed,
        })
    }

    /// Closes the open pull request for `head` after posting `comment` (why:
    /// the drift was reverted, or codified by another commit). The head
    /// branch is left for the caller to delete.
    ///
    /// # Errors
    /// Any failed request. The comment is posted first, so a failed close
    /// leaves the pull request open for the next run to close.
    pub async fn close_pull_request(
        &self,
        head: &str,
        comment: &str,
    ) -> Result<PrOutcome, GithubError> {
        check_head(head)?;
        let Some(pr) = self.find_open(head).await? else {
            return Ok(PrOutcome::NothingToClose);
        };
        self.comment(pr.number, comment).await?;
        let close = wire::UpdatePull {
            state: Some("closed"),
            ..Default::default()
        };
        let _: IgnoredAny = self
            .send(
                Verb::Patch,
                format!("close pull request #{}", pr.number),
                self.route(&format!("/pulls/{}", pr.number)),
                &close,
            )
            .await?;
        Ok(PrOutcome::Closed {
            number: pr.number,
            url: pr.html_url,
        })
    }

    /// The head branches of open pull requests that start with `prefix`
    /// (e.g. every codify branch of one stack), from the newest 100 open
    /// pull requests.
    ///
    /// # Errors
    /// A failed request.
    pub async fn open_heads_with_prefix(&self, prefix: &str) -> Result<Vec<String>, GithubError> {
        let query = wire::ListPulls {
            state: "open",
            head: None,
            per_page: 100,
        };
        let pulls: Vec<wire::Pull> = self
            .get(
                format!("list the open pull requests for {prefix}*"),
                self.route("/pulls"),
                &query,
            )
            .await?;
        let mut heads: Vec<String> = pulls
            .into_iter()
            .map(|p| p.head.name)
            .filter(|h| h.starts_with(prefix))
            .collect();
        heads.sort();
        heads.dedup();
        Ok(heads)
    }

    /// The oldest open pull request whose head is `head` in this repository.
    async fn find_open(&self, head: &str) -> Result<Option<wire::Pull>, GithubError> {
        let qualified = format!("{}:{head}", self.repository().owner());
        let query = wire::ListPulls {
            state: "open",
            head: Some(&qualified),
            per_page: 100,
        };
        let pulls: Vec<wire::Pull> = self
            .get(
                format!("find the open pull request for {head}"),
                self.route("/pulls"),
                &query,
            )
            .await?;
        // The filter is GitHub's; checking it again means a server that
        // ignored it can never make us edit someone else's pull request.
        Ok(pulls
            .into_iter()
            .filter(|p| p.head.name == head)
            .min_by_key(|p| p.number))
    }

    async fn open(&self, spec: &PullRequestSpec, body: &str) -> Result<PrOutcome, GithubError> {
        let create = wire::CreatePull {
            title: &spec.title,
            head: &spec.head,
            base: &spec.base,
            body,
            maintainer_can_modify: true,
        };
        let pr: wire::Pull = self
            .send(
                Verb::Post,
                format!("open a pull request for {}", spec.head),
                self.route("/pulls"),
                &create,
            )
            .await?;
        self.decorate(pr.number, spec)
            .await
            .map_err(|e| GithubError::Decorate {
                number: pr.number,
                url: pr.html_url.clone(),
                source: Box::new(e),
            })?;
        Ok(PrOutcome::Opened {
            number: pr.number,
            url: pr.html_url,
        })
    }

    /// Labels, assignees and review requests, each only when the spec has some.
    async fn decorate(&self, number: u64, spec: &PullRequestSpec) -> Result<(), GithubError> {
        let reviews = review_request(&spec.reviewers);
        let has_reviews = !reviews.reviewers.is_empty() || !reviews.team_reviewers.is_empty();
        let steps = [
            (
                !spec.labels.is_empty(),
                "label",
                format!("/issues/{number}/labels"),
                serde_json::json!(wire::Labels {
                    labels: &spec.labels
                }),
            ),
            (
                !spec.assignees.is_empty(),
                "assign",
                format!("/issues/{number}/assignees"),
                serde_json::json!(wire::Assignees {
                    assignees: &spec.assignees
                }),
            ),
            (
                has_reviews,
                "request reviews on",
                format!("/pulls/{number}/requested_reviewers"),
                serde_json::json!(reviews),
            ),
        ];
        for (wanted, verb, path, body) in steps {
            if wanted {
                let _: IgnoredAny = self
                    .send(
                        Verb::Post,
                        format!("{verb} pull request #{number}"),
                        self.route(&path),
                        &body,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn comment(&self, number: u64, text: &str) -> Result<(), GithubError> {
        let _: IgnoredAny = self
            .send(
                Verb::Post,
                format!("comment on pull request #{number}"),
                self.route(&format!("/issues/{number}/comments")),
                &wire::Comment { body: text },
            )
            .await?;
        Ok(())
    }
}

fn check_spec(spec: &PullRequestSpec) -> Result<(), GithubError> {
    let invalid = |reason: &str| GithubError::InvalidPullRequest {
        head: spec.head.clone(),
        reason: reason.to_string(),
    };
    check_head(&spec.head)?;
    if spec.base.trim().is_empty() {
        return Err(invalid("the base branch is empty"));
    }
    if spec.title.trim().is_empty() {
        return Err(invalid("the title is empty"));
    }
    Ok(())
}

fn check_head(head: &str) -> Result<(), GithubError> {
    if head.trim().is_empty() || head.contains(char::is_whitespace) {
        return Err(GithubError::InvalidPullRequest {
            head: head.to_string(),
            reason: "the head branch is empty or has spaces".into(),
        });
    }
    Ok(())
}

/// `org/team` (or `@org/team`) asks a team, by its slug; anything else is a login.
fn review_request(reviewers: &[String]) -> wire::ReviewRequest {
    let mut request = wire::ReviewRequest {
        reviewers: Vec::new(),
        team_reviewers: Vec::new(),
    };
    for r in reviewers {
        let r = r.trim_start_matches('@');
        match r.split_once('/') {
            Some((_, team)) => request.team_reviewers.push(team.to_string()),
            None => request.reviewers.push(r.to_string()),
        }
    }
    request
}

fn is_already_exists(e: &GithubError) -> bool {
    matches!(e, GithubError::Request { status: Some(422), cause, .. } if cause.contains("already exists"))
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.trim_end().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The digest in a body's marker line, if it has one.
fn marker(body: Option<&str>) -> Option<&str> {
    let body = body?;
    let start = body.rfind(MARKER)? + MARKER.len();
    body[start..].split_whitespace().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_round_trips_and_ignores_trailing_whitespace() {
        let digest = hex_sha256("body\n");
        assert_eq!(digest, hex_sha256("body"));
        let sent = format!("body\n\n{MARKER}{digest} -->\n");
        assert_eq!(marker(Some(&sent)), Some(digest.as_str()));
        assert_eq!(marker(Some("edited by a person")), None);
        assert_eq!(marker(None), None);
    }

    #[test]
    fn team_reviewers_are_asked_by_slug_and_people_by_login() {
        let r = review_request(&["alice".into(), "@acme/platform".into(), "acme/sre".into()]);
        assert_eq!(r.reviewers, ["alice"]);
        assert_eq!(r.team_reviewers, ["platform", "sre"]);
    }

    #[test]
    fn a_spec_without_head_base_or_title_is_refused() {
        let good = PullRequestSpec::new("driftsync/codify/a-1", "main", "t", "b");
        assert!(check_spec(&good).is_ok());
        for bad in [
            PullRequestSpec::new("", "main", "t", "b"),
            PullRequestSpec::new("a b", "main", "t", "b"),
            PullRequestSpec::new("h", " ", "t", "b"),
            PullRequestSpec::new("h", "main", "", "b"),
        ] {
            assert!(check_spec(&bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn closing_with_an_empty_head_is_refused_before_any_request() {
        // Nothing listens on port 9: a request would fail differently.
        let client = GithubClient::connect(
            "http://127.0.0.1:9",
            "acme/infra".parse().unwrap(),
            crate::github::Auth::Token("ghp_x".to_string().into()),
        )
        .await
        .unwrap();
        let err = client.close_pull_request(" ", "gone").await.unwrap_err();
        assert!(
            matches!(err, GithubError::InvalidPullRequest { .. }),
            "{err:?}"
        );
    }
}

//! Codify end to end: synthetic drift spliced into every corpus template
//! (only the intended lines change, every comment survives), the codify
//! branch pushed to a bare repository over file:// and to a smart-HTTP
//! remote with a token, and the done-when scenario on the AWS test bed: an
//! SSM parameter changed out of band, with policy `codify`, becomes a branch
//! whose diff is exactly the parameter value; a rerun changes nothing.

use std::collections::BTreeMap;
use std::path::Path;

use driftsync::codify::edit::{Edit, Op, apply};
use driftsync::codify::git::{BranchState, GitError, GitSettings, publish};
use driftsync::codify::{FileChange, provenance::FileRole};
use driftsync::doc::{self, Format, Node, NodeKind};
use driftsync::source::{Credentials, Secret};
use driftsync::template::path::Segment;
use serde_json::{Value, json};

use crate::check::{driftsync_as, driftsync_as_with, scenario_with};
use crate::support::git_http::GitHttpServer;
use crate::support::github_fake::GithubFake;
use crate::support::{TestRepo, corpus_dir, corpus_templates};

// ---- the editor over the corpus -------------------------------------------

/// Lines only in `a`, as a multiset difference against `b`.
fn only_in<'a>(a: &'a str, b: &'a str) -> Vec<&'a str> {
    let mut count: BTreeMap<&str, i64> = BTreeMap::new();
    for l in b.lines() {
        *count.entry(l).or_default() += 1;
    }
    let mut out = Vec::new();
    for l in a.lines() {
        let c = count.entry(l).or_default();
        if *c > 0 {
            *c -= 1;
        } else {
            out.push(l);
        }
    }
    out
}

/// One edit to a corpus template, which must apply.
fn splice(
    text: &str,
    format: Format,
    path: Vec<Segment>,
    op: Op,
    name: &dyn std::fmt::Display,
) -> String {
    apply(text, format, &[Edit { path, op }]).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#') || line.contains(" #")
}

fn at<'a>(root: &'a Node, path: &[Segment]) -> Option<&'a Node> {
    let mut n = root;
    for seg in path {
        n = match (seg, &n.kind) {
            (Segment::Key(k), NodeKind::Map(m)) => &m.get(k)?.value,
            (Segment::Index(i), NodeKind::Seq(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(n)
}

/// The first resource with a one-line, untagged scalar property that is
/// not its only one: (logical id, property name).
fn pick(root: &Node, text: &str) -> Option<(String, String)> {
    let resources = root.as_map()?.get("Resources")?.value.as_map()?;
    for (id, r) in resources {
        let Some(props) = r
            .value
            .as_map()
            .and_then(|m| m.get("Properties"))
            .and_then(|p| p.value.as_map())
        else {
            continue;
        };
        if props.len() < 2 || text[props[0].key_span.start as usize..].starts_with('{') {
            continue;
        }
        for (k, e) in props {
            let span = &text[e.value.span.start as usize..e.value.span.end as usize];
            if e.value.tag.is_none()
                && e.value.as_scalar().is_some()
                && !span.contains('\n')
                && !span.starts_with(['|', '>'])
            {
                return Some((id.clone(), k.clone()));
            }
        }
    }
    None
}

#[test]
fn synthetic_drift_in_every_corpus_template_changes_only_its_lines_and_keeps_every_comment() {
    let mut tried = BTreeMap::from([("yaml", 0), ("json", 0)]);
    for rel in corpus_templates() {
        let text = std::fs::read_to_string(corpus_dir().join(&rel)).unwrap();
        let format = Format::sniff(&text);
        let Ok(root) = doc::parse(&text, format) else {
            continue;
        };
        let Some((id, key)) = pick(&root, &text) else {
            continue;
        };
        *tried
            .entry(if format == Format::Json {
                "json"
            } else {
                "yaml"
            })
            .or_default() += 1;
        let base = vec![
            Segment::Key("Resources".into()),
            Segment::Key(id.clone()),
            Segment::Key("Properties".into()),
        ];
        let path = [base.clone(), vec![Segment::Key(key.clone())]].concat();
        let name = rel.display();

        // NOT_EQUAL: exactly one line differs.
        let new = json!("driftsync codified value");
        let after = splice(&text, format, path.clone(), Op::Replace(new.clone()), &name);
        let (gone, added) = (only_in(&text, &after), only_in(&after, &text));
        assert_eq!(
            (gone.len(), added.len()),
            (1, 1),
            "{name}: {gone:?} {added:?}"
        );
        assert_eq!(text.lines().count(), after.lines().count(), "{name}");
        let reread = doc::parse(&after, format).unwrap_or_else(|e| panic!("{name}: {e}\n{after}"));
        assert_eq!(
            at(&reread, &path).and_then(Node::as_str),
            Some("driftsync codified value"),
            "{name}"
        );
        assert!(
            gone.iter().all(|l| !l.trim_start().starts_with('#')),
            "{name}"
        );
        if is_comment(gone[0]) {
            assert!(
                is_comment(added[0]),
                "{name}: a trailing comment survives: {added:?}"
            );
        }

        // ADD: one new line (and, in JSON, the comma of the line before).
        let added_path = [base.clone(), vec![Segment::Key("DriftsyncAdded".into())]].concat();
        let after = splice(
            &text,
            format,
            added_path.clone(),
            Op::Add(json!({"Key": "k", "Value": 1})),
            &name,
        );
        let (gone, added) = (only_in(&text, &after), only_in(&after, &text));
        assert!(
            gone.len() <= 1 && (1..=4).contains(&added.len()),
            "{name}: {gone:?} {added:?}"
        );
        assert!(gone.iter().all(|l| !is_comment(l)), "{name}: {gone:?}");
        let reread = doc::parse(&after, format).unwrap_or_else(|e| panic!("{name}: {e}\n{after}"));
        assert_eq!(
            at(&reread, &added_path).map(Node::to_json),
            Some(json!({"Key": "k", "Value": 1})),
            "{name}"
        );

        // REMOVE: the property's line goes (in JSON, perhaps a comma too).
        let after = splice(&text, format, path.clone(), Op::Remove, &name);
        let (gone, added) = (only_in(&text, &after), only_in(&after, &text));
        assert!(
            (1..=2).contains(&gone.len()) && added.len() <= 1,
            "{name}: {gone:?} {added:?}"
        );
        assert!(
            gone.iter().all(|l| !l.trim_start().starts_with('#')),
            "{name}: {gone:?}"
        );
        let reread = doc::parse(&after, format).unwrap_or_else(|e| panic!("{name}: {e}\n{after}"));
        assert!(at(&reread, &path).is_none(), "{name}");
        assert_eq!(
            at(&reread, &base).and_then(Node::as_map).map(|m| m.len()),
            at(&root, &base).and_then(Node::as_map).map(|m| m.len() - 1),
            "{name}: only that property went"
        );
    }
    assert!(tried["yaml"] > 150 && tried["json"] > 100, "{tried:?}");
}

/// The first resource property that is a list of two or more maps (Tags,
/// rules, ...): (logical id, property name).
fn pick_list(root: &Node) -> Option<(String, String)> {
    let resources = root.as_map()?.get("Resources")?.value.as_map()?;
    for (id, r) in resources {
        let Some(props) = r
            .value
            .as_map()
            .and_then(|m| m.get("Properties"))
            .and_then(|p| p.value.as_map())
        else {
            continue;
        };
        for (k, e) in props {
            if e.value.tag.is_none()
                && e.value.as_seq().is_some_and(|items| {
                    items.len() >= 2
                        && items.iter().all(|i| {
                            i.tag.is_none()
                                && i.as_map().is_some_and(|m| {
                                    !m.is_empty()
                                        && !m.keys().any(|k| k.starts_with("Fn::") || k == "Ref")
                                })
                        })
                })
            {
                return Some((id.clone(), k.clone()));
            }
        }
    }
    None
}

#[test]
fn list_items_added_and_removed_in_corpus_templates_touch_only_their_own_lines() {
    let mut tried = 0;
    for rel in corpus_templates() {
        let text = std::fs::read_to_string(corpus_dir().join(&rel)).unwrap();
        let format = Format::sniff(&text);
        let Ok(root) = doc::parse(&text, format) else {
            continue;
        };
        let Some((id, key)) = pick_list(&root) else {
            continue;
        };
        tried += 1;
        let name = rel.display();
        let list = vec![
            Segment::Key("Resources".into()),
            Segment::Key(id),
            Segment::Key("Properties".into()),
            Segment::Key(key),
        ];
        let items = at(&root, &list).and_then(Node::as_seq).unwrap().to_vec();
        let count = items.len();

        // ADD at the end: the new item's lines, and in JSON the comma before it.
        let item = json!({"Key": "driftsync", "Value": "added"});
        let end = [list.clone(), vec![Segment::Index(count)]].concat();
        let after = splice(&text, format, end.clone(), Op::Add(item.clone()), &name);
        let (gone, added) = (only_in(&text, &after), only_in(&after, &text));
        assert!(
            gone.len() <= 1 && (1..=3).contains(&added.len()),
            "{name}: {gone:?} {added:?}"
        );
        assert!(gone.iter().all(|l| !is_comment(l)), "{name}: {gone:?}");
        let reread = doc::parse(&after, format).unwrap_or_else(|e| panic!("{name}: {e}\n{after}"));
        assert_eq!(
            at(&reread, &list).and_then(Node::as_seq).map(<[Node]>::len),
            Some(count + 1),
            "{name}"
        );
        assert_eq!(at(&reread, &end).map(Node::to_json), Some(item), "{name}");

        // REMOVE the first item: only lines of that item (or the one it shares).
        let first = [list.clone(), vec![Segment::Index(0)]].concat();
        let after = splice(&text, format, first, Op::Remove, &name);
        let region: Vec<&str> = text
            .lines()
            .skip(items[0].span.line as usize - 2)
            .take((items[1].span.line - items[0].span.line) as usize + 2)
            .collect();
        let (gone, added) = (only_in(&text, &after), only_in(&after, &text));
        assert!(added.len() <= 1, "{name}: {added:?}");
        assert!(
            gone.iter().all(|l| region.contains(l)),
            "{name}: {gone:?} outside {region:?}"
        );
        let reread = doc::parse(&after, format).unwrap_or_else(|e| panic!("{name}: {e}\n{after}"));
        let left = at(&reread, &list).and_then(Node::as_seq).unwrap();
        assert_eq!(left.len(), count - 1, "{name}");
        assert_eq!(left[0].to_json(), items[1].to_json(), "{name}");
    }
    assert!(tried > 100, "{tried}");
}

/// Every one-line scalar in `node` whose line goes on with a comment after
/// it: (path, the text after the value on its line).
fn commented_scalars(
    node: &Node,
    text: &str,
    path: &mut Vec<Segment>,
    out: &mut Vec<(Vec<Segment>, String)>,
) {
    match &node.kind {
        NodeKind::Map(m) => {
            for (k, e) in m {
                path.push(Segment::Key(k.clone()));
                commented_scalars(&e.value, text, path, out);
                path.pop();
            }
        }
        NodeKind::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                commented_scalars(n, text, path, out);
                path.pop();
            }
        }
        NodeKind::Scalar(_) => {
            let value = text[node.span.start as usize..].trim_start();
            let end = text[node.span.start as usize..]
                .find('\n')
                .map_or(text.len(), |i| node.span.start as usize + i);
            let rest = &text[(node.span.end as usize).min(end)..end];
            if node.tag.is_none() && !value.starts_with(['|', '>']) && rest.contains(" #") {
                out.push((path.clone(), rest.to_string()));
            }
        }
    }
}

#[test]
fn a_trailing_comment_on_a_codified_line_in_a_corpus_template_is_kept_byte_for_byte() {
    let mut tried = 0;
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/codify/trailing-comments.yaml");
    let files = corpus_templates()
        .into_iter()
        .map(|rel| corpus_dir().join(rel));
    for rel in files.chain([fixture]) {
        let text = std::fs::read_to_string(&rel).unwrap();
        let format = Format::sniff(&text);
        let Ok(root) = doc::parse(&text, format) else {
            continue;
        };
        let mut found = Vec::new();
        commented_scalars(&root, &text, &mut Vec::new(), &mut found);
        let name = rel.display();
        for (path, rest) in found {
            tried += 1;
            let new = json!("driftsync codified value");
            let after = splice(&text, format, path.clone(), Op::Replace(new), &name);
            let (gone, added) = (only_in(&text, &after), only_in(&after, &text));
            assert_eq!(
                (gone.len(), added.len()),
                (1, 1),
                "{name}: {gone:?} {added:?}"
            );
            assert!(
                added[0].ends_with(rest.as_str()) && added[0].contains("driftsync codified value"),
                "{name}: {:?} lost {rest:?}: {:?}",
                gone[0],
                added[0]
            );
            let reread = doc::parse(&after, format).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                at(&reread, &path).and_then(Node::as_str),
                Some("driftsync codified value"),
                "{name}"
            );
        }
    }
    assert!(tried > 30, "{tried}");
}

// ---- the branch over file:// and smart HTTP -------------------------------

fn infra_repo() -> (TestRepo, String) {
    let r = TestRepo::new();
    r.copy_from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/infra"));
    let sha = r.commit("initial stacks");
    (r, sha)
}

fn bare() -> (tempfile::TempDir, git2::Repository) {
    let dir = tempfile::tempdir().unwrap();
    let repo = git2::Repository::init_opts(
        dir.path(),
        git2::RepositoryInitOptions::new()
            .bare(true)
            .initial_head("main"),
    )
    .unwrap();
    (dir, repo)
}

/// A bare `file://` remote named origin, with `repo`'s main pushed to it.
pub fn with_origin(repo: &crate::support::TestRepo) -> (tempfile::TempDir, git2::Repository) {
    let (dir, bare) = bare();
    let url = format!("file://{}", dir.path().display());
    repo.repo.remote("origin", &url).unwrap();
    repo.repo
        .find_remote("origin")
        .unwrap()
        .push(&["refs/heads/main:refs/heads/main"], None)
        .unwrap();
    (dir, bare)
}

fn params_change(value: &str) -> Vec<FileChange> {
    let before = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/infra/params/app-config.json"),
    )
    .unwrap();
    vec![FileChange {
        path: "params/app-config.json".into(),
        role: FileRole::Parameters,
        after: before.replace("\"info\"", &format!("\"{value}\"")),
        before,
    }]
}

/// The files a branch's commit changes against its parent, and its parent.
fn branch_diff(repo: &git2::Repository, branch: &str) -> (Vec<String>, String, String) {
    let commit = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .unwrap()
        .peel_to_commit()
        .unwrap();
    let parent = commit.parent(0).unwrap();
    let diff = repo
        .diff_tree_to_tree(
            Some(&parent.tree().unwrap()),
            Some(&commit.tree().unwrap()),
            None,
        )
        .unwrap();
    let mut lines = Vec::new();
    diff.print(git2::DiffFormat::Patch, |_, _, l| {
        if matches!(l.origin(), '+' | '-') {
            lines.push(format!(
                "{}{}",
                l.origin(),
                String::from_utf8_lossy(l.content()).trim_end()
            ));
        }
        true
    })
    .unwrap();
    (lines, parent.id().to_string(), commit.id().to_string())
}

const BRANCH: &str = "driftsync/codify/app-config-0123abcd";

#[test]
fn the_branch_is_pushed_once_then_left_alone_then_force_updated_and_main_is_never_touched() {
    let (local, base) = infra_repo();
    let (remote_dir, remote) = bare();
    let url = format!("file://{}", remote_dir.path().display());
    let push_main = local
        .repo
        .remote_anonymous(&url)
        .unwrap()
        .push(&["refs/heads/main:refs/heads/main"], None);
    push_main.unwrap();
    let settings = GitSettings {
        author_name: "Codify Bot".into(),
        author_email: "bot@example.com".into(),
        ..GitSettings::default()
    };
    let creds = Credentials::default();

    let first = publish(
        &local.repo,
        &base,
        BRANCH,
        &params_change("debug"),
        "codify: keep debug",
        &settings,
        &url,
        &creds,
    )
    .unwrap();
    assert_eq!(first.state, BranchState::Created);
    let (lines, parent, head) = branch_diff(&remote, BRANCH);
    assert_eq!(parent, base);
    assert_eq!(head, first.commit);
    assert_eq!(
        lines,
        [
            "-  { \"ParameterKey\": \"LogLevel\", \"ParameterValue\": \"info\" },",
            "+  { \"ParameterKey\": \"LogLevel\", \"ParameterValue\": \"debug\" },"
        ]
    );
    let commit = remote
        .find_commit(git2::Oid::from_str(&head).unwrap())
        .unwrap();
    assert_eq!(commit.author().email().ok(), Some("bot@example.com"));
    assert_eq!(commit.committer().name().ok(), Some("Codify Bot"));

    let again = publish(
        &local.repo,
        &base,
        BRANCH,
        &params_change("debug"),
        "codify: keep debug",
        &settings,
        &url,
        &creds,
    )
    .unwrap();
    assert_eq!(
        (again.state, again.commit.as_str()),
        (BranchState::Unchanged, head.as_str())
    );

    let changed = publish(
        &local.repo,
        &base,
        BRANCH,
        &params_change("warn"),
        "codify: keep warn",
        &settings,
        &url,
        &creds,
    )
    .unwrap();
    assert_eq!(changed.state, BranchState::Updated);
    assert!(branch_diff(&remote, BRANCH).0[1].contains("\"warn\""));

    let main = remote
        .find_reference("refs/heads/main")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert_eq!(
        main.id().to_string(),
        base,
        "the base branch is never touched"
    );
    let e = publish(
        &local.repo,
        &base,
        "main",
        &params_change("x"),
        "m",
        &settings,
        &url,
        &creds,
    )
    .unwrap_err();
    assert!(matches!(e, GitError::Refused { .. }), "{e}");
}

/// The server's one accepted password, shaped like a GitHub token.
const TOKEN: &str = "ghp_CodifyPushToken0a1b2c3d4e5f6g7h8i";

#[test]
fn the_branch_is_pushed_over_smart_http_with_a_token_and_a_wrong_token_is_a_clean_auth_error() {
    let server = GitHttpServer::start(TOKEN, false);
    let (local, base) = infra_repo();
    server.publish(&local, "infra");
    let url = server.url("infra");
    let settings = GitSettings::default();
    let good = Credentials {
        token: Some(Secret::new(TOKEN)),
        ..Credentials::default()
    };
    let p = publish(
        &local.repo,
        &base,
        BRANCH,
        &params_change("debug"),
        "codify",
        &settings,
        &url,
        &good,
    )
    .unwrap();
    assert_eq!(p.state, BranchState::Created);
    let served = git2::Repository::open_bare(server.root().join("infra.git")).unwrap();
    let (lines, parent, _) = branch_diff(&served, BRANCH);
    assert_eq!((lines.len(), parent), (2, base.clone()));
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.starts_with("allowed POST /infra.git/git-receive-pack")),
        "{:?}",
        server.requests()
    );

    let wrong = Credentials {
        token: Some(Secret::new("ghp_WrongToken9z8y7x6w5v4u3t2s1r0q")),
        ..Credentials::default()
    };
    let e = publish(
        &local.repo,
        &base,
        BRANCH,
        &params_change("warn"),
        "codify",
        &settings,
        &url,
        &wrong,
    )
    .unwrap_err();
    assert!(matches!(e, GitError::AuthFailed { .. }), "{e}");
    assert!(!e.to_string().contains("ghp_"), "{e}");
}

// ---- the done-when scenario on the AWS test bed ---------------------------

/// Someone changes the app's log level out of band.
fn set_log_level(account: &crate::support::emulator::Account, value: &str) {
    crate::support::emulator::emulator().boto3(
        account,
        "ssm",
        "put_parameter",
        json!({"Name": "/app/log-level", "Value": value, "Type": "String", "Overwrite": true}),
    );
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn an_ssm_parameter_changed_out_of_band_with_policy_codify_becomes_a_branch_with_exactly_that_value()
 {
    let s = scenario_with(None);
    let (_remote_dir, remote) = with_origin(&s.repo);
    let main_before = remote
        .find_reference("refs/heads/main")
        .unwrap()
        .target()
        .unwrap();
    set_log_level(&s.account, "debug");

    // The dry run prints the patch and the pull request body, and pushes nothing.
    let (out, err, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["codify", "--stack", "app-config"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("+  { \"ParameterKey\": \"LogLevel\", \"ParameterValue\": \"debug\" },"),
        "{out}"
    );
    assert!(
        out.contains("codify(app-config): keep 1 live change to LogLevelParam"),
        "{out}"
    );
    assert_eq!(
        remote.references().unwrap().count(),
        1,
        "a dry run pushes nothing"
    );
    assert!(
        out.contains("✅ `LogLevelParam /Value` now resolves to the live value"),
        "{out}"
    );

    let (out, err, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["sync", "--stack", "app-config", "--apply", "-o", "json"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let r = json_of(&out);
    let o = &r["stacks"][0]["outcomes"][0];
    assert_eq!(o["result"], "applied", "{out}");
    assert_eq!(o["verified"], true, "{out}");
    let branch = o["detail"]["branch"].as_str().unwrap().to_string();
    assert!(
        branch.starts_with("driftsync/codify/app-config-"),
        "{branch}"
    );
    assert!(
        o["detail"]["pull_request"]["body"]
            .as_str()
            .unwrap()
            .contains("`\"debug\"`"),
        "{out}"
    );
    let (lines, parent, head) = branch_diff(&remote, &branch);
    assert_eq!(
        parent,
        s.repo.repo.head().unwrap().target().unwrap().to_string()
    );
    assert_eq!(
        lines,
        [
            "-  { \"ParameterKey\": \"LogLevel\", \"ParameterValue\": \"info\" },",
            "+  { \"ParameterKey\": \"LogLevel\", \"ParameterValue\": \"debug\" },"
        ],
        "the diff is exactly the drifted value"
    );

    // A rerun changes nothing: same branch, same commit, main untouched.
    let (out, err, _) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["sync", "--stack", "app-config", "--apply", "-o", "json"],
    );
    let r = json_of(&out);
    assert_eq!(
        r["stacks"][0]["outcomes"][0]["result"], "already_done",
        "{out}\n{err}"
    );
    assert_eq!(branch_diff(&remote, &branch).2, head);
    assert_eq!(
        remote
            .find_reference("refs/heads/main")
            .unwrap()
            .target()
            .unwrap(),
        main_before
    );

    // The drift changes again: `codify --apply` force-updates the same branch.
    set_log_level(&s.account, "warn");
    let (out, err, code) = driftsync_as(
        &s.account,
        s.repo.path(),
        &["codify", "--stack", "app-config", "--apply"],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains(&format!("Branch {branch} updated at")),
        "{out}"
    );
    let (lines, parent, new_head) = branch_diff(&remote, &branch);
    assert_ne!(new_head, head);
    assert_eq!(
        parent,
        s.repo.repo.head().unwrap().target().unwrap().to_string()
    );
    assert_eq!(
        lines[1],
        "+  { \"ParameterKey\": \"LogLevel\", \"ParameterValue\": \"warn\" },"
    );
}

#[test]
fn with_a_github_section_the_pushed_branch_becomes_one_pull_request_updated_when_the_drift_changes()
{
    const TOKEN: &str = "ghp_codifytesttoken0123456789";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(GithubFake::start("", TOKEN));
    let config = format!(
        "{}\ngithub:\n  repository: acme/infra\n  api_url: {}\n  labels: [drift]\n  reviewers: [alice]\n",
        crate::check::example("infra/driftsync.yaml"),
        fake.api_url()
    );
    let s = scenario_with(Some(&config));
    let (_remote_dir, _remote) = with_origin(&s.repo);
    set_log_level(&s.account, "debug");

    // The config names the API, but the operator has not allowed its host:
    // the token is not sent, and the step says which setting would allow it.
    let (out, err, code) = driftsync_as_with(
        &s.account,
        s.repo.path(),
        &["sync", "--stack", "app-config", "--apply", "-o", "json"],
        &[("GITHUB_TOKEN", TOKEN)],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let reason = json_of(&out)["stacks"][0]["outcomes"][0]["reason"].clone();
    let host = fake
        .api_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    assert!(
        reason.as_str().unwrap().contains(&format!(
            "refusing to send credentials to {host}, which github.api_url in driftsync.yaml names"
        )) && reason
            .as_str()
            .unwrap()
            .contains(&format!("DRIFTSYNC_ALLOWED_HOSTS={host}")),
        "{reason}"
    );
    assert!(
        rt.block_on(fake.request_lines()).is_empty(),
        "the API was asked"
    );
    assert!(
        !out.contains(TOKEN) && !err.contains(TOKEN),
        "the token leaked"
    );

    let run = |args: &[&str]| {
        let (out, err, code) = driftsync_as_with(
            &s.account,
            s.repo.path(),
            args,
            &[("GITHUB_TOKEN", TOKEN), ("DRIFTSYNC_ALLOWED_HOSTS", &host)],
        );
        assert!(
            !out.contains(TOKEN) && !err.contains(TOKEN),
            "the token leaked"
        );
        (out, err, code)
    };

    let (out, err, code) = run(&["sync", "--stack", "app-config", "--apply", "-o", "json"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let o = &json_of(&out)["stacks"][0]["outcomes"][0];
    assert_eq!(
        o["detail"]["review"]["outcome"]["result"], "opened",
        "{out}"
    );
    let pulls = fake.pulls();
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    let pr = &pulls[0];
    assert_eq!(pr.head, o["detail"]["branch"].as_str().unwrap());
    assert_eq!(pr.base, "main");
    assert!(
        pr.open && pr.labels.contains(&"drift".to_string()),
        "{pr:?}"
    );
    assert_eq!(pr.reviewers, ["alice"]);
    assert!(pr.body.contains("`\"debug\"`"), "{}", pr.body);

    // The same drift again: the pull request is left as it is.
    let (out, _, _) = run(&["sync", "--stack", "app-config", "--apply", "-o", "json"]);
    let o = &json_of(&out)["stacks"][0]["outcomes"][0];
    assert_eq!(
        o["detail"]["review"]["outcome"]["result"], "unchanged",
        "{out}"
    );
    assert_eq!(fake.pulls().len(), 1);
    assert!(fake.pulls()[0].comments.is_empty());

    // The drift changes: the same pull request is updated, with a comment.
    set_log_level(&s.account, "warn");
    let (out, err, code) = run(&["codify", "--stack", "app-config", "--apply"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("Pull request ") && out.contains(": updated."),
        "{out}"
    );
    let pulls = fake.pulls();
    assert_eq!(pulls.len(), 1, "never a second pull request");
    assert!(pulls[0].body.contains("`\"warn\"`"), "{}", pulls[0].body);
    assert_eq!(pulls[0].comments.len(), 1, "{:?}", pulls[0].comments);

    // The drift is reverted by hand: the next sync closes the pull request,
    // with a comment, and only that one.
    set_log_level(&s.account, "info");
    let (out, err, code) = run(&["sync", "--stack", "app-config", "--apply", "-o", "json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let closed = &json_of(&out)["stacks"][0]["closed_pull_requests"];
    assert_eq!(closed[0]["outcome"]["result"], "closed", "{out}");
    let pulls = fake.pulls();
    assert_eq!(pulls.len(), 1);
    assert!(!pulls[0].open, "{:?}", pulls[0]);
    assert_eq!(pulls[0].comments.len(), 2);
    assert!(
        pulls[0].comments[1].contains("is gone"),
        "{:?}",
        pulls[0].comments
    );
    let (out, _, code) = run(&["sync", "--stack", "app-config", "--apply", "-o", "json"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains("closed_pull_requests"),
        "nothing left to close: {out}"
    );
}

#[test]
fn a_git_remote_url_in_the_config_gets_the_token_only_when_the_operator_allows_its_host() {
    let server = GitHttpServer::start(TOKEN, false);
    let s = scenario_with(None);
    server.publish(&s.repo, "infra");
    let url = server.url("infra");
    let config = format!(
        "{}\ngit:\n  remote: {url}\n",
        crate::check::example("infra/driftsync.yaml")
    );
    s.repo.write("driftsync.yaml", &config);
    s.repo.commit("push codify branches to the team's server");
    set_log_level(&s.account, "debug");
    let args = ["codify", "--stack", "app-config", "--apply"];
    let before = server.requests().len(); // publishing pushed over http

    let (out, err, code) = driftsync_as_with(
        &s.account,
        s.repo.path(),
        &args,
        &[("DRIFTSYNC_GIT_TOKEN", TOKEN)],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let host = format!("127.0.0.1:{}", server.port());
    assert!(
        err.contains(&format!(
            "refusing to send credentials to {host}, which git.remote in driftsync.yaml names"
        )),
        "{err}"
    );
    assert_eq!(server.requests().len(), before, "{:?}", server.requests());
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN));

    let (out, err, code) = driftsync_as_with(
        &s.account,
        s.repo.path(),
        &args,
        &[
            ("DRIFTSYNC_GIT_TOKEN", TOKEN),
            ("DRIFTSYNC_ALLOWED_HOSTS", &host),
        ],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        server.requests()[before..]
            .iter()
            .any(|r| r.starts_with("allowed POST /infra.git/git-receive-pack")),
        "{:?}",
        server.requests()
    );
}

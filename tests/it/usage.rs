//! What a newcomer meets first: usage errors exit 1 (2 means differences),
//! and a summary's words agree with its exit code.

use std::path::Path;
use std::process::Command;

use crate::check::{driftsync_as, scenario_with};
use crate::cli::example_repo;
use crate::support::output_of;

/// Runs driftsync in `dir` with a clean environment plus `env`;
/// (stdout, stderr, code).
pub fn driftsync_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (String, String, i32) {
    let home = dir.join(".git/home");
    output_of(
        Command::new(env!("CARGO_BIN_EXE_driftsync"))
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DRIFTSYNC_STATE_DIR", home.join("state"))
            .env("HOME", home)
            .envs(env.iter().copied()),
    )
}

/// An endpoint nobody listens on.
pub fn dead_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// Static credentials and a region, pointed at `endpoint`.
pub fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".into()),
        ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_MAX_ATTEMPTS", "1".into()),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
    ]
}

pub fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn usage_errors_exit_1_with_clap_suggestions_and_help_and_version_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| driftsync_env(dir.path(), args, &[]);

    let (_, err, code) = run(&["chek"]);
    assert_eq!(
        code, 1,
        "a misspelt subcommand is an error, not drift: {err}"
    );
    assert!(
        err.contains("tip: some similar subcommands exist") && err.contains("'check'"),
        "{err}"
    );

    let (_, err, code) = run(&["check", "--stak", "web-sg"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--stack"), "the suggestion is kept: {err}");

    let (_, err, code) = run(&["check", "-o", "yaml"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("possible values"), "{err}");

    let (_, err, code) = run(&[]);
    assert_eq!(code, 1, "no subcommand at all: {err}");

    let (out, _, code) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage: driftsync"), "{out}");
    let (out, _, code) = run(&["check", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage: driftsync check"), "{out}");
    let (out, _, code) = run(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("driftsync "), "{out}");
}

#[test]
fn plan_against_an_unreachable_endpoint_never_says_nothing_to_do() {
    let r = example_repo();
    let env = aws_env(&dead_endpoint());
    let (out, err, code) = driftsync_env(r.path(), &["plan", "--color=never"], &pairs(&env));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(!out.contains("Nothing to do"), "{out}");
    assert!(
        out.contains("3 stacks could not be checked"),
        "the summary says why the exit code is 1: {out}"
    );
}

#[test]
fn plan_and_sync_summaries_use_singulars_and_say_what_changed_and_what_is_left() {
    let s = scenario_with(None);
    let dir = s.repo.path();
    let (out, err, code) = driftsync_as(&s.account, dir, &["plan", "--stack", "web-sg"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.contains("Plan: 1 step in 1 stack."), "{out}");
    assert!(
        !out.contains("1 steps") && !out.contains("1 stacks"),
        "{out}"
    );

    let (out, err, code) = driftsync_as(&s.account, dir, &["sync", "--stack", "web-sg", "--apply"]);
    assert_eq!(code, 2, "changes were made: {out}\n{err}");
    assert!(
        out.contains("Changed: 1 step applied in 1 stack (web-sg)."),
        "{out}"
    );
    assert!(out.contains("Left: nothing."), "{out}");

    let (out, err, code) = driftsync_as(&s.account, dir, &["plan", "--stack", "web-sg"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Nothing to do."), "{out}");
}

#[test]
fn log_lines_are_plain_when_piped_or_with_color_never_and_coloured_only_when_asked() {
    let r = example_repo();
    let env = aws_env(&dead_endpoint());
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "--stack", "web-sg", "-v"];
        args.extend_from_slice(extra);
        driftsync_env(r.path(), &args, &pairs(&env)).1
    };
    let piped = run(&[]);
    assert!(piped.contains("AWS call failed"), "{piped}");
    assert!(
        !piped.contains('\x1b'),
        "piped stderr has no colour: {piped:?}"
    );
    let never = run(&["--color", "never"]);
    assert!(!never.contains('\x1b'), "{never:?}");
    let always = run(&["--color", "always"]);
    assert!(
        always.contains("\x1b["),
        "--color always colours logs: {always:?}"
    );
}

#[test]
fn plan_help_has_no_apply_and_usage_lines_show_only_what_was_typed() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _, code) = driftsync_env(dir.path(), &["plan", "--help"], &[]);
    assert_eq!(code, 0);
    let has_apply = |help: &str| help.lines().any(|l| l.trim_start().starts_with("--apply"));
    assert!(!has_apply(&out), "plan never applies: {out}");
    let (out, _, _) = driftsync_env(dir.path(), &["sync", "--help"], &[]);
    assert!(has_apply(&out), "{out}");
    let (_, err, code) = driftsync_env(dir.path(), &["plan", "--apply"], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`driftsync sync --apply` does"), "{err}");

    let env = [
        ("DRIFTSYNC_STATE_DIR", "/var/lib/driftsync"),
        ("DRIFTSYNC_BRANCH", "main"),
    ];
    let (_, err, code) = driftsync_env(dir.path(), &["codify"], &env);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("Usage: driftsync codify --stack <NAME>\n"),
        "{err}"
    );
    assert!(
        !err.contains("--state-dir") && !err.contains("--branch"),
        "{err}"
    );
}

#[test]
fn a_missing_config_is_reported_once_and_an_uncommitted_one_says_to_commit_it() {
    let r = crate::support::TestRepo::new();
    let (_, err, code) = driftsync_env(r.path(), &["validate"], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("has no commits yet"),
        "a fresh `git init`: {err}"
    );
    r.write("README.md", "infra\n");
    r.commit("initial");
    let (_, err, code) = driftsync_env(r.path(), &["validate"], &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.matches("does not exist").count(), 1, "said once: {err}");

    std::fs::write(r.path().join("driftsync.yaml"), "version: 1\nstacks: []\n").unwrap();
    let (_, err, code) = driftsync_env(r.path(), &["validate"], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("driftsync.yaml is in the working tree but not in commit")
            && err.contains("driftsync reads commits, not the working tree")
            && err.contains("git add driftsync.yaml && git commit")
            && err.contains("--rev"),
        "{err}"
    );
}

const REFERENCE_BEGIN: &str = "<!-- BEGIN command reference: made from `driftsync -h`; DRIFTSYNC_BLESS=1 cargo test --test it usage::docs rewrites it -->";
const REFERENCE_END: &str = "<!-- END command reference -->";

/// `driftsync ARGS` with no environment at all, as help is documented.
fn help_of(args: &[&str]) -> String {
    let (out, err, code) = output_of(
        Command::new(env!("CARGO_BIN_EXE_driftsync"))
            .args(args)
            .env_clear(),
    );
    assert_eq!(code, 0, "{err}");
    out
}

/// Every command's `-h`, as a user sees it (no DRIFTSYNC_* set, not a terminal).
fn command_reference() -> String {
    let top = help_of(&["-h"]);
    let commands: Vec<String> = top
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 9, "{top}");
    let mut out = format!("### `driftsync`\n\n```text\n{top}```\n");
    for c in &commands {
        let help = help_of(&[c, "-h"]);
        out.push_str(&format!("\n### `driftsync {c}`\n\n```text\n{help}```\n"));
    }
    out
}

#[test]
fn docs_cli_md_command_reference_is_the_help_text() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc
        .find(REFERENCE_BEGIN)
        .expect("docs/cli.md has the reference markers")
        + REFERENCE_BEGIN.len();
    let end = doc.find(REFERENCE_END).expect("the end marker");
    let want = format!("\n\n{}\n", command_reference());
    if std::env::var_os("DRIFTSYNC_BLESS").is_some() {
        let updated = format!("{}{want}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        doc[start..end] == want,
        "docs/cli.md's command reference is not the help text; run \
         DRIFTSYNC_BLESS=1 cargo test --test it usage::docs and review the diff"
    );
}

#[test]
fn a_plan_whose_policy_only_reports_says_so_instead_of_nothing_to_do() {
    let full = crate::check::example("infra/driftsync.yaml");
    let config = format!(
        "{}policy:\n  default: report\n",
        &full[..full.find("\npolicy:").unwrap() + 1]
    );
    let s = scenario_with(Some(&config));
    let (out, err, code) = driftsync_as(&s.account, s.repo.path(), &["plan", "--stack", "web-sg"]);
    assert_eq!(code, 2, "a reported drift is a difference: {out}\n{err}");
    assert!(!out.contains("Nothing to do"), "{out}");
    assert!(
        out.contains("No steps: 1 difference left as they are by the policy (see above)."),
        "{out}"
    );
}

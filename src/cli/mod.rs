//! The command line: flags and subcommands (clap), turned into calls on the
//! library and printed by `report`. The only place besides `main` that
//! prints, and the only one that uses `anyhow`.

mod bootstrap;
mod check;
mod ci;
mod codify;
mod diff;
mod iam_policy;
pub mod output;
mod sync;
mod validate;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::source::{Credentials, Source, SourceOptions};

pub use output::Out;

/// Exit codes, as terraform's `-detailed-exitcode`: 0 clean, 2 differences, 1 error.
pub mod exit {
    pub const CLEAN: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const CHANGES: u8 = 2;
}

/// `driftsync --version`: the crate version and the commit it was built from
/// (`unknown` when built from a source tarball; see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DRIFTSYNC_GIT_COMMIT"),
    ")"
);

/// driftsync keeps AWS CloudFormation stacks exactly as their Git repository says.
#[derive(Debug, Parser)]
#[command(name = "driftsync", version = VERSION, about, long_about = None, after_help = EXIT_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_HELP: &str = "Exit codes: 0 no differences (or valid), 2 differences found, 1 error.";

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The infra repository: a local path, or a URL (https://, ssh://, git@host:path, file://).
    #[arg(
        long,
        global = true,
        default_value = ".",
        env = "DRIFTSYNC_REPO",
        value_name = "PATH|URL"
    )]
    pub repo: String,
    /// The revision to read (branch, tag, SHA, HEAD~n); default: the branch tip.
    #[arg(long, global = true)]
    pub rev: Option<String>,
    /// The branch whose tip is the default revision.
    #[arg(long, global = true, env = "DRIFTSYNC_BRANCH")]
    pub branch: Option<String>,
    /// Path of the config inside the repository.
    #[arg(long, global = true, default_value = crate::config::DEFAULT_PATH, env = "DRIFTSYNC_CONFIG")]
    pub config: String,
    /// Output format: human or json; `check` also markdown and sarif, `plan`
    /// and `sync` also markdown (`iam-policy` and `schema` print JSON).
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// More logging on stderr (-v, -vv).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Where driftsync keeps its state (drift history, actions, the audit log).
    #[arg(long, global = true, env = "DRIFTSYNC_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    /// Trusted keys: `sync --apply` acts only on a revision whose commit is
    /// signed by one of them; `check` and `plan` say when it is not. An SSH
    /// allowed-signers file or an armored OpenPGP keyring (repeat, or
    /// separate with commas).
    #[arg(
        long,
        global = true,
        env = "DRIFTSYNC_VERIFY_COMMITS",
        value_name = "KEYS",
        value_delimiter = ','
    )]
    pub verify_commits: Vec<std::path::PathBuf>,
    /// Which commits `--verify-commits` checks: the revision's own (`tip`),
    /// or every commit since the last revision driftsync applied from this
    /// state directory (`since-applied`).
    #[arg(
        long,
        global = true,
        env = "DRIFTSYNC_VERIFY_MODE",
        value_name = "MODE",
        default_value = "tip"
    )]
    pub verify_mode: VerifyMode,
}

/// See [`GlobalArgs::verify_mode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyMode {
    Tip,
    SinceApplied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
    /// For pull request comments and job summaries (`check`, `plan`, `sync`).
    Markdown,
    /// SARIF 2.1.0, for GitHub code scanning (`check`).
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config and every stack's template at a revision.
    Validate,
    /// Show what changed in the desired state between two revisions.
    Diff(diff::DiffArgs),
    /// Report pending commits and live drift for every stack.
    Check(check::CheckArgs),
    /// Show what sync would do about each drift and pending change, and why.
    Plan(sync::PlanArgs),
    /// Carry the plan out with --apply (without it, a dry run that prints the plan).
    Sync(sync::SyncArgs),
    /// Deploy driftsync's runbooks and AWS Config rules, one stack per region.
    Bootstrap(bootstrap::BootstrapArgs),
    /// Write a stack's drift into its template (or parameters) on a branch, for review.
    Codify(codify::CodifyArgs),
    /// Print the JSON Schema of driftsync.yaml.
    Schema,
    /// Print a least-privilege IAM policy for the stacks in the config.
    IamPolicy(iam_policy::IamPolicyArgs),
}

/// Runs a parsed command line, writing the report to `out`.
///
/// # Errors
/// Anything that stops the command from producing its report.
pub fn run(cli: &Cli, out: &mut Out) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Schema => {
            let schema = output::sorted_json(crate::config::json_schema())?;
            writeln!(out, "{schema}")?;
            Ok(ExitCode::from(exit::CLEAN))
        }
        Command::Validate => {
            only_human_or_json(&cli.global, "validate")?;
            validate::run(&cli.global, out)
        }
        Command::Diff(args) => {
            only_human_or_json(&cli.global, "diff")?;
            diff::run(&cli.global, args, out)
        }
        Command::Check(args) => check::run(&cli.global, args, out),
        Command::Plan(args) => sync::run(&cli.global, args, false, out),
        Command::Sync(args) => sync::run(&cli.global, &args.plan, args.apply, out),
        Command::Bootstrap(args) => bootstrap::run(&cli.global, args, out),
        Command::Codify(args) => codify::run(&cli.global, args, out),
        Command::IamPolicy(args) => iam_policy::run(&cli.global, args, out),
    }
}

fn only_human_or_json(g: &GlobalArgs, command: &str) -> anyhow::Result<()> {
    match g.output {
        OutputFormat::Human | OutputFormat::Json => Ok(()),
        other => anyhow::bail!("{command} writes human or json output, not {other:?}"),
    }
}

/// Opens the repository named by the global flags.
/// With `--verify-commits`, whether the revision's commit is signed by a
/// trusted key. When `enforce` (a run that changes AWS), an untrusted
/// revision is an error; otherwise it is reported and the run goes on.
pub(crate) fn verify_revision(
    g: &GlobalArgs,
    source: &Source,
    revision: &crate::source::Revision,
    enforce: bool,
) -> anyhow::Result<()> {
    if g.verify_commits.is_empty() {
        return Ok(());
    }
    let keys = crate::trust::TrustedKeys::load(&g.verify_commits)?;
    let commits = match g.verify_mode {
        VerifyMode::Tip => vec![revision.clone()],
        VerifyMode::SinceApplied => match commits_since_applied(g, source, revision) {
            Ok(c) => c,
            Err(e) if enforce => {
                return Err(
                    e.context("refusing to act on an unverified revision (--verify-commits)")
                );
            }
            Err(e) => {
                tracing::warn!("{e:#}; sync --apply would refuse this revision");
                return Ok(());
            }
        },
    };
    for commit in &commits {
        let signature = source.signature(commit)?;
        let (sig, signed) = match &signature {
            Some(s) => (Some(s.signature.as_slice()), s.signed.as_slice()),
            None => (None, &[][..]),
        };
        match keys.verify(&commit.sha, sig, signed, std::time::SystemTime::now()) {
            Ok(signer) => {
                tracing::info!(revision = %commit.short(), %signer, "the commit is signed by a trusted key");
            }
            Err(e) if enforce => {
                return Err(anyhow::Error::new(e)
                    .context("refusing to act on an unverified revision (--verify-commits)"));
            }
            Err(e) => {
                tracing::warn!("{e}; sync --apply would refuse this revision");
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The commits after the last revision driftsync applied, up to `revision`;
/// just `revision` when nothing was applied yet.
fn commits_since_applied(
    g: &GlobalArgs,
    source: &Source,
    revision: &crate::source::Revision,
) -> anyhow::Result<Vec<crate::source::Revision>> {
    let dir = match &g.state_dir {
        Some(d) => d.clone(),
        None => crate::store::default_state_dir()?,
    };
    let last = crate::store::Store::open(&dir)
        .and_then(|s| s.last_applied_revision())
        .with_context(|| {
            format!(
                "cannot read the last applied revision from {}",
                dir.display()
            )
        })?;
    let Some(last) = last else {
        tracing::info!(state = %dir.display(), "nothing applied from this state yet: verifying the revision only");
        return Ok(vec![revision.clone()]);
    };
    let short = &last[..last.len().min(12)];
    match source.commits_since(&last, revision)? {
        Some(c) if c.is_empty() => Ok(vec![revision.clone()]),
        Some(c) => Ok(c),
        None => anyhow::bail!(
            "the last applied revision {short} is not an ancestor of {} here: either the clone \
             is shallow (fetch the whole history, e.g. actions/checkout's fetch-depth: 0) or \
             history was rewritten, so the commits in between cannot be verified",
            revision.short()
        ),
    }
}

pub(crate) fn open_source(g: &GlobalArgs) -> anyhow::Result<Source> {
    let opts = SourceOptions {
        branch: g.branch.clone(),
        credentials: Credentials::from_env(),
        ..SourceOptions::default()
    };
    Source::open(&g.repo, &opts).with_context(|| {
        format!(
            "cannot open the repository {}",
            crate::source::redact_url(&g.repo)
        )
    })
}

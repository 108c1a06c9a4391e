//! `driftsync plan` and `driftsync sync [--apply]`: what to do about each
//! drift and pending change, and (with `--apply`) doing it.

use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::validate::revision_line;
use super::{GlobalArgs, Out, OutputFormat, open_source};
use crate::check::CheckOptions;
use crate::live::{Aws, DetectOptions};
use crate::store::{StateLock, Store};
use crate::sync::{self, SyncOptions};
use crate::{load, report};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Carry the plan out. Without it, `sync` is a dry run that prints the plan.
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub plan: PlanArgs,
}

/// What `plan` takes: everything `sync` does but `--apply`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Only these stacks (repeatable).
    #[arg(long = "stack", value_name = "NAME")]
    pub stacks: Vec<String>,
    /// Detect drift through Cloud Control (see `check --deep`).
    #[arg(long)]
    pub deep: bool,
    /// Reuse a drift detection that finished within this age.
    #[arg(long, value_name = "DURATION", value_parser = crate::config::parse_duration)]
    pub max_age: Option<Duration>,
    /// The check's deadline: stacks not checked by then are reported as
    /// timed out, and nothing is done to them.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = crate::config::parse_duration)]
    pub deadline: Duration,
    /// How long one remediation (a change set, a revert) may take.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = crate::config::parse_duration)]
    pub timeout: Duration,
    /// Stacks checked at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Do not publish verdicts to AWS Config (published with --apply when
    /// `driftsync bootstrap` created the rule).
    #[arg(long)]
    pub no_publish: bool,
    #[command(flatten)]
    pub ci: super::ci::CiArgs,
}

pub(super) fn run(
    g: &GlobalArgs,
    args: &PlanArgs,
    apply: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    if g.output == OutputFormat::Sarif {
        // Refused before anything is applied; --sarif-file gives the check's SARIF.
        anyhow::bail!("plan and sync write human, json or markdown output (SARIF: --sarif-file)");
    }
    let source = open_source(g)?;
    let revision = source.resolve(g.rev.as_deref())?;
    super::verify_revision(g, &source, &revision, apply)?;
    let snapshot = load::load(&source, &revision, &g.config)?;
    if let Some(unknown) = args
        .stacks
        .iter()
        .find(|n| snapshot.config.stack(n).is_none())
    {
        anyhow::bail!("no stack named \"{unknown}\" in {}", snapshot.config.path);
    }
    let policy = snapshot
        .policy()
        .context("the policy in the config cannot be used")?;
    let state_dir = match &g.state_dir {
        Some(d) => d.clone(),
        None => crate::store::default_state_dir()?,
    };
    // One applying process per state directory; a dry run only reads it.
    let _lock = if apply {
        Some(
            StateLock::acquire(&state_dir, lock_wait()?, std::time::SystemTime::now())
                .context("cannot apply")?,
        )
    } else {
        None
    };
    let store = Mutex::new(
        Store::open(&state_dir)
            .with_context(|| format!("cannot open the state in {}", state_dir.display()))?,
    );
    let opts = SyncOptions {
        apply,
        check: CheckOptions {
            deep: args.deep,
            stacks: args.stacks.clone(),
            concurrency: usize::from(args.concurrency),
            detect: DetectOptions {
                max_age: args.max_age,
                ..DetectOptions::default()
            },
            deadline: Some((args.deadline, "--deadline")),
            ..CheckOptions::default()
        },
        timeout: args.timeout,
        actor: actor(),
        publish_verdicts: !args.no_publish,
        codify: Some(sync::CodifyRepo {
            spec: g.repo.clone(),
            options: crate::source::SourceOptions {
                branch: g.branch.clone(),
                credentials: crate::source::Credentials::from_env(),
                ..crate::source::SourceOptions::default()
            },
        }),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let aws = Aws::from_env().await;
        sync::run(&snapshot, &aws, &store, &policy, &opts).await
    });
    let text = match g.output {
        OutputFormat::Human => report::plan::render(&report, &revision_line(&snapshot.revision)),
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
        OutputFormat::Markdown => report::plan::render_markdown(&report),
        OutputFormat::Sarif => unreachable!("refused above"),
    };
    // SARIF and annotations come from the check the plans were made from.
    let check = report.check.view(false);
    args.ci.finish(
        out,
        &text,
        || report::plan::render_markdown(&report),
        &check,
    )?;
    Ok(ExitCode::from(report.exit_code()))
}

/// Who is acting, for the audit log: `GITHUB_ACTOR` in Actions, else the user.
fn actor() -> String {
    std::env::var("GITHUB_ACTOR")
        .or_else(|_| std::env::var("USER"))
        .map(|u| format!("driftsync ({u})"))
        .unwrap_or_else(|_| "driftsync".into())
}

/// How long `sync --apply` waits for another one using the same state
/// directory: `DRIFTSYNC_LOCK_WAIT` (a duration such as `30s`), else a minute.
fn lock_wait() -> anyhow::Result<Duration> {
    match std::env::var("DRIFTSYNC_LOCK_WAIT") {
        Ok(v) if !v.is_empty() => crate::config::parse_duration(&v)
            .map_err(|e| anyhow::anyhow!("DRIFTSYNC_LOCK_WAIT={v}: {e}")),
        _ => Ok(Duration::from_secs(60)),
    }
}

//! `driftsync check`: pending commits and live drift for every stack.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::validate::revision_line;
use super::{GlobalArgs, Out, OutputFormat, open_source};
use crate::check::{self, CheckOptions, StackCheck};
use crate::live::{Aws, DetectOptions};
use crate::load;
use crate::report;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only these stacks (repeatable); default: every stack in the config.
    #[arg(long = "stack", value_name = "NAME")]
    pub stacks: Vec<String>,
    /// Only this resource (a logical id), through DetectStackResourceDrift.
    #[arg(long, value_name = "LOGICAL_ID")]
    pub resource: Option<String>,
    /// Compare every resource through Cloud Control, including live
    /// properties the template does not declare (CloudFormation cannot see those).
    #[arg(long)]
    pub deep: bool,
    /// Also show differences the noise filter or an ignore rule suppressed, and why.
    #[arg(long)]
    pub show_ignored: bool,
    /// Reuse a drift detection that finished within this age (e.g. 15m) instead of starting one.
    #[arg(long, value_name = "DURATION", value_parser = crate::config::parse_duration)]
    pub max_age: Option<Duration>,
    /// Give up on a drift detection after this long.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = crate::config::parse_duration)]
    pub detection_timeout: Duration,
    /// The whole run's deadline: stacks not checked by then are reported as
    /// timed out (exit 1), with the others' results.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = crate::config::parse_duration)]
    pub deadline: Duration,
    /// Stacks checked at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Skip looking up who changed drifted resources in CloudTrail.
    #[arg(long)]
    pub no_attribution: bool,
    /// Skip drift detection for stacks AWS Config's drift rule (deployed by
    /// `driftsync bootstrap`) found compliant within this age and since their
    /// last update, e.g. 1h. Pending changes are still checked.
    #[arg(long, value_name = "DURATION", value_parser = crate::config::parse_duration)]
    pub trust_config: Option<Duration>,
    #[command(flatten)]
    pub ci: super::ci::CiArgs,
}

pub(super) fn run(g: &GlobalArgs, args: &CheckArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let source = open_source(g)?;
    let revision = source.resolve(g.rev.as_deref())?;
    super::verify_revision(g, &source, &revision, false)?;
    let snapshot = load::load(&source, &revision, &g.config)?;
    if let Some(unknown) = args
        .stacks
        .iter()
        .find(|n| snapshot.config.stack(n).is_none())
    {
        anyhow::bail!("no stack named \"{unknown}\" in {}", snapshot.config.path);
    }
    if args.resource.is_some() && args.stacks.len() != 1 {
        anyhow::bail!("--resource needs exactly one --stack");
    }
    let opts = CheckOptions {
        deep: args.deep,
        resource: args.resource.clone(),
        stacks: args.stacks.clone(),
        concurrency: usize::from(args.concurrency),
        detect: DetectOptions {
            max_age: args.max_age,
            timeout: args.detection_timeout,
            ..DetectOptions::default()
        },
        attribution: !args.no_attribution,
        trust_config: args.trust_config,
        deadline: Some((args.deadline, "--deadline")),
        ..CheckOptions::default()
    };
    let total = if args.stacks.is_empty() {
        snapshot.stacks.len()
    } else {
        args.stacks.len()
    };
    let bar = progress_bar(g, total);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let aws = Aws::from_env().await;
        let tick = |s: &StackCheck| {
            if let Some(b) = &bar {
                b.set_message(s.name.clone());
                b.inc(1);
            }
        };
        check::run(&snapshot, &aws, &opts, &tick).await
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let view = report.view(args.show_ignored);
    let text = match g.output {
        OutputFormat::Human => report::human::render(&view, &revision_line(&snapshot.revision)),
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&view)?),
        OutputFormat::Markdown => report::markdown::render(&view),
        OutputFormat::Sarif => format!(
            "{}\n",
            super::output::sorted_json(report::sarif::render(&view))?
        ),
    };
    args.ci
        .finish(out, &text, || report::markdown::render(&view), &view)?;
    Ok(ExitCode::from(report.exit_code()))
}

/// A progress bar on stderr, only for a person at a terminal: never in CI,
/// when piped, or with `-q`.
fn progress_bar(g: &GlobalArgs, total: usize) -> Option<indicatif::ProgressBar> {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    if g.quiet || ci || !std::io::stderr().is_terminal() || total < 2 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} checking stacks {pos}/{len} {wide_bar} {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

//! `driftsync codify --stack NAME [--apply]`: the template change that keeps
//! a stack's live state. Without `--apply` it prints the patch and the pull
//! request body; with it, it also commits and pushes the branch and, with a
//! `github:` section, opens or updates the pull request.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use clap::Args;
use serde_json::json;

use super::{GlobalArgs, Out, OutputFormat, exit, open_source};
use crate::allowed_hosts::AllowedHosts;
use crate::check::{self, CheckOptions};
use crate::codify;
use crate::live::{Aws, DetectOptions};
use crate::load;
use crate::policy::NoHistory;
use crate::source::{Credentials, credentials_for};
use crate::sync::review;

#[derive(Debug, Args)]
pub struct CodifyArgs {
    /// The stack whose drift to write into its template.
    #[arg(long, value_name = "NAME")]
    pub stack: String,
    /// Commit the change on its branch and push it. Without it, print the
    /// patch and the pull request body.
    #[arg(long)]
    pub apply: bool,
    /// Reuse a drift detection that finished within this age.
    #[arg(long, value_name = "DURATION", value_parser = crate::config::parse_duration)]
    pub max_age: Option<Duration>,
}

pub(super) fn run(g: &GlobalArgs, args: &CodifyArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    if matches!(g.output, OutputFormat::Sarif | OutputFormat::Markdown) {
        anyhow::bail!("codify writes human or json output");
    }
    let source = open_source(g)?;
    let mut revision = source.resolve(g.rev.as_deref())?;
    let mut snapshot = load::load(&source, &revision, &g.config)?;
    // The change is proposed on the base branch's tip, not wherever HEAD is.
    if g.rev.is_none() && g.branch.is_none() {
        let base = snapshot.config.git.base.clone();
        let tip = source
            .resolve(Some(&base))
            .with_context(|| format!("the base branch \"{base}\" (git.base)"))?;
        if tip.sha != revision.sha {
            revision = tip;
            snapshot = load::load(&source, &revision, &g.config)?;
        }
    }
    if snapshot.config.stack(&args.stack).is_none() {
        anyhow::bail!(
            "no stack named \"{}\" in {}",
            args.stack,
            snapshot.config.path
        );
    }
    let policy = snapshot
        .policy()
        .context("the policy in the config cannot be used")?;
    let opts = CheckOptions {
        stacks: vec![args.stack.clone()],
        detect: DetectOptions {
            max_age: args.max_age,
            ..DetectOptions::default()
        },
        ..CheckOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let aws = Aws::from_env().await;
        check::run(&snapshot, &aws, &opts, &|_| {}).await
    });
    let stack = report
        .stacks
        .into_iter()
        .next()
        .context("the check returned no stack")?;
    if let Some(e) = &stack.error {
        anyhow::bail!("cannot check stack {}: {e}", stack.name);
    }
    let decisions = policy.decide(&stack, &NoHistory, SystemTime::now());
    let refused = codify::guard_refusals(&stack, &decisions.decisions);
    let prepared = codify::prepare(&source, &snapshot, &stack, None, &refused, true)?;

    let published = if args.apply && !prepared.proposal.is_empty() {
        Some(codify::push(
            &source,
            &snapshot,
            &prepared,
            &credentials_for(&g.repo, &Credentials::from_env()),
            &AllowedHosts::from_env(|k| std::env::var(k).ok()).and_operator_url(&g.repo),
        )?)
    } else {
        None
    };
    // With a `github:` section, the pushed branch becomes a pull request.
    let review = match (&published, &snapshot.config.github) {
        (Some(_), Some(settings)) => Some(
            runtime
                .block_on(review::open_or_update(settings, &prepared.pull_request))
                .context("the branch is pushed, but the pull request is not open")?,
        ),
        _ => None,
    };
    match g.output {
        OutputFormat::Json => {
            let v = json!({
                "schema_version": 1,
                "revision": snapshot.revision.sha,
                "stack": stack.name,
                "changes": prepared.proposal.changes,
                "skipped": prepared.proposal.skipped,
                "files": prepared.proposal.files,
                "proof": prepared.proof,
                "pull_request": prepared.pull_request,
                "patch": prepared.patch,
                "published": published,
                "review": review,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        }
        _ => {
            if prepared.proposal.is_empty() {
                writeln!(out, "Nothing to codify for stack {}.", stack.name)?;
                for s in &prepared.proposal.skipped {
                    writeln!(
                        out,
                        "  left alone: {} {}: {}",
                        s.logical_id, s.property_path, s.reason
                    )?;
                }
            } else {
                write!(out, "{}", prepared.patch)?;
                let pr = &prepared.pull_request;
                writeln!(
                    out,
                    "\nPull request: {} ({} → {})\n",
                    pr.title, pr.branch, pr.base
                )?;
                write!(out, "{}", pr.body)?;
            }
            if let Some(p) = &published {
                let state = serde_json::to_value(p.state)?;
                writeln!(
                    out,
                    "\nBranch {} {} at {}.",
                    p.branch,
                    state.as_str().unwrap_or_default(),
                    &p.commit[..p.commit.len().min(12)]
                )?;
            }
            if let Some(r) = &review {
                let what = serde_json::to_value(&r.outcome)?;
                writeln!(
                    out,
                    "Pull request {} in {}: {}.",
                    r.outcome.url().unwrap_or_default(),
                    r.repository,
                    what["result"].as_str().unwrap_or_default()
                )?;
            }
        }
    }
    if prepared.proposal.is_empty() {
        return Ok(ExitCode::from(exit::CLEAN));
    }
    if !prepared.proof.holds {
        anyhow::bail!(
            "the proposed change does not make the template match live: {}",
            prepared
                .proof
                .error
                .clone()
                .unwrap_or_else(|| "see the proof above".into())
        );
    }
    Ok(ExitCode::from(exit::CHANGES))
}

//! `driftsync iam-policy`: prints the least-privilege IAM policy for the
//! stacks in the config (see `iam`). Every stack must load: the policy is
//! built from the resource types its template declares.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{GlobalArgs, Out, exit, open_source};
use crate::iam::{self, Mode};
use crate::load;

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// `check`: read-only (check and plan); `sync`: what `sync --apply` also needs.
    #[arg(long, value_enum, default_value_t = PolicyMode::Check)]
    pub mode: PolicyMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyMode {
    Check,
    Sync,
}

pub(super) fn run(g: &GlobalArgs, args: &IamPolicyArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let source = open_source(g)?;
    let revision = source.resolve(g.rev.as_deref())?;
    let snapshot = load::load(&source, &revision, &g.config)?;
    let mut types = BTreeSet::new();
    for s in &snapshot.stacks {
        let Some(desired) = &s.desired else {
            let why = s
                .diagnostics
                .iter()
                .find(|d| d.diagnostic.severity == crate::template::validate::Severity::Error)
                .map(|d| format!("{}: {}", d.place(), d.diagnostic.message))
                .unwrap_or_else(|| s.spec.template.clone());
            anyhow::bail!(
                "stack {} does not load, so its resource types are unknown: {why}",
                s.spec.name
            );
        };
        types.extend(desired.resources.values().map(|r| r.type_name.clone()));
    }
    let mode = match args.mode {
        PolicyMode::Check => Mode::Check,
        PolicyMode::Sync => Mode::Sync,
    };
    let policy = iam::policy(&snapshot.config, &types, mode);
    for t in &policy.uncovered_types {
        tracing::warn!(
            "{t}: its resource schema lists no handler permissions; add its read{} permissions yourself",
            if mode == Mode::Sync {
                " and update"
            } else {
                ""
            }
        );
    }
    writeln!(out, "{}", super::output::sorted_json(policy.document)?)?;
    Ok(ExitCode::from(exit::CLEAN))
}

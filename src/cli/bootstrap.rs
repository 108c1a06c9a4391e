//! `driftsync bootstrap`: deploys the AWS-native half of the design (the SSM
//! runbooks, their role, the Config drift rule, the verdict rule, optionally
//! automatic Config remediation) as one stack per region and role in the
//! config. Idempotent; `--dry-run` prints the template.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{GlobalArgs, Out, open_source};
use crate::live::{self, Aws, Calls};
use crate::load;
use crate::remediate::bootstrap::{self, BootstrapOptions, STACK_NAME};
use crate::remediate::{
    ChangeSetKind, ChangeSetOutcome, ChangeSetRequest, change_set_name, run_change_set,
};

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Print the template instead of deploying it.
    #[arg(long)]
    pub dry_run: bool,
    /// Let AWS Config revert drifted stacks by itself (REVERT_DRIFT through the runbook).
    #[arg(long)]
    pub auto_remediate: bool,
    /// Limit the Config drift rule to stacks with this tag, as KEY=VALUE.
    #[arg(long, value_name = "KEY=VALUE")]
    pub scope_tag: Option<String>,
    /// Only this region (default: every region in the config).
    #[arg(long)]
    pub region: Option<String>,
}

pub(super) fn run(g: &GlobalArgs, args: &BootstrapArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let source = open_source(g)?;
    let revision = source.resolve(g.rev.as_deref())?;
    let snapshot = load::load(&source, &revision, &g.config)?;
    let scope_tag = match &args.scope_tag {
        None => None,
        Some(t) => match t.split_once('=') {
            Some((k, v)) if !k.is_empty() => Some((k.to_string(), v.to_string())),
            _ => anyhow::bail!("--scope-tag takes KEY=VALUE, not \"{t}\""),
        },
    };
    let resource_types: BTreeSet<String> = snapshot
        .stacks
        .iter()
        .filter_map(|s| s.desired.as_ref())
        .flat_map(|d| d.resources.values().map(|r| r.type_name.clone()))
        .collect();
    let opts = BootstrapOptions {
        resource_types,
        scope_tag,
        auto_remediate: args.auto_remediate,
    };
    let template = serde_json::to_string_pretty(&bootstrap::template(&opts))?;
    if args.dry_run {
        writeln!(out, "{template}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut targets: BTreeSet<(String, Option<String>)> = snapshot
        .config
        .stacks
        .iter()
        .map(|s| (s.region.clone(), s.role_arn.clone()))
        .collect();
    if let Some(r) = &args.region {
        targets.retain(|(region, _)| region == r);
        if targets.is_empty() {
            targets.insert((r.clone(), None));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut changed = false;
    runtime.block_on(async {
        let aws = Aws::from_env().await;
        for (region, role) in &targets {
            let clients = aws.clients(region, role.as_deref()).await?;
            let calls = Calls::default();
            let exists =
                live::describe_stacks(&clients, &[STACK_NAME], &Default::default(), &calls)
                    .await?
                    .remove(STACK_NAME)
                    .flatten()
                    .is_some();
            let req = ChangeSetRequest {
                stack: STACK_NAME.to_string(),
                kind: ChangeSetKind::Deploy {
                    template_body: template.clone(),
                    parameters: Vec::new(),
                },
                name: change_set_name("bootstrap", &[&template]),
                capabilities: vec!["CAPABILITY_IAM".into()],
                tags: vec![("managed-by".into(), "driftsync".into())],
                allow_replacement: true,
                timeout: Duration::from_secs(1800),
                artifacts: None,
            };
            let outcome = if exists {
                run_change_set(&clients, &req, &|_| {}, &calls).await?
            } else {
                crate::remediate::changeset::create_stack(&clients, &req, &|_| {}, &calls).await?
            };
            let line = match &outcome {
                ChangeSetOutcome::Applied { stack_status, .. } => {
                    changed = true;
                    format!("{STACK_NAME} in {region}: {stack_status}")
                }
                ChangeSetOutcome::NoChanges { .. } => {
                    format!("{STACK_NAME} in {region}: up to date")
                }
                ChangeSetOutcome::Refused { replacements, .. } => format!(
                    "{STACK_NAME} in {region}: refused ({})",
                    replacements.join(", ")
                ),
                ChangeSetOutcome::Failed {
                    stack_status,
                    reason,
                    ..
                } => anyhow::bail!("{STACK_NAME} in {region}: {stack_status}: {reason}"),
            };
            writeln!(out, "{line}")?;
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::from(if changed { 2 } else { 0 }))
}

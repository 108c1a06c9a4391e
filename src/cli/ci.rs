//! Report files for CI from the same run, so one drift detection feeds every
//! consumer: the report itself to a file, the markdown job summary, SARIF for
//! code scanning, workflow annotations on stdout, and step outputs. The
//! GitHub Action is a thin wrapper over these flags (see docs/github-action.md).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::Out;
use crate::check::CheckReport;
use crate::report;

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "CI outputs")]
pub struct CiArgs {
    /// Write the report (in the --output format) to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub report_file: Option<PathBuf>,
    /// Append the markdown report to FILE (GitHub's "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    pub summary_file: Option<PathBuf>,
    /// Write SARIF 2.1.0 for code scanning to FILE.
    #[arg(long, value_name = "FILE")]
    pub sarif_file: Option<PathBuf>,
    /// Print GitHub workflow annotations (::warning file=…,line=…::) on stdout.
    #[arg(long)]
    pub annotations: bool,
    /// Append step outputs to FILE ("$GITHUB_OUTPUT"): drift-detected,
    /// pending-detected, report-path, sarif-path.
    #[arg(long, value_name = "FILE")]
    pub github_output: Option<PathBuf>,
}

fn write(path: &Path, text: &str, append: bool, what: &str) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true);
    if append {
        opts.append(true);
    } else {
        opts.write(true).truncate(true);
    }
    opts.open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write the {what} to {}", path.display()))
}

impl CiArgs {
    /// Writes `text` (the report in the `--output` format) where it goes, and
    /// every file asked for. `summary` is the markdown report; `check` is the
    /// check behind it (for SARIF, annotations and outputs).
    pub(super) fn finish(
        &self,
        out: &mut Out,
        text: &str,
        summary: impl FnOnce() -> String,
        check: &CheckReport,
    ) -> anyhow::Result<()> {
        match &self.report_file {
            Some(p) => write(p, text, false, "report")?,
            None => out.write_all(text.as_bytes())?,
        }
        if self.annotations {
            write!(out, "{}", report::annotations::render(check))?;
        }
        if let Some(p) = &self.summary_file {
            write(p, &format!("{}\n", summary()), true, "job summary")?;
        }
        if let Some(p) = &self.sarif_file {
            let sarif = super::output::sorted_json(report::sarif::render(check))?;
            write(p, &format!("{sarif}\n"), false, "SARIF report")?;
        }
        if let Some(p) = &self.github_output {
            let mut files = Vec::new();
            if let Some(r) = &self.report_file {
                files.push(("report-path", r.display().to_string()));
            }
            if let Some(s) = &self.sarif_file {
                files.push(("sarif-path", s.display().to_string()));
            }
            write(
                p,
                &report::github::outputs(check, &files),
                true,
                "step outputs",
            )?;
        }
        Ok(())
    }
}

//! The `driftsync` binary: parses the command line, sets up logging, runs
//! the command and maps the outcome to an exit code (0 clean, 2 changes,
//! 1 error, usage errors included). Errors print with their causes; a closed
//! pipe is not an error.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use driftsync::cli::{self, Cli, Out};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    init_logging(&cli.global);
    let mut out = Out::stdout(cli.global.color);
    let result = cli::run(&cli, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            let mut stderr = cli::output::stderr(cli.global.color);
            let _ = writeln!(
                stderr,
                "{}error:{} {e:#}",
                anstyle::AnsiColor::Red.render_fg(),
                anstyle::Reset.render()
            );
            ExitCode::from(cli::exit::ERROR)
        }
    }
}

/// clap's own report (help, version, or a usage error with its suggestions);
/// a usage error exits 1, since clap's 2 means "differences found" here.
fn usage(e: &clap::Error) -> ExitCode {
    if e.exit_code() == 0 {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    // clap's usage line shows flags set from the environment
    // (DRIFTSYNC_STATE_DIR, ...) as if typed; the same error without the
    // environment shows what the user typed.
    let plain = Cli::command()
        .mut_args(|a| a.env(None))
        .try_get_matches()
        .err()
        .filter(|p| p.kind() == e.kind());
    let _ = plain.as_ref().unwrap_or(e).print();
    if e.kind() == clap::error::ErrorKind::UnknownArgument
        && std::env::args().any(|a| a == "plan")
        && std::env::args().any(|a| a == "--apply")
    {
        eprintln!("tip: `plan` never applies; `driftsync sync --apply` does");
    }
    ExitCode::from(cli::exit::ERROR)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Crates whose trace-level logs print wire bodies.
const WIRE_LOGGERS: [&str; 4] = [
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
];

fn init_logging(g: &cli::GlobalArgs) {
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_env("DRIFTSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("driftsync={level}")));
    // The AWS SDK logs whole request and response bodies at trace level, and
    // those carry secrets (NoEcho values, SSM SecureStrings, parameter
    // values): whatever DRIFTSYNC_LOG asks, those events are dropped.
    let no_wire_bodies = tracing_subscriber::filter::filter_fn(|meta| {
        *meta.level() != tracing::Level::TRACE
            || !WIRE_LOGGERS.iter().any(|t| meta.target().starts_with(t))
    });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(cli::output::stderr_in_colour(g.color))
                .with_target(false)
                .with_filter(filter)
                .with_filter(no_wire_bodies),
        )
        .init();
}

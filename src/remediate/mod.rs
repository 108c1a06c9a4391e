//! Changes AWS to match Git: change sets (deploy pending commits, revert
//! drift with REVERT_DRIFT) and property-level reverts (an RFC 6902 patch
//! through Cloud Control, directly or by the driftsync SSM runbook).
//!
//! Owns every AWS write driftsync makes and its safety at the call: refusing
//! replacements, deterministic names and tokens so a rerun never acts twice,
//! waiting for each operation to end. It must not decide *what* to do (that
//! is `policy` and `plan`) or keep history (that is `store`).

pub mod artifacts;
pub mod bootstrap;
pub mod changeset;
mod events;
pub mod fate;
pub mod patch;
pub mod revert;

pub use changeset::{
    ChangeSetKind, ChangeSetOutcome, ChangeSetRequest, StackEvent, change_set_name, run_change_set,
};
pub use revert::{
    RUNBOOK, RUNBOOK_NAME, RevertOutcome, RevertRequest, Via, revert, runbook_installed,
};

/// Why a remediation could not run to an outcome.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemediateError {
    #[error(transparent)]
    Live(#[from] crate::live::LiveError),
    #[error("change set {change_set} for stack {stack} failed: {reason}")]
    ChangeSetFailed {
        stack: String,
        change_set: String,
        reason: String,
    },
    #[error("the template of stack {stack} is {too_large}")]
    TemplateTooLarge {
        stack: String,
        too_large: artifacts::TooLarge,
    },
    #[error("uploading the template of stack {stack} to s3://{bucket}/{key} failed: {message}")]
    Upload {
        stack: String,
        bucket: String,
        key: String,
        message: String,
    },
    #[error("waiting for {what} of stack {stack} timed out")]
    TimedOut { stack: String, what: String },
    #[error(
        "the SSM document {document} does not exist: run `driftsync bootstrap`, or set `policy.revert.via: cloudcontrol`"
    )]
    RunbookMissing { document: String },
    #[error("stack {stack}: {message}")]
    Protocol { stack: String, message: String },
}

impl RemediateError {
    pub fn is_retryable(&self) -> bool {
        match self {
            RemediateError::Live(e) => e.is_retryable(),
            RemediateError::TimedOut { .. } => true,
            _ => false,
        }
    }
}

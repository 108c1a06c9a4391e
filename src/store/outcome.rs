//! The outcome vocabulary: the one set of words the `actions` table's
//! `outcome` column and the audit log's `outcome` field use, serialised
//! here and nowhere else. `docs/state.md` lists the same words, and a test
//! keeps the two in step.

use serde::{Deserialize, Serialize};

/// How an action (or a step of a run) ended, as the state store records it.
///
/// The `actions` table stores `succeeded`, `failed`, `refused` and
/// `interrupted`; the audit log uses every word. Lines written before this vocabulary said `applied`
/// or `no_changes` for a success; they still read as [`Self::Succeeded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// About to change AWS: the intent, written (with the attempt's row)
    /// before acting. Audit log only; the row's outcome is NULL meanwhile.
    Started,
    /// AWS now matches what the action set out to do.
    #[serde(alias = "applied", alias = "no_changes")]
    Succeeded,
    /// Another run finished this action already; nothing was done.
    AlreadyDone,
    /// It was tried and did not work; the next run may try again.
    Failed,
    /// Deliberately not done (it would replace a resource, say).
    Refused,
    /// A run was killed during the attempt and AWS shows it never took
    /// effect; the next run may try again.
    Interrupted,
    /// Left to another part of driftsync (a codify step with no repository).
    Deferred,
}

impl OutcomeKind {
    /// Every outcome, in the order `docs/state.md` lists them.
    pub const ALL: [OutcomeKind; 7] = [
        OutcomeKind::Started,
        OutcomeKind::Succeeded,
        OutcomeKind::AlreadyDone,
        OutcomeKind::Failed,
        OutcomeKind::Refused,
        OutcomeKind::Interrupted,
        OutcomeKind::Deferred,
    ];

    /// The word stored and written, e.g. `already_done`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Started => "started",
            OutcomeKind::Succeeded => "succeeded",
            OutcomeKind::AlreadyDone => "already_done",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Refused => "refused",
            OutcomeKind::Interrupted => "interrupted",
            OutcomeKind::Deferred => "deferred",
        }
    }

    /// The inverse of [`Self::as_str`]; `None` for any other word.
    pub fn parse(word: &str) -> Option<OutcomeKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

//! Remediation actions: begun before acting, finished after, and made
//! idempotent by a caller-chosen key, so a process killed in between cannot
//! act twice when it runs again. A key has numbered attempts: a failed one
//! is history, and the next run tries again.

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::{AuditEvent, OutcomeKind, Store, StoreError, count, from_ms, to_ms, window_start};

/// The `action` name that [`Store::reverts_within`] counts.
pub const REVERT: &str = "revert";

/// A remediation action's row id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ActionId(i64);

impl ActionId {
    /// The row id, for logs and audit details.
    pub fn get(self) -> i64 {
        self.0
    }

    pub(super) fn from_row(id: i64) -> Self {
        ActionId(id)
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the caller is about to do.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionIntent {
    /// Identifies the change, not the attempt: derive it from what is being
    /// done (stack, resource, path, revision, the value being restored), so
    /// that a rerun computes the same key. A retry after a failure is a new
    /// attempt under the same key ([`Begin::New`] gives its number).
    pub idempotency_key: String,
    pub stack: String,
    /// `""` for an action on the whole stack (a re-apply).
    pub logical_id: String,
    /// CloudFormation's `PropertyPath`, `""` for the whole resource.
    pub property_path: String,
    /// What is done: [`REVERT`], `"reapply"`, `"codify"`...
    pub action: String,
    /// The git revision the action brings the stack to.
    pub revision: String,
    /// Anything needed to reconcile after a crash (a change set name, an
    /// SSM execution id), or to explain the action later.
    pub detail: serde_json::Value,
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed {
        reason: String,
    },
    /// Deliberately not done (it would replace a resource, say).
    Refused {
        reason: String,
    },
    /// The run making the attempt was killed, and AWS shows the attempt
    /// never took effect. Like a failure, it is history: the next run may
    /// make a new attempt.
    Interrupted {
        reason: String,
    },
}

impl Outcome {
    /// Its word in the outcome vocabulary.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Succeeded => OutcomeKind::Succeeded,
            Outcome::Failed { .. } => OutcomeKind::Failed,
            Outcome::Refused { .. } => OutcomeKind::Refused,
            Outcome::Interrupted { .. } => OutcomeKind::Interrupted,
        }
    }

    /// `succeeded`, `failed`, `refused` or `interrupted`, as stored.
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Why it failed or was refused.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Succeeded => None,
            Outcome::Failed { reason }
            | Outcome::Refused { reason }
            | Outcome::Interrupted { reason } => Some(reason),
        }
    }
}

/// A remediation action as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub id: ActionId,
    pub intent: ActionIntent,
    pub started_at: SystemTime,
    /// `None` while in progress.
    pub finished_at: Option<SystemTime>,
    pub outcome: Option<Outcome>,
    /// 1 for the key's first attempt; each retry after a failure adds one.
    pub attempt: u32,
}

/// What [`Store::begin`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// A new attempt (its number): go ahead, then [`Store::finish`] it.
    New(ActionId, u32),
    /// Begun and never finished, probably by a run that died. The action
    /// may or may not have happened: find out (look the change set up)
    /// and finish it, rather than acting again.
    InProgress(ActionRecord),
    /// Done since the caller looked at AWS (or refused): do nothing.
    Done(ActionRecord),
}

const COLUMNS: &str = "id, idempotency_key, stack, logical_id, property_path, action, revision, \
                       detail, started_at, finished_at, outcome, reason, attempt";

impl Store {
    /// Records that an attempt at the action is about to be made, unless
    /// one need not be. Per idempotency key:
    /// - an attempt in progress (a run that died, or one running now) is
    ///   returned to be joined, never doubled;
    /// - a success that finished at or after `observed` (when the caller
    ///   last looked at AWS) is done: the caller's view predates it. A
    ///   refusal is done whenever it was made;
    /// - otherwise (no attempt, a failure, or a success older than what AWS
    ///   shows now) a new attempt is recorded. A failure never counts as done.
    ///
    /// The stored intent is returned, even if the new one differs. The write
    /// lock makes this hold across processes.
    ///
    /// # Errors
    /// A database failure; [`StoreError::is_retryable`] if another process
    /// held the write lock past the busy timeout.
    pub fn begin(
        &mut self,
        intent: &ActionIntent,
        observed: SystemTime,
        now: SystemTime,
    ) -> Result<Begin, StoreError> {
        let now = to_ms(now, "begin")?;
        self.write("begin an action", |tx, path| {
            begin_in(tx, path, intent, observed, now)
        })
    }

    /// [`Store::begin`], writing `event` (the intent, about to act) to the
    /// audit log in the same transaction when an attempt is to be made, new
    /// or joined. The attempt's row is committed only after the line is on
    /// disk, so an action is never taken without both; if either write
    /// fails, the caller gets the error and must not act. The line's
    /// `detail` gains the `action_id` and `attempt`.
    ///
    /// # Errors
    /// As [`Store::begin`], and [`StoreError::Audit`] if the line cannot be
    /// written (the attempt is then not recorded either).
    pub fn begin_audited(
        &mut self,
        intent: &ActionIntent,
        observed: SystemTime,
        now: SystemTime,
        event: &AuditEvent,
    ) -> Result<Begin, StoreError> {
        const OP: &str = "begin an action";
        let now = to_ms(now, "begin")?;
        let path = &self.db_path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::sqlite(OP, path, e))?;
        let begun = begin_in(&tx, path, intent, observed, now)?;
        let (id, attempt) = match &begun {
            Begin::New(id, attempt) => (*id, *attempt),
            Begin::InProgress(rec) => (rec.id, rec.attempt),
            Begin::Done(_) => return Ok(begun),
        };
        let mut event = event.clone();
        if let Some(detail) = event.detail.as_object_mut() {
            detail.insert("action_id".into(), id.0.into());
            detail.insert("attempt".into(), attempt.into());
            let joined = matches!(begun, Begin::InProgress(_));
            detail.insert("joined".into(), joined.into());
        }
        self.audit.write_event(&tx, path, &event)?;
        tx.commit().map_err(|e| StoreError::sqlite(OP, path, e))?;
        Ok(begun)
    }

    /// Records how the action ended. Finishing again with the same outcome
    /// is a no-op, so a retried `finish` is safe.
    ///
    /// # Errors
    /// [`StoreError::UnknownAction`], or [`StoreError::AlreadyFinished`]
    /// with a different outcome.
    pub fn finish(
        &mut self,
        id: ActionId,
        outcome: &Outcome,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let now = to_ms(now, "finish")?;
        self.write("finish an action", |tx, path| {
            let sql = format!("SELECT {COLUMNS} FROM actions WHERE id = ?1");
            let record = tx
                .query_row(&sql, [id.0], |row| Ok(read(row, path)))
                .optional()
                .map_err(|e| StoreError::sqlite("finish an action", path, e))?
                .transpose()?
                .ok_or_else(|| StoreError::UnknownAction {
                    path: path.to_path_buf(),
                    id,
                })?;
            match record.outcome {
                Some(existing) if existing == *outcome => Ok(()),
                Some(existing) => Err(StoreError::AlreadyFinished {
                    id,
                    existing: existing.as_str().to_owned(),
                    requested: outcome.as_str().to_owned(),
                }),
                None => tx
                    .execute(
                        "UPDATE actions SET finished_at = ?2, outcome = ?3, reason = ?4 \
                         WHERE id = ?1",
                        params![id.0, now, outcome.as_str(), outcome.reason()],
                    )
                    .map(drop)
                    .map_err(|e| StoreError::sqlite("finish an action", path, e)),
            }
        })
    }

    /// How many `action`s on the resource succeeded within `window` before
    /// `now` (by when they finished): what a "at most N per window" limit
    /// counts. `logical_id` is `""` for stack-wide actions.
    pub fn succeeded_within(
        &self,
        stack: &str,
        logical_id: &str,
        action: &str,
        window: Duration,
        now: SystemTime,
    ) -> Result<u32, StoreError> {
        let since = window_start(now, window)?;
        self.conn
            .query_row(
                "SELECT count(*) FROM actions WHERE stack = ?1 AND logical_id = ?2 \
                 AND action = ?3 AND outcome = 'succeeded' AND finished_at >= ?4",
                params![stack, logical_id, action, since],
                |row| row.get(0),
            )
            .map(count)
            .map_err(|e| self.sqlite("count actions", e))
    }

    /// [`Store::succeeded_within`] for [`REVERT`] actions.
    pub fn reverts_within(
        &self,
        stack: &str,
        logical_id: &str,
        window: Duration,
        now: SystemTime,
    ) -> Result<u32, StoreError> {
        self.succeeded_within(stack, logical_id, REVERT, window, now)
    }

    /// The stack's most recent actions, newest first, at most `limit`.
    pub fn history(&self, stack: &str, limit: usize) -> Result<Vec<ActionRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.select_actions(
            "WHERE stack = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2",
            params![stack, limit],
        )
    }

    /// The stack's actions that were begun and never finished, oldest first.
    /// A run should reconcile these first: their drift may be gone (the
    /// action worked before the crash), so their keys may never come up.
    pub fn unfinished(&self, stack: &str) -> Result<Vec<ActionRecord>, StoreError> {
        self.select_actions(
            "WHERE stack = ?1 AND finished_at IS NULL ORDER BY started_at, id",
            params![stack],
        )
    }

    fn select_actions(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let fail = |e| self.sqlite("list actions", e);
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM actions {filter}"))
            .map_err(fail)?;
        let rows = stmt
            .query_map(params, |row| Ok(read(row, &self.db_path)))
            .map_err(fail)?;
        rows.map(|row| row.map_err(fail)?).collect()
    }
}

/// [`Store::begin`]'s work, inside the caller's write transaction.
fn begin_in(
    tx: &rusqlite::Transaction<'_>,
    path: &Path,
    intent: &ActionIntent,
    observed: SystemTime,
    now: i64,
) -> Result<Begin, StoreError> {
    let fail = |e| StoreError::sqlite("begin an action", path, e);
    let sql = format!(
        "SELECT {COLUMNS} FROM actions WHERE idempotency_key = ?1 \
             ORDER BY attempt DESC LIMIT 1"
    );
    let last = tx
        .query_row(&sql, [&intent.idempotency_key], |row| Ok(read(row, path)))
        .optional()
        .map_err(fail)?
        .transpose()?;
    let attempt = match last {
        None => 1,
        Some(rec) => match &rec.outcome {
            None => return Ok(Begin::InProgress(rec)),
            // A deliberate refusal stands until the key changes.
            Some(Outcome::Refused { .. }) => return Ok(Begin::Done(rec)),
            Some(Outcome::Succeeded) if rec.finished_at >= Some(observed) => {
                return Ok(Begin::Done(rec));
            }
            Some(_) => rec.attempt + 1,
        },
    };
    let id: i64 = tx
        .query_row(
            "INSERT INTO actions (idempotency_key, attempt, stack, logical_id, \
                 property_path, action, revision, detail, started_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
            params![
                intent.idempotency_key,
                attempt,
                intent.stack,
                intent.logical_id,
                intent.property_path,
                intent.action,
                intent.revision,
                intent.detail.to_string(),
                now
            ],
            |row| row.get(0),
        )
        .map_err(fail)?;
    Ok(Begin::New(ActionId(id), attempt))
}

/// Reads a row selected with [`COLUMNS`]. The outer error is SQLite's; the
/// inner one a value this version cannot have written.
fn read(row: &Row<'_>, path: &Path) -> Result<ActionRecord, StoreError> {
    read_sql(row, path).unwrap_or_else(|e| Err(StoreError::sqlite("read an action", path, e)))
}

fn read_sql(row: &Row<'_>, path: &Path) -> rusqlite::Result<Result<ActionRecord, StoreError>> {
    let corrupt = |message: String| StoreError::CorruptRow {
        path: path.to_path_buf(),
        what: "action",
        message,
    };
    let detail: String = row.get(7)?;
    let Ok(detail) = serde_json::from_str(&detail) else {
        return Ok(Err(corrupt(format!("detail is not JSON: {detail}"))));
    };
    let finished_at: Option<i64> = row.get(9)?;
    let outcome: Option<String> = row.get(10)?;
    let reason: Option<String> = row.get(11)?;
    let reason = reason.unwrap_or_default();
    let outcome = match outcome.as_deref().map(|w| (w, OutcomeKind::parse(w))) {
        None => None,
        Some((_, Some(OutcomeKind::Succeeded))) => Some(Outcome::Succeeded),
        Some((_, Some(OutcomeKind::Failed))) => Some(Outcome::Failed { reason }),
        Some((_, Some(OutcomeKind::Refused))) => Some(Outcome::Refused { reason }),
        Some((_, Some(OutcomeKind::Interrupted))) => Some(Outcome::Interrupted { reason }),
        Some((other, _)) => return Ok(Err(corrupt(format!("unknown outcome {other:?}")))),
    };
    Ok(Ok(ActionRecord {
        id: ActionId(row.get(0)?),
        intent: ActionIntent {
            idempotency_key: row.get(1)?,
            stack: row.get(2)?,
            logical_id: row.get(3)?,
            property_path: row.get(4)?,
            action: row.get(5)?,
            revision: row.get(6)?,
            detail,
        },
        started_at: from_ms(row.get(8)?),
        finished_at: finished_at.map(from_ms),
        outcome,
        attempt: row.get(12)?,
    }))
}

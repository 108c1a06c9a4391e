//! The last revision driftsync acted on, for `--verify-mode since-applied`:
//! every commit after it must be verified before another is applied.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

impl Store {
    /// The revision of the newest action that succeeded, if any.
    ///
    /// # Errors
    /// A database read failure.
    pub fn last_applied_revision(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT revision FROM actions WHERE outcome = 'succeeded' \
                 ORDER BY finished_at DESC, id DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.sqlite("read the last applied revision", e))
    }
}

//! One applying process per state directory: an exclusive lock on
//! `<dir>/driftsync.lock`, taken before the store is opened and held until
//! the run ends. Without it, two `sync --apply` runs on one directory could
//! each begin, or join, the same action and both act.
//!
//! The lock is the operating system's (`flock` on Unix), so it is released
//! when the process exits, however it dies: a stale lock file never blocks
//! anyone. The file's content only names the holder, for the message the
//! next process prints.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{StoreError, create_private_dir};

/// The lock file's name inside the state directory.
pub const LOCK_FILE: &str = "driftsync.lock";

/// How long [`StateLock::acquire`] waits between attempts.
const PAUSE: Duration = Duration::from_millis(100);

/// The state directory's lock, held until dropped.
#[derive(Debug)]
pub struct StateLock {
    // Held for its lock; closing it releases the lock.
    _file: File,
    path: PathBuf,
}

impl StateLock {
    /// Locks the state directory `dir` (creating it if needed), waiting up
    /// to `wait` for another process to release it, then writes who holds
    /// it (this process's id, the host, `now`) into the lock file.
    ///
    /// # Errors
    /// [`StoreError::Locked`], naming the holder, if another process still
    /// holds it after `wait`; [`StoreError::Lock`] if the file cannot be
    /// created or locked at all.
    pub fn acquire(dir: &Path, wait: Duration, now: SystemTime) -> Result<StateLock, StoreError> {
        super::to_ms(now, "lock")?;
        create_private_dir(dir)?;
        let path = dir.join(LOCK_FILE);
        let io_err = |source| StoreError::Lock {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        // Counted attempts, not a deadline: the store never reads the clock.
        let attempts = wait.as_millis() / PAUSE.as_millis();
        let mut attempt = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if attempt < attempts => {
                    attempt += 1;
                    std::thread::sleep(PAUSE);
                }
                Err(TryLockError::WouldBlock) => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let holder = holder.trim();
                    return Err(StoreError::Locked {
                        path,
                        holder: if holder.is_empty() {
                            "another driftsync process".into()
                        } else {
                            holder.to_string()
                        },
                        waited: wait,
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io_err(e)),
            }
        }
        let holder = format!(
            "driftsync pid {} on {}, since {}\n",
            std::process::id(),
            hostname(),
            humantime::format_rfc3339_seconds(now)
        );
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(holder.as_bytes()))
            .map_err(io_err)?;
        Ok(StateLock { _file: file, path })
    }

    /// The lock file, `<dir>/driftsync.lock`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The host's name, for the holder line; `unknown host` where the system
/// does not say (reading it must never stop a run).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".into())
}

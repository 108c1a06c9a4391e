//! The codify branch: one commit of the edited files on top of the base
//! revision, on `driftsync/codify/<stack>-<drift id>`, force-pushed to the
//! remote over https (token) or ssh (key or agent), with the credentials
//! `source` uses.
//!
//! Idempotent: when the remote branch already holds the same tree on the
//! same base, nothing is committed or pushed. It only ever writes refs under
//! `refs/heads/driftsync/codify/`, so the base branch is never touched.
//! Credentials never appear in its errors.

use git2::{ErrorCode, Oid, Repository, Signature};

use super::FileChange;
pub use crate::config::GitSettings;
use crate::source::{Credentials, Origin, Source};

/// The only branches codify writes.
pub const BRANCH_PREFIX: &str = "driftsync/codify/";

/// What happened to the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchState {
    Created,
    /// It existed with other content and was force-updated.
    Updated,
    /// It already held exactly this change.
    Unchanged,
}

/// The pushed branch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Published {
    pub branch: String,
    pub commit: String,
    pub state: BranchState,
}

/// Why the branch could not be written or pushed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    #[error("no remote named \"{name}\" in the repository (set git.remote in the config)")]
    UnknownRemote { name: String },
    #[error(
        "authentication to {url} failed: check the token (DRIFTSYNC_GIT_TOKEN or GITHUB_TOKEN) or SSH key"
    )]
    AuthFailed { url: String },
    #[error("the remote rejected {refname}: {reason}")]
    Rejected { refname: String, reason: String },
    #[error(
        "refusing to write {branch}: codify only writes {BRANCH_PREFIX}* and never the base branch"
    )]
    Refused { branch: String },
    #[error("git: {message}")]
    Git { message: String },
}

/// The URL to push to: the named remote of a local repository, the URL a
/// remote source was cloned from, or `remote` itself when it is a URL.
///
/// # Errors
/// [`GitError::UnknownRemote`] when a local repository has no such remote.
pub fn remote_url(source: &Source, remote: &str) -> Result<String, GitError> {
    if remote.contains("://") {
        return Ok(remote.to_string());
    }
    match source.origin() {
        Origin::Remote { url, .. } => Ok(url.clone()),
        Origin::Local(_) => source
            .repository()
            .find_remote(remote)
            .ok()
            .and_then(|r| r.url().ok().map(String::from))
            .ok_or_else(|| GitError::UnknownRemote {
                name: remote.to_string(),
            }),
    }
}

/// Commits `files` on top of `base` as `branch` and pushes it to `url`.
///
/// # Errors
/// A [`GitError`] when the branch name is not a codify branch, the remote
/// cannot be reached or refuses the push, or git fails.
#[allow(clippy::too_many_arguments)] // One push's whole context, each a different thing.
pub fn publish(
    repo: &Repository,
    base: &str,
    branch: &str,
    files: &[FileChange],
    message: &str,
    settings: &GitSettings,
    url: &str,
    credentials: &Credentials,
) -> Result<Published, GitError> {
    if !branch.starts_with(BRANCH_PREFIX) || branch == settings.base {
        return Err(GitError::Refused {
            branch: branch.to_string(),
        });
    }
    let err = |e: git2::Error| classify(e, url, credentials);
    let base_commit = repo
        .find_commit(Oid::from_str(base).map_err(err)?)
        .map_err(err)?;
    let tree = {
        let mut index = git2::Index::new().map_err(err)?;
        index
            .read_tree(&base_commit.tree().map_err(err)?)
            .map_err(err)?;
        for f in files {
            let mode = index
                .get_path(std::path::Path::new(&f.path), 0)
                .map_or(0o100644, |e| e.mode);
            let blob = repo.blob(f.after.as_bytes()).map_err(err)?;
            index
                .add(&git2::IndexEntry {
                    ctime: git2::IndexTime::new(0, 0),
                    mtime: git2::IndexTime::new(0, 0),
                    dev: 0,
                    ino: 0,
                    mode,
                    uid: 0,
                    gid: 0,
                    file_size: f.after.len() as u32,
                    id: blob,
                    flags: 0,
                    flags_extended: 0,
                    path: f.path.as_bytes().to_vec(),
                })
                .map_err(err)?;
        }
        index.write_tree_to(repo).map_err(err)?
    };

    let refname = format!("refs/heads/{branch}");
    let mut remote = repo.remote_anonymous(url).map_err(err)?;
    let existing = remote_head(&mut remote, &refname, credentials).map_err(err)?;
    if let Some(oid) = existing {
        let tracking = format!("refs/driftsync/remote/{branch}");
        let mut fetch = git2::FetchOptions::new();
        fetch.remote_callbacks(credentials.callbacks());
        remote
            .fetch(&[format!("+{refname}:{tracking}")], Some(&mut fetch), None)
            .map_err(err)?;
        if let Ok(c) = repo.find_commit(oid)
            && c.tree_id() == tree
            && c.parent_ids().eq([base_commit.id()])
        {
            repo.reference(&refname, oid, true, "driftsync codify: up to date")
                .map_err(err)?;
            return Ok(Published {
                branch: branch.to_string(),
                commit: oid.to_string(),
                state: BranchState::Unchanged,
            });
        }
    }

    let sig = Signature::now(&settings.author_name, &settings.author_email).map_err(err)?;
    let tree = repo.find_tree(tree).map_err(err)?;
    let commit = repo
        .commit(None, &sig, &sig, message, &tree, &[&base_commit])
        .map_err(err)?;
    let checked_out = repo
        .head()
        .ok()
        .and_then(|h| h.name().ok().map(String::from))
        .is_some_and(|h| h == refname);
    if checked_out {
        return Err(GitError::Refused {
            branch: format!("{branch} (it is checked out here)"),
        });
    }
    repo.reference(&refname, commit, true, "driftsync codify")
        .map_err(err)?;

    let rejected = std::cell::RefCell::new(None);
    let mut callbacks = credentials.callbacks();
    callbacks.push_update_reference(|name, status| {
        if let Some(why) = status {
            *rejected.borrow_mut() = Some((name.to_string(), why.to_string()));
        }
        Ok(())
    });
    let mut push = git2::PushOptions::new();
    push.remote_callbacks(callbacks);
    remote
        .push(&[format!("+{refname}:{refname}")], Some(&mut push))
        .map_err(err)?;
    drop(push);
    if let Some((refname, reason)) = rejected.into_inner() {
        return Err(GitError::Rejected {
            refname,
            reason: credentials.redact(&reason),
        });
    }
    Ok(Published {
        branch: branch.to_string(),
        commit: commit.to_string(),
        state: if existing.is_some() {
            BranchState::Updated
        } else {
            BranchState::Created
        },
    })
}

/// The commit the remote's `refname` points at, if it has one.
fn remote_head(
    remote: &mut git2::Remote<'_>,
    refname: &str,
    credentials: &Credentials,
) -> Result<Option<Oid>, git2::Error> {
    let conn = remote.connect_auth(git2::Direction::Fetch, Some(credentials.callbacks()), None)?;
    let head = conn
        .list()?
        .iter()
        .find(|h| h.name() == refname)
        .map(|h| h.oid());
    Ok(head)
}

fn classify(e: git2::Error, url: &str, credentials: &Credentials) -> GitError {
    let message = credentials.redact(e.message());
    let auth = e.code() == ErrorCode::Auth
        || message.contains("401")
        || message.contains("403")
        || message.to_lowercase().contains("authentication");
    if auth {
        GitError::AuthFailed {
            url: crate::source::redact_url(url),
        }
    } else {
        GitError::Git { message }
    }
}

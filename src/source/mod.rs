//! The git source: open a local repository, or clone and fetch a remote one
//! into a cache, resolve a revision, and read files from that revision's
//! tree (never from the working tree).
//!
//! The only module that touches git. It must not interpret what it reads:
//! the config and templates are someone else's business. Credentials never
//! appear in its errors or logs.

mod auth;
pub mod path;

use std::path::{Path, PathBuf};

use git2::{ErrorClass, ErrorCode, ObjectType, Oid, Repository};

pub use auth::{Credentials, Secret, redact_url};

/// Where the repository came from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A repository on disk.
    Local(PathBuf),
    /// A remote, mirrored into a cache; the URL is kept without credentials.
    Remote { url: String, default_branch: String },
}

/// A resolved commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The full commit SHA.
    pub sha: String,
    /// The commit summary line.
    pub summary: String,
    tree: Oid,
}

impl Revision {
    fn of(commit: &git2::Commit<'_>) -> Revision {
        Revision {
            sha: commit.id().to_string(),
            summary: commit
                .summary()
                .ok()
                .flatten()
                .unwrap_or_default()
                .to_string(),
            tree: commit.tree_id(),
        }
    }

    pub fn short(&self) -> &str {
        &self.sha[..self.sha.len().min(12)]
    }
}

/// A commit's signature and the bytes it signs.
#[derive(Debug, Clone)]
pub struct CommitSignature {
    /// The `gpgsig` header's value (armored).
    pub signature: Vec<u8>,
    /// The commit object without that header.
    pub signed: Vec<u8>,
}

/// How to reach the repository.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Where remote repositories are mirrored. Defaults to the user cache.
    pub cache_dir: Option<PathBuf>,
    /// The branch whose tip is the default revision.
    pub branch: Option<String>,
    pub credentials: Credentials,
}

/// An open repository.
pub struct Source {
    repo: Repository,
    origin: Origin,
    branch: Option<String>,
}

/// Why the source could not be read. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("{path} is not a git repository (or any parent of it)")]
    NotARepository { path: String },
    #[error(
        "authentication to {url} failed: check the token (DRIFTSYNC_GIT_TOKEN or GITHUB_TOKEN) or SSH key"
    )]
    AuthFailed { url: String },
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("unknown revision \"{rev}\" in {origin}")]
    UnknownRevision { rev: String, origin: String },
    #[error(
        "{origin} has no commits yet: driftsync reads commits, not the working tree; commit driftsync.yaml and the templates first"
    )]
    NoCommits { origin: String },
    #[error("{path} does not exist at {rev}")]
    MissingFile { path: String, rev: String },
    #[error("{path} at {rev} is a directory, not a file")]
    NotAFile { path: String, rev: String },
    #[error("{path} at {rev} is a symlink to \"{target}\", which leaves the repository")]
    EscapesRepository {
        path: String,
        rev: String,
        target: String,
    },
    #[error("{path} at {rev} is not UTF-8 text (byte {offset})")]
    NotUtf8 {
        path: String,
        rev: String,
        offset: usize,
    },
    #[error("{path} at {rev}: {message}")]
    BadPath {
        path: String,
        rev: String,
        message: String,
    },
    #[error("git: {message}")]
    Git { message: String },
}

impl SourceError {
    /// Whether trying again later could help (a network or server problem).
    pub fn is_retryable(&self) -> bool {
        matches!(self, SourceError::Unreachable { .. })
    }
}

fn git_err(e: git2::Error) -> SourceError {
    SourceError::Git {
        message: e.message().to_string(),
    }
}

impl Source {
    /// Opens `spec`: a path to a local repository, or a URL (`https://`,
    /// `ssh://`, `git@host:path`, `file://`) to clone or fetch into the cache.
    ///
    /// # Errors
    /// A [`SourceError`] when the path is no repository, the remote cannot be
    /// reached, or authentication fails.
    pub fn open(spec: &str, opts: &SourceOptions) -> Result<Source, SourceError> {
        if is_url(spec) {
            return Self::open_remote(spec, opts);
        }
        let repo = Repository::discover(spec).map_err(|_| SourceError::NotARepository {
            path: spec.to_string(),
        })?;
        let root = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
        Ok(Source {
            repo,
            origin: Origin::Local(root),
            branch: opts.branch.clone(),
        })
    }

    fn open_remote(spec: &str, opts: &SourceOptions) -> Result<Source, SourceError> {
        let (url, url_secret) = auth::split_url_credentials(spec);
        let credentials = opts.credentials.clone().with_url_secret(url_secret);
        let cache = opts
            .cache_dir
            .clone()
            .unwrap_or_else(default_cache_dir)
            .join("repos")
            .join(auth::cache_key(&url));
        let repo = match Repository::open_bare(&cache) {
            Ok(r) => r,
            Err(_) => {
                std::fs::create_dir_all(&cache).map_err(|e| SourceError::Git {
                    message: format!("cannot create cache {}: {e}", cache.display()),
                })?;
                Repository::init_bare(&cache).map_err(git_err)?
            }
        };
        let default_branch = {
            let mut remote = repo.remote_anonymous(&url).map_err(git_err)?;
            let classify = |e: git2::Error| classify_remote_error(e, &url, &credentials);
            let conn = remote
                .connect_auth(git2::Direction::Fetch, Some(credentials.callbacks()), None)
                .map_err(classify)?;
            let head = conn
                .default_branch()
                .ok()
                .and_then(|b| b.as_str().ok().map(String::from));
            drop(conn);
            let mut fetch = git2::FetchOptions::new();
            fetch.remote_callbacks(credentials.callbacks());
            fetch.download_tags(git2::AutotagOption::All);
            remote
                .fetch(
                    &[
                        "+refs/heads/*:refs/remotes/origin/*",
                        "+refs/tags/*:refs/tags/*",
                    ],
                    Some(&mut fetch),
                    None,
                )
                .map_err(classify)?;
            head.and_then(|h| h.strip_prefix("refs/heads/").map(String::from))
                .unwrap_or_else(|| "main".into())
        };
        tracing::debug!(url = %url, branch = %default_branch, cache = %cache.display(), "fetched remote");
        Ok(Source {
            repo,
            origin: Origin::Remote {
                url,
                default_branch,
            },
            branch: opts.branch.clone(),
        })
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The repository itself, for codify's branch (which writes refs of its own).
    pub(crate) fn repository(&self) -> &Repository {
        &self.repo
    }

    /// Whether `file` exists in a local repository's working tree (for a
    /// hint when a revision lacks it); false for a remote.
    pub fn in_working_tree(&self, file: &str) -> bool {
        match &self.origin {
            Origin::Local(root) => root.join(file).is_file(),
            Origin::Remote { .. } => false,
        }
    }

    /// A short description of the origin for messages.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::Local(p) => p.display().to_string(),
            Origin::Remote { url, .. } => url.clone(),
        }
    }

    /// Resolves a revision (`main`, a tag, a SHA, `HEAD~1`); `None` means the
    /// tip of the configured branch (or the remote's default branch, or HEAD).
    ///
    /// # Errors
    /// [`SourceError::UnknownRevision`] when nothing matches.
    pub fn resolve(&self, rev: Option<&str>) -> Result<Revision, SourceError> {
        let default = match (&self.branch, &self.origin) {
            (Some(b), Origin::Remote { .. }) => format!("origin/{b}"),
            (Some(b), Origin::Local(_)) => b.clone(),
            (None, Origin::Remote { default_branch, .. }) => format!("origin/{default_branch}"),
            (None, Origin::Local(_)) => "HEAD".into(),
        };
        let unborn = matches!(self.repo.head(), Err(e) if e.code() == ErrorCode::UnbornBranch);
        if rev.is_none() && unborn && matches!(self.origin, Origin::Local(_)) {
            return Err(SourceError::NoCommits {
                origin: self.describe(),
            });
        }
        let wanted = rev.unwrap_or(&default);
        let mut candidates = vec![wanted.to_string()];
        if let (Origin::Remote { .. }, Some(_)) = (&self.origin, rev) {
            candidates.push(format!("origin/{wanted}"));
            // A mirror has no HEAD of its own: `HEAD~1` means the default branch's.
            if let Some(rest) = wanted.strip_prefix("HEAD") {
                candidates.push(format!("{default}{rest}"));
            }
        }
        let object = candidates
            .iter()
            .find_map(|c| self.repo.revparse_single(c).ok())
            .ok_or_else(|| SourceError::UnknownRevision {
                rev: wanted.to_string(),
                origin: self.describe(),
            })?;
        let commit = object
            .peel_to_commit()
            .map_err(|_| SourceError::UnknownRevision {
                rev: wanted.to_string(),
                origin: self.describe(),
            })?;
        Ok(Revision::of(&commit))
    }

    /// The commits after `since` up to and including `tip`, oldest first
    /// (merges included: every commit a merge brings in). `None` when
    /// `since` is not in the repository (a shallow clone) or is not an
    /// ancestor of `tip` (history was rewritten).
    ///
    /// # Errors
    /// A repository read failure.
    pub fn commits_since(
        &self,
        since: &str,
        tip: &Revision,
    ) -> Result<Option<Vec<Revision>>, SourceError> {
        let (Ok(since), Ok(tip_oid)) = (Oid::from_str(since), Oid::from_str(&tip.sha)) else {
            return Ok(None);
        };
        if self.repo.find_commit(since).is_err()
            || !(since == tip_oid
                || self
                    .repo
                    .graph_descendant_of(tip_oid, since)
                    .map_err(git_err)?)
        {
            return Ok(None);
        }
        let mut walk = self.repo.revwalk().map_err(git_err)?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
            .map_err(git_err)?;
        walk.push(tip_oid).map_err(git_err)?;
        walk.hide(since).map_err(git_err)?;
        let mut out = Vec::new();
        for oid in walk {
            let commit = self
                .repo
                .find_commit(oid.map_err(git_err)?)
                .map_err(git_err)?;
            out.push(Revision::of(&commit));
        }
        Ok(Some(out))
    }

    /// The revision's commit signature (git's `gpgsig` header) and the
    /// bytes it signs, or `None` for an unsigned commit. Judging it is the
    /// `trust` module's business.
    ///
    /// # Errors
    /// A repository read failure.
    pub fn signature(&self, rev: &Revision) -> Result<Option<CommitSignature>, SourceError> {
        let oid = Oid::from_str(&rev.sha).map_err(git_err)?;
        match self.repo.extract_signature(&oid, None) {
            Ok((sig, signed)) => Ok(Some(CommitSignature {
                signature: sig.to_vec(),
                signed: signed.to_vec(),
            })),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(git_err(e)),
        }
    }

    /// Reads a file from a revision, following symlinks that stay inside
    /// the repository.
    ///
    /// # Errors
    /// When the file is missing, a directory, or a symlink out of the repository.
    pub fn read(&self, rev: &Revision, file: &str) -> Result<Vec<u8>, SourceError> {
        let tree = self.repo.find_tree(rev.tree).map_err(git_err)?;
        let mut current = path::join("", file).map_err(|message| SourceError::BadPath {
            path: file.into(),
            rev: rev.short().into(),
            message,
        })?;
        for _ in 0..16 {
            let entry = match tree.get_path(Path::new(&current)) {
                Ok(e) => e,
                Err(e) if e.code() == ErrorCode::NotFound => {
                    return Err(SourceError::MissingFile {
                        path: file.to_string(),
                        rev: rev.short().to_string(),
                    });
                }
                Err(e) => return Err(git_err(e)),
            };
            if entry.kind() == Some(ObjectType::Tree) {
                return Err(SourceError::NotAFile {
                    path: file.to_string(),
                    rev: rev.short().to_string(),
                });
            }
            let blob = self.repo.find_blob(entry.id()).map_err(git_err)?;
            if entry.filemode() != 0o120000 {
                return Ok(blob.content().to_vec());
            }
            let target = String::from_utf8_lossy(blob.content()).to_string();
            current = path::join(path::parent(&current), &target).map_err(|_| {
                SourceError::EscapesRepository {
                    path: file.to_string(),
                    rev: rev.short().to_string(),
                    target: target.clone(),
                }
            })?;
        }
        Err(SourceError::BadPath {
            path: file.into(),
            rev: rev.short().into(),
            message: "too many levels of symlinks".into(),
        })
    }

    /// Reads a UTF-8 text file from a revision.
    ///
    /// # Errors
    /// As [`Source::read`], plus [`SourceError::NotUtf8`].
    pub fn read_text(&self, rev: &Revision, file: &str) -> Result<String, SourceError> {
        let bytes = self.read(rev, file)?;
        String::from_utf8(bytes).map_err(|e| SourceError::NotUtf8 {
            path: file.to_string(),
            rev: rev.short().to_string(),
            offset: e.utf8_error().valid_up_to(),
        })
    }
}

/// The credentials for `spec`: `base`, plus a password written in the URL
/// when `base` has no token (what [`Source::open`] uses to fetch, for a push).
pub fn credentials_for(spec: &str, base: &Credentials) -> Credentials {
    base.clone()
        .with_url_secret(auth::split_url_credentials(spec).1)
}

fn is_url(spec: &str) -> bool {
    spec.contains("://") || (spec.contains('@') && spec.contains(':') && !Path::new(spec).exists())
}

fn classify_remote_error(e: git2::Error, url: &str, credentials: &Credentials) -> SourceError {
    let message = credentials.redact(e.message());
    let auth = e.code() == ErrorCode::Auth
        || message.contains("401")
        || message.contains("403")
        || message.to_lowercase().contains("authentication");
    if auth {
        return SourceError::AuthFailed {
            url: url.to_string(),
        };
    }
    match e.class() {
        ErrorClass::Net | ErrorClass::Http | ErrorClass::Ssh | ErrorClass::Ssl | ErrorClass::Os => {
            SourceError::Unreachable {
                url: url.to_string(),
                message,
            }
        }
        _ => SourceError::Unreachable {
            url: url.to_string(),
            message,
        },
    }
}

/// `$DRIFTSYNC_CACHE_DIR`, else `$XDG_CACHE_HOME/driftsync`, else
/// `~/.cache/driftsync`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DRIFTSYNC_CACHE_DIR") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("driftsync")
}

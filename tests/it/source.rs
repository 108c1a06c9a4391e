//! The git source against real temporary repositories and a file:// remote.

use driftsync::source::{Credentials, Secret, Source, SourceError, SourceOptions};

use crate::support::TestRepo;

fn opts(cache: &std::path::Path) -> SourceOptions {
    SourceOptions {
        cache_dir: Some(cache.to_path_buf()),
        ..SourceOptions::default()
    }
}

#[test]
fn reads_files_from_the_revision_not_the_working_tree() {
    let r = TestRepo::new();
    let first = r.write("driftsync.yaml", "v1").commit("first");
    r.write("driftsync.yaml", "v2").commit("second");
    r.write("driftsync.yaml", "uncommitted");
    let cache = tempfile::tempdir().unwrap();
    let src = Source::open(r.path().to_str().unwrap(), &opts(cache.path())).unwrap();
    let head = src.resolve(None).unwrap();
    assert_eq!(head.summary, "second");
    assert_eq!(src.read_text(&head, "driftsync.yaml").unwrap(), "v2");
    let old = src.resolve(Some(&first[..8])).unwrap();
    assert_eq!(old.sha, first);
    assert_eq!(src.read_text(&old, "driftsync.yaml").unwrap(), "v1");
    assert_eq!(
        src.read_text(&src.resolve(Some("HEAD~1")).unwrap(), "driftsync.yaml")
            .unwrap(),
        "v1"
    );
}

#[test]
fn clones_and_fetches_a_file_remote_into_the_cache() {
    let r = TestRepo::new();
    r.write("stacks/a.yaml", "one").commit("first");
    let cache = tempfile::tempdir().unwrap();
    let src = Source::open(&r.file_url(), &opts(cache.path())).unwrap();
    let rev = src.resolve(None).unwrap();
    assert_eq!(src.read_text(&rev, "stacks/a.yaml").unwrap(), "one");
    // A new commit on the remote is seen by the next open (a fetch).
    let second = r.write("stacks/a.yaml", "two").commit("second");
    let src = Source::open(&r.file_url(), &opts(cache.path())).unwrap();
    let rev = src.resolve(None).unwrap();
    assert_eq!(rev.sha, second);
    assert_eq!(src.read_text(&rev, "stacks/a.yaml").unwrap(), "two");
    assert_eq!(src.resolve(Some("main")).unwrap().sha, second);
}

#[test]
fn unknown_revisions_and_missing_files_are_clear_errors() {
    let r = TestRepo::new();
    r.write("a.yaml", "x").commit("first");
    let cache = tempfile::tempdir().unwrap();
    let src = Source::open(r.path().to_str().unwrap(), &opts(cache.path())).unwrap();
    let err = src.resolve(Some("no-such-branch")).unwrap_err();
    assert!(matches!(err, SourceError::UnknownRevision { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("unknown revision \"no-such-branch\"")
    );
    let rev = src.resolve(None).unwrap();
    let err = src.read(&rev, "stacks/missing.yaml").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("stacks/missing.yaml does not exist at {}", rev.short())
    );
}

#[cfg(unix)]
#[test]
fn symlinks_inside_the_repository_are_followed_and_escapes_refused() {
    let r = TestRepo::new();
    r.write("stacks/real.yaml", "real")
        .symlink("stacks/link.yaml", "real.yaml")
        .symlink("stacks/out.yaml", "../../etc/passwd");
    r.commit("links");
    let cache = tempfile::tempdir().unwrap();
    let src = Source::open(r.path().to_str().unwrap(), &opts(cache.path())).unwrap();
    let rev = src.resolve(None).unwrap();
    assert_eq!(src.read_text(&rev, "stacks/link.yaml").unwrap(), "real");
    let err = src.read(&rev, "stacks/out.yaml").unwrap_err();
    assert!(
        matches!(err, SourceError::EscapesRepository { .. }),
        "{err}"
    );
}

#[test]
fn a_directory_that_is_not_a_repository_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let err = Source::open(dir.path().to_str().unwrap(), &opts(cache.path()))
        .err()
        .unwrap();
    assert!(matches!(err, SourceError::NotARepository { .. }), "{err}");
}

#[test]
fn an_unreachable_remote_is_an_error_without_the_token() {
    // Nothing listens on port 9 of loopback.
    let cache = tempfile::tempdir().unwrap();
    let mut o = opts(cache.path());
    o.credentials = Credentials {
        token: Some(Secret::new("ghp_supersecret")),
        ..Credentials::default()
    };
    let err = Source::open("https://bot:ghp_urlsecret@127.0.0.1:9/org/infra.git", &o)
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{msg}");
    assert!(!msg.contains("ghp_"), "{msg}");
    assert!(
        msg.contains("https://bot@127.0.0.1:9/org/infra.git"),
        "{msg}"
    );
}

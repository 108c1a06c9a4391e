use std::ffi::OsString;
use std::sync::{Arc, Barrier};
use std::time::{Duration, UNIX_EPOCH};

use rusqlite::Connection;

use super::super::{Damage, StoreError, schema, state_dir_from};
use super::{State, at, fresh, key};
use crate::store::{AUDIT_FILE, DB_FILE, Store};

fn pragma(conn: &Connection, name: &str) -> String {
    conn.query_row(&format!("PRAGMA {name}"), [], |row| {
        row.get::<_, rusqlite::types::Value>(0)
    })
    .map(|v| match v {
        rusqlite::types::Value::Integer(i) => i.to_string(),
        rusqlite::types::Value::Text(t) => t,
        other => format!("{other:?}"),
    })
    .expect("pragma")
}

#[test]
fn opening_a_new_state_directory_creates_it_with_a_migrated_wal_database_and_an_audit_log() {
    let (state, store) = fresh();
    assert!(state.dir.join(DB_FILE).is_file());
    assert!(state.dir.join(AUDIT_FILE).is_file());
    assert_eq!(store.db_path(), state.dir.join(DB_FILE));
    drop(store);

    let conn = Connection::open(state.dir.join(DB_FILE)).unwrap();
    assert_eq!(pragma(&conn, "user_version"), schema::VERSION.to_string());
    assert_eq!(
        pragma(&conn, "application_id"),
        schema::APPLICATION_ID.to_string()
    );
    assert_eq!(pragma(&conn, "journal_mode"), "wal");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state.dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "the state directory is private");
    }
}

#[test]
fn an_empty_database_file_in_a_state_directory_never_used_is_migrated_like_a_new_one() {
    let state = State::new();
    std::fs::create_dir_all(&state.dir).unwrap();
    std::fs::write(state.dir.join(DB_FILE), b"").unwrap();
    let mut store = state.open();
    assert!(store.observe(&key("/A"), "h", at(0)).unwrap().is_new);
}

/// Opening must fail as corrupt, with the advice, and leave the file be.
fn assert_refused_as_corrupt(state: &State, damage: impl Fn(&Damage) -> bool) {
    let path = state.dir.join(DB_FILE);
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&state.dir).unwrap_err();
    match &err {
        StoreError::Corrupt { source, .. } if damage(source) => {}
        other => panic!("not the damage expected: {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains("restore it from a backup or move it aside"),
        "{text}"
    );
    assert!(!err.is_retryable());
    assert_eq!(std::fs::read(&path).unwrap(), before, "left untouched");
}

#[test]
fn an_emptied_database_in_a_used_state_directory_is_refused_as_corrupt_not_started_afresh() {
    let (state, mut store) = fresh();
    store.observe(&key("/A"), "h", at(0)).unwrap();
    drop(store);
    std::fs::write(state.dir.join(DB_FILE), b"").unwrap();
    assert_refused_as_corrupt(&state, |d| matches!(d, Damage::Empty));
    assert!(
        Store::open(&state.dir).is_err(),
        "still refused: nothing was migrated into it"
    );
}

#[test]
fn a_database_whose_actions_table_was_dropped_is_refused_as_corrupt() {
    let (state, store) = fresh();
    drop(store);
    Connection::open(state.dir.join(DB_FILE))
        .unwrap()
        .execute_batch("DROP TABLE actions")
        .unwrap();
    assert_refused_as_corrupt(
        &state,
        |d| matches!(d, Damage::MissingTable { table } if table == "actions"),
    );
}

#[test]
fn a_table_with_other_columns_or_a_missing_unique_index_is_refused_as_corrupt() {
    let (state, store) = fresh();
    drop(store);
    let conn = Connection::open(state.dir.join(DB_FILE)).unwrap();
    conn.execute_batch("DROP TABLE circuits; CREATE TABLE circuits (stack TEXT PRIMARY KEY);")
        .unwrap();
    drop(conn);
    assert_refused_as_corrupt(
        &state,
        |d| matches!(d, Damage::Columns { table, .. } if table == "circuits"),
    );

    let (state, store) = fresh();
    drop(store);
    Connection::open(state.dir.join(DB_FILE))
        .unwrap()
        .execute_batch("DROP INDEX actions_in_progress")
        .unwrap();
    assert_refused_as_corrupt(
        &state,
        |d| matches!(d, Damage::MissingIndex { index } if index == "actions_in_progress"),
    );
}

#[test]
fn reopening_a_state_directory_keeps_what_was_recorded() {
    let (state, mut store) = fresh();
    store.observe(&key("/A"), "h", at(0)).unwrap();
    drop(store);
    let store = state.open();
    assert_eq!(
        store.age(&key("/A"), at(60)).unwrap(),
        Some(Duration::from_secs(60))
    );
}

#[test]
fn a_database_from_a_newer_driftsync_is_refused_and_left_untouched() {
    let (state, store) = fresh();
    drop(store);
    let path = state.dir.join(DB_FILE);
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();

    let err = Store::open(&state.dir).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, supported, .. } if supported == schema::VERSION),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(!err.is_retryable());
    let conn = Connection::open(&path).unwrap();
    assert_eq!(pragma(&conn, "user_version"), "99");
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(tables >= 6, "tables kept: {tables}");
}

#[test]
fn a_file_that_is_not_sqlite_is_a_corrupt_error_naming_the_file_and_is_not_changed() {
    let state = State::new();
    std::fs::create_dir_all(&state.dir).unwrap();
    let path = state.dir.join(DB_FILE);
    let garbage = b"this is not a database, it is a text file that is long enough".repeat(20);
    std::fs::write(&path, &garbage).unwrap();

    let err = Store::open(&state.dir).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn an_sqlite_database_made_by_another_program_is_refused() {
    let state = State::new();
    std::fs::create_dir_all(&state.dir).unwrap();
    let path = state.dir.join(DB_FILE);
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE accounts (id INTEGER); INSERT INTO accounts VALUES (1);")
        .unwrap();
    assert!(matches!(
        Store::open(&state.dir),
        Err(StoreError::NotOurs { .. })
    ));

    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 1)
        .unwrap();
    assert!(matches!(
        Store::open(&state.dir),
        Err(StoreError::NotOurs { .. })
    ));
}

#[test]
fn two_processes_opening_a_new_state_directory_at_once_both_succeed() {
    let state = Arc::new(State::new());
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (state, barrier) = (state.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                Store::open(&state.dir).map(drop)
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().expect("open");
    }
}

#[test]
fn a_writer_kept_waiting_past_the_busy_timeout_gets_a_retryable_error() {
    let (state, mut store) = fresh();
    let other = Connection::open(state.dir.join(DB_FILE)).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    store.set_busy_timeout(Duration::from_millis(20)).unwrap();

    let err = store.record_failure("app", at(0)).unwrap_err();
    assert!(err.is_retryable(), "{err:?}");

    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(store.record_failure("app", at(0)).unwrap(), 1);
}

#[test]
fn times_before_1970_are_refused_rather_than_stored_or_panicked_on() {
    let (_state, mut store) = fresh();
    let before = UNIX_EPOCH - Duration::from_secs(1);
    let err = store.observe(&key("/A"), "h", before).unwrap_err();
    assert!(matches!(err, StoreError::InvalidTime { .. }), "{err:?}");
    assert!(store.record_failure("app", before).is_err());
    let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
    assert!(store.record_failure("app", far).is_err());
}

fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
    move |name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| OsString::from(v))
    }
}

#[test]
fn the_default_state_dir_is_driftsync_state_dir_then_xdg_state_home_then_home() {
    let all = [
        ("DRIFTSYNC_STATE_DIR", "/srv/driftsync"),
        ("XDG_STATE_HOME", "/home/ci/.state"),
        ("HOME", "/home/ci"),
    ];
    assert_eq!(
        state_dir_from(env(&all)).unwrap(),
        std::path::Path::new("/srv/driftsync")
    );
    assert_eq!(
        state_dir_from(env(&all[1..])).unwrap(),
        std::path::Path::new("/home/ci/.state/driftsync")
    );
    assert_eq!(
        state_dir_from(env(&all[2..])).unwrap(),
        std::path::Path::new("/home/ci/.local/state/driftsync")
    );
}

#[test]
fn empty_variables_and_a_relative_xdg_state_home_are_ignored() {
    let vars = [
        ("DRIFTSYNC_STATE_DIR", ""),
        ("XDG_STATE_HOME", "relative/state"),
        ("HOME", "/home/ci"),
    ];
    assert_eq!(
        state_dir_from(env(&vars)).unwrap(),
        std::path::Path::new("/home/ci/.local/state/driftsync")
    );
    assert!(matches!(
        state_dir_from(env(&[])),
        Err(StoreError::NoStateDir)
    ));
}

#[test]
fn a_version_1_database_is_migrated_and_its_failed_action_is_tried_again() {
    let state = State::new();
    std::fs::create_dir_all(&state.dir).unwrap();
    {
        // What a build with only the first migration left behind.
        let conn = Connection::open(state.dir.join(DB_FILE)).unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO actions (idempotency_key, stack, logical_id, property_path, action, \
             revision, detail, started_at, finished_at, outcome, reason) VALUES \
             ('driftsync-revert-1', 'app', 'WebSg', '/SecurityGroupIngress/0', 'revert', \
             '3f2c1e0', '{}', 0, 1000, 'failed', 'InvalidDocument')",
            [],
        )
        .unwrap();
    }
    let mut store = state.open();
    let history = store.history("app", 10).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].attempt, 1);
    let mut intent = super::intent("driftsync-revert-1");
    intent.detail = serde_json::json!({});
    assert!(matches!(
        store.begin(&intent, at(0), at(60)).unwrap(),
        crate::store::Begin::New(_, 2)
    ));
    drop(store);
    let conn = Connection::open(state.dir.join(DB_FILE)).unwrap();
    assert_eq!(pragma(&conn, "user_version"), schema::VERSION.to_string());
}

#[test]
fn a_version_2_database_is_migrated_keeping_its_actions_and_the_drift_that_refers_to_them() {
    let state = State::new();
    std::fs::create_dir_all(&state.dir).unwrap();
    {
        let conn = Connection::open(state.dir.join(DB_FILE)).unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.execute_batch(schema::MIGRATIONS[1]).unwrap();
        conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute_batch(
            "INSERT INTO actions (idempotency_key, stack, logical_id, property_path, action, \
             revision, detail, started_at, attempt) VALUES \
             ('k', 'app', 'WebSg', '/SecurityGroupIngress/0', 'revert', '3f2c1e0', '{}', 0, 3); \
             INSERT INTO drift (stack, logical_id, property_path, value_hash, first_seen, \
             last_seen, resolved_at, resolved_by) VALUES \
             ('app', 'WebSg', '/SecurityGroupIngress/0', 'h', 0, 0, 10, 1);",
        )
        .unwrap();
    }
    let mut store = state.open();
    let unfinished = store.unfinished("app").unwrap();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].attempt, 3);
    let interrupted = crate::store::Outcome::Interrupted {
        reason: "killed".into(),
    };
    store
        .finish(unfinished[0].id, &interrupted, at(60))
        .unwrap();
    drop(store);
    let conn = Connection::open(state.dir.join(DB_FILE)).unwrap();
    assert_eq!(pragma(&conn, "user_version"), schema::VERSION.to_string());
    let resolved_by: i64 = conn
        .query_row("SELECT resolved_by FROM drift", [], |r| r.get(0))
        .unwrap();
    assert_eq!(resolved_by, unfinished[0].id.get());
}

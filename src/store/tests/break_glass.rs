use rusqlite::Connection;

use super::{HOUR, at, fresh};
use crate::store::{BreakGlassScope, DB_FILE};

#[test]
fn a_resource_window_tolerates_drift_until_it_expires_and_is_kept_afterwards() {
    let (state, mut store) = fresh();
    let scope = BreakGlassScope::resource("app", "WebSg");
    store
        .put_break_glass(&scope, at(3600), "INC-42: open SSH", "tag", at(0))
        .unwrap();

    let window = store
        .break_glass("app", "WebSg", at(600))
        .unwrap()
        .expect("in force");
    assert_eq!(window.scope, scope);
    assert_eq!(window.reason, "INC-42: open SSH");
    assert_eq!(
        window.remaining(at(600)),
        HOUR - std::time::Duration::from_secs(600)
    );
    assert_eq!(store.break_glass("app", "DbSg", at(600)).unwrap(), None);
    assert_eq!(
        store.break_glass("app", "WebSg", at(3600)).unwrap(),
        None,
        "expired"
    );

    drop(store);
    let rows: i64 = Connection::open(state.dir.join(DB_FILE))
        .unwrap()
        .query_row("SELECT count(*) FROM break_glass", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "expired windows stay for the audit");
}

#[test]
fn a_stack_window_covers_every_resource_and_the_longer_window_wins() {
    let (_state, mut store) = fresh();
    let stack = BreakGlassScope::stack("app");
    store
        .put_break_glass(&stack, at(7200), "migration", "config", at(0))
        .unwrap();
    let covered = store
        .break_glass("app", "Anything", at(10))
        .unwrap()
        .unwrap();
    assert_eq!(covered.scope, stack);

    let resource = BreakGlassScope::resource("app", "WebSg");
    store
        .put_break_glass(&resource, at(3600), "INC-42", "tag", at(0))
        .unwrap();
    assert_eq!(
        store
            .break_glass("app", "WebSg", at(10))
            .unwrap()
            .unwrap()
            .scope,
        stack
    );
    store
        .put_break_glass(&resource, at(9000), "INC-42", "tag", at(5))
        .unwrap();
    assert_eq!(
        store
            .break_glass("app", "WebSg", at(10))
            .unwrap()
            .unwrap()
            .scope,
        resource
    );
    assert_eq!(store.break_glass("db", "WebSg", at(10)).unwrap(), None);
}

#[test]
fn the_newest_window_for_a_scope_is_in_force_so_a_window_can_be_ended_early() {
    let (_state, mut store) = fresh();
    let scope = BreakGlassScope::resource("app", "WebSg");
    store
        .put_break_glass(&scope, at(7200), "INC-42", "tag", at(0))
        .unwrap();
    store
        .put_break_glass(&scope, at(100), "INC-42 closed", "cli", at(100))
        .unwrap();
    assert_eq!(store.break_glass("app", "WebSg", at(200)).unwrap(), None);
}

#[test]
fn recording_the_same_window_on_every_run_adds_nothing() {
    let (_state, mut store) = fresh();
    let scope = BreakGlassScope::resource("app", "WebSg");
    let first = store
        .put_break_glass(&scope, at(3600), "INC-42", "tag", at(0))
        .unwrap();
    let again = store
        .put_break_glass(&scope, at(3600), "INC-42", "tag", at(60))
        .unwrap();
    assert_eq!(again, first, "the stored window, created at the first run");
    assert_eq!(again.created_at, at(0));
}

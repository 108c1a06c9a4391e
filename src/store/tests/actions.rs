use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use super::{HOUR, MINUTE, State, at, fresh, intent, revert};
use crate::store::{ActionId, Begin, Outcome, StoreError};

#[test]
fn a_new_key_begins_an_action_and_finish_records_its_outcome() {
    let (_state, mut store) = fresh();
    let Begin::New(id, _) = store.begin(&intent("k1"), at(0), at(0)).unwrap() else {
        panic!("expected a new action");
    };
    store.finish(id, &Outcome::Succeeded, at(5)).unwrap();

    let history = store.history("app", 10).unwrap();
    assert_eq!(history.len(), 1);
    let record = &history[0];
    assert_eq!(record.id, id);
    assert_eq!(record.intent, intent("k1"));
    assert_eq!(record.started_at, at(0));
    assert_eq!(record.finished_at, Some(at(5)));
    assert_eq!(record.outcome, Some(Outcome::Succeeded));
}

#[test]
fn beginning_a_finished_key_again_returns_done_and_creates_nothing() {
    let (_state, mut store) = fresh();
    let id = revert(&mut store, "k1", at(0));
    match store.begin(&intent("k1"), at(0), at(10)).unwrap() {
        Begin::Done(record) => {
            assert_eq!(record.id, id);
            assert_eq!(record.outcome, Some(Outcome::Succeeded));
        }
        other => panic!("expected Done, got {other:?}"),
    }
    assert_eq!(store.history("app", 10).unwrap().len(), 1);
}

#[test]
fn a_store_dropped_between_begin_and_finish_leaves_the_action_in_progress_for_the_next_run() {
    let state = State::new();
    let mut store = state.open();
    let Begin::New(id, _) = store.begin(&intent("k1"), at(0), at(0)).unwrap() else {
        panic!("expected a new action");
    };
    drop(store); // killed: finish never ran

    let mut store = state.open();
    assert_eq!(store.unfinished("app").unwrap().len(), 1);
    match store.begin(&intent("k1"), at(0), at(60)).unwrap() {
        Begin::InProgress(record) => {
            assert_eq!(record.id, id);
            assert_eq!(record.intent.detail["change_set"], "driftsync-3f2c1e0");
            assert_eq!(record.finished_at, None);
        }
        other => panic!("expected InProgress, got {other:?}"),
    }
    // The caller reconciles (the change set had executed) and finishes it.
    store.finish(id, &Outcome::Succeeded, at(61)).unwrap();
    assert!(store.unfinished("app").unwrap().is_empty());
    assert!(matches!(
        store.begin(&intent("k1"), at(0), at(62)).unwrap(),
        Begin::Done(_)
    ));
}

#[test]
fn stores_racing_to_begin_the_same_key_on_one_file_create_one_action() {
    let state = Arc::new(State::new());
    drop(state.open());
    let keys: Vec<String> = (0..20).map(|i| format!("race-{i}")).collect();
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (state, barrier, keys) = (state.clone(), barrier.clone(), keys.clone());
            std::thread::spawn(move || {
                let mut store = state.open();
                barrier.wait();
                keys.iter()
                    .filter_map(|k| match store.begin(&intent(k), at(0), at(0)).unwrap() {
                        Begin::New(id, _) => Some(id),
                        _ => None,
                    })
                    .collect::<Vec<ActionId>>()
            })
        })
        .collect();
    let new: Vec<ActionId> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(new.len(), keys.len(), "exactly one New per key");
    assert_eq!(new.iter().collect::<HashSet<_>>().len(), keys.len());
    assert_eq!(state.open().history("app", 100).unwrap().len(), keys.len());
}

#[test]
fn finishing_again_with_the_same_outcome_is_harmless_and_with_another_is_refused() {
    let (_state, mut store) = fresh();
    let Begin::New(id, _) = store.begin(&intent("k1"), at(0), at(0)).unwrap() else {
        panic!("expected a new action");
    };
    let failed = Outcome::Failed {
        reason: "UPDATE_ROLLBACK_COMPLETE: WebSg".into(),
    };
    store.finish(id, &failed, at(1)).unwrap();
    store.finish(id, &failed, at(2)).unwrap();
    let err = store.finish(id, &Outcome::Succeeded, at(3)).unwrap_err();
    assert!(matches!(err, StoreError::AlreadyFinished { .. }), "{err:?}");

    let record = store.history("app", 1).unwrap().remove(0);
    assert_eq!(record.finished_at, Some(at(1)));
    assert_eq!(record.outcome, Some(failed));
}

#[test]
fn finishing_an_action_that_was_never_begun_is_an_error() {
    let (_state, mut store) = fresh();
    let id = revert(&mut store, "k1", at(0));
    let missing = ActionId::from_row(id.get() + 1);
    let err = store
        .finish(missing, &Outcome::Succeeded, at(1))
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownAction { .. }), "{err:?}");
}

#[test]
fn reverts_within_counts_only_succeeded_reverts_of_that_resource_inside_the_window() {
    let (_state, mut store) = fresh();
    revert(&mut store, "old", at(0));
    revert(&mut store, "recent-1", at(3000));
    revert(&mut store, "recent-2", at(3500));

    let Begin::New(refused, _) = store.begin(&intent("refused"), at(0), at(3500)).unwrap() else {
        panic!()
    };
    let reason = "would replace WebSg".to_owned();
    store
        .finish(refused, &Outcome::Refused { reason }, at(3500))
        .unwrap();
    store.begin(&intent("unfinished"), at(0), at(3500)).unwrap();
    let mut other_resource = intent("other");
    other_resource.logical_id = "DbSg".into();
    store.begin(&other_resource, at(0), at(3500)).unwrap();
    let mut reapply = intent("reapply");
    reapply.action = "reapply".into();
    let Begin::New(reapply, _) = store.begin(&reapply, at(0), at(3500)).unwrap() else {
        panic!()
    };
    store
        .finish(reapply, &Outcome::Succeeded, at(3500))
        .unwrap();

    assert_eq!(
        store
            .reverts_within("app", "WebSg", HOUR, at(3700))
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .reverts_within("app", "WebSg", 2 * HOUR, at(3700))
            .unwrap(),
        3
    );
    assert_eq!(
        store.reverts_within("app", "DbSg", HOUR, at(3600)).unwrap(),
        0
    );
    assert_eq!(
        store
            .reverts_within("other", "WebSg", HOUR, at(3600))
            .unwrap(),
        0
    );
    let reapplies = |window| store.succeeded_within("app", "WebSg", "reapply", window, at(3600));
    assert_eq!(reapplies(HOUR).unwrap(), 1);
    assert_eq!(reapplies(MINUTE).unwrap(), 0);
}

#[test]
fn history_is_newest_first_and_limited() {
    let (_state, mut store) = fresh();
    for i in 0..5 {
        revert(&mut store, &format!("k{i}"), at(i));
    }
    let keys: Vec<String> = store
        .history("app", 3)
        .unwrap()
        .into_iter()
        .map(|r| r.intent.idempotency_key)
        .collect();
    assert_eq!(keys, ["k4", "k3", "k2"]);
    assert!(store.history("elsewhere", 3).unwrap().is_empty());
}

/// Set in the child process of the test below: the state directory to use.
const CRASH_DIR: &str = "DRIFTSYNC_TEST_CRASH_STATE_DIR";

/// In the normal test run this does nothing. The test below runs it again
/// in a child process, where it begins an action and dies on the spot: no
/// destructors, no clean close of the database.
#[test]
fn a_child_process_begins_an_action_and_is_killed_when_asked_to() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let mut store = crate::store::Store::open(std::path::Path::new(&dir)).unwrap();
    assert!(matches!(
        store.begin(&intent("k1"), at(0), at(0)).unwrap(),
        Begin::New(..)
    ));
    std::process::abort();
}

#[test]
fn a_run_killed_after_begin_leaves_the_action_in_progress_never_new() {
    let state = State::new();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::tests::actions::a_child_process_begins_an_action_and_is_killed_when_asked_to",
        ])
        .args(["--test-threads", "1", "--nocapture"])
        .env(CRASH_DIR, &state.dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child was killed");

    let mut store = state.open();
    match store.begin(&intent("k1"), at(0), at(60)).unwrap() {
        Begin::InProgress(record) => assert_eq!(record.started_at, at(0)),
        other => panic!("expected InProgress, got {other:?}"),
    }
    assert_eq!(store.history("app", 10).unwrap().len(), 1);
}

#[test]
fn a_failed_attempt_is_history_and_the_next_begin_is_a_new_attempt_until_one_succeeds() {
    let (_state, mut store) = fresh();
    let Begin::New(first, 1) = store.begin(&intent("k1"), at(0), at(0)).unwrap() else {
        panic!("expected attempt 1");
    };
    let missing_runbook = Outcome::Failed {
        reason: "InvalidDocument: driftsync-RevertProperties".into(),
    };
    store.finish(first, &missing_runbook, at(1)).unwrap();

    let Begin::New(second, 2) = store.begin(&intent("k1"), at(0), at(60)).unwrap() else {
        panic!("a failure is never done");
    };
    // At most one attempt in progress: a racing run joins it.
    match store.begin(&intent("k1"), at(0), at(61)).unwrap() {
        Begin::InProgress(record) => assert_eq!((record.id, record.attempt), (second, 2)),
        other => panic!("expected InProgress, got {other:?}"),
    }
    store.finish(second, &Outcome::Succeeded, at(62)).unwrap();
    assert!(matches!(
        store.begin(&intent("k1"), at(0), at(63)).unwrap(),
        Begin::Done(record) if record.attempt == 2
    ));
    let outcomes: Vec<_> = store
        .history("app", 10)
        .unwrap()
        .into_iter()
        .map(|r| (r.attempt, r.outcome.map(|o| o.as_str())))
        .collect();
    assert_eq!(outcomes, [(2, Some("succeeded")), (1, Some("failed"))]);
}

#[test]
fn a_success_older_than_what_the_caller_saw_in_aws_does_not_stop_a_new_attempt() {
    let (_state, mut store) = fresh();
    revert(&mut store, "deploy-abc", at(0));
    // A run that looked at AWS before that success finished: its view is stale.
    assert!(matches!(
        store.begin(&intent("deploy-abc"), at(0), at(5)).unwrap(),
        Begin::Done(_)
    ));
    // A later run still sees the change needed (rolled back out of band).
    assert!(matches!(
        store
            .begin(&intent("deploy-abc"), at(3600), at(3601))
            .unwrap(),
        Begin::New(_, 2)
    ));
}

#[test]
fn a_refused_action_stays_refused_for_its_key() {
    let (_state, mut store) = fresh();
    let Begin::New(id, _) = store.begin(&intent("k1"), at(0), at(0)).unwrap() else {
        panic!("expected a new action");
    };
    let refused = Outcome::Refused {
        reason: "would replace WebSg".into(),
    };
    store.finish(id, &refused, at(1)).unwrap();
    assert!(matches!(
        store.begin(&intent("k1"), at(3600), at(3601)).unwrap(),
        Begin::Done(_)
    ));
}

#[test]
fn begin_audited_writes_the_started_line_with_the_attempt_and_nothing_for_a_done_action() {
    let (state, mut store) = fresh();
    let line = started_line();
    let Begin::New(id, 1) = store
        .begin_audited(&intent("k"), at(0), at(10), &line)
        .unwrap()
    else {
        panic!("a new attempt");
    };
    let written = std::fs::read_to_string(state.dir.join(crate::store::AUDIT_FILE)).unwrap();
    let written: serde_json::Value = serde_json::from_str(written.trim()).unwrap();
    assert_eq!(written["outcome"], "started");
    assert_eq!(written["detail"]["action_id"], id.get());
    assert_eq!(written["detail"]["attempt"], 1);
    assert_eq!(written["detail"]["joined"], false);

    store.finish(id, &Outcome::Succeeded, at(20)).unwrap();
    assert!(matches!(
        store
            .begin_audited(&intent("k"), at(0), at(30), &line)
            .unwrap(),
        Begin::Done(_)
    ));
    assert_eq!(
        store.audit_events("app", 10).unwrap().len(),
        1,
        "no line for a done action"
    );
}

#[test]
fn an_attempt_whose_started_line_cannot_be_written_is_not_recorded_so_nothing_may_act() {
    let (_state, mut store) = fresh();
    store.audit.fail_writes();
    let err = store
        .begin_audited(&intent("k"), at(0), at(10), &started_line())
        .unwrap_err();
    assert!(matches!(err, StoreError::Audit { .. }), "{err:?}");
    assert!(
        store.history("app", 10).unwrap().is_empty(),
        "no row without its line"
    );
    assert!(store.unfinished("app").unwrap().is_empty());
}

fn started_line() -> crate::store::AuditEvent {
    crate::store::AuditEvent {
        time: at(10),
        actor: "driftsync".into(),
        revision: Some("3f2c1e0".into()),
        stack: "app".into(),
        logical_id: Some("WebSg".into()),
        property_path: Some("/SecurityGroupIngress/0".into()),
        action: "revert".into(),
        reason: "about to change AWS".into(),
        outcome: Some(crate::store::OutcomeKind::Started),
        detail: serde_json::json!({}),
    }
}

#[test]
fn an_attempt_settled_as_interrupted_is_history_and_the_next_begin_makes_attempt_2() {
    let (_state, mut store) = fresh();
    let Begin::New(id, 1) = store.begin(&intent("k"), at(0), at(10)).unwrap() else {
        panic!("a new attempt");
    };
    let interrupted = Outcome::Interrupted {
        reason: "change set driftsync-x was created but never executed".into(),
    };
    store.finish(id, &interrupted, at(20)).unwrap();
    let history = store.history("app", 10).unwrap();
    assert_eq!(history[0].outcome, Some(interrupted));
    assert!(store.unfinished("app").unwrap().is_empty());
    assert!(matches!(
        store.begin(&intent("k"), at(30), at(40)).unwrap(),
        Begin::New(_, 2)
    ));
}

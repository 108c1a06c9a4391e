use std::time::Duration;

use super::{MINUTE, at, fresh, key, revert};
use crate::store::{ActionId, DriftKey, StoreError};

#[test]
fn the_first_observation_starts_an_episode_and_later_ones_extend_it() {
    let (_state, mut store) = fresh();
    let first = store.observe(&key("/A"), "h1", at(0)).unwrap();
    assert!(first.is_new);
    assert!(!first.reappeared_after_revert);
    assert_eq!((first.first_seen, first.last_seen), (at(0), at(0)));

    let later = store.observe(&key("/A"), "h2", at(90)).unwrap();
    assert!(!later.is_new);
    assert_eq!((later.first_seen, later.last_seen), (at(0), at(90)));
    let open = store.open_drifts("app").unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].value_hash, "h2", "the latest value is kept");
}

#[test]
fn an_observation_older_than_the_last_does_not_move_last_seen_back() {
    let (_state, mut store) = fresh();
    store.observe(&key("/A"), "h", at(100)).unwrap();
    let obs = store.observe(&key("/A"), "h", at(50)).unwrap();
    assert_eq!(obs.last_seen, at(100));
}

#[test]
fn age_counts_from_first_seen_and_is_none_when_not_drifting() {
    let (_state, mut store) = fresh();
    assert_eq!(store.age(&key("/A"), at(0)).unwrap(), None);
    store.observe(&key("/A"), "h", at(0)).unwrap();
    store.observe(&key("/A"), "h", at(30)).unwrap();
    assert_eq!(store.age(&key("/A"), at(300)).unwrap(), Some(5 * MINUTE));
    store.resolve(&key("/A"), at(400), None).unwrap();
    assert_eq!(store.age(&key("/A"), at(500)).unwrap(), None);
}

#[test]
fn resolve_absent_ends_only_the_missing_keys_of_that_stack() {
    let (_state, mut store) = fresh();
    let gone = key("/SecurityGroupIngress/0");
    let still = key("/Tags");
    let whole = DriftKey::new("app", "Queue", "");
    let other_stack = DriftKey::new("db", "WebSg", "/Tags");
    for k in [&gone, &still, &whole, &other_stack] {
        store.observe(k, "h", at(0)).unwrap();
    }

    let present = [still.clone(), other_stack.clone()];
    let resolved = store.resolve_absent("app", &present, at(60), None).unwrap();
    assert_eq!(resolved, [whole.clone(), gone.clone()]);

    let open: Vec<DriftKey> = store
        .open_drifts("app")
        .unwrap()
        .into_iter()
        .map(|d| d.key)
        .collect();
    assert_eq!(open, [still]);
    assert_eq!(
        store.open_drifts("db").unwrap().len(),
        1,
        "other stacks are untouched"
    );
    let done = store.resolved_since("app", at(0)).unwrap();
    assert!(
        done.iter()
            .all(|d| d.resolved_at == Some(at(60)) && d.resolved_by.is_none())
    );
    assert!(
        store
            .resolve_absent("app", &present, at(61), None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_drift_that_comes_back_after_our_revert_is_flagged_as_a_flip_flop() {
    let (_state, mut store) = fresh();
    let k = key("/SecurityGroupIngress/0");
    store.observe(&k, "open-22", at(0)).unwrap();
    let action = revert(&mut store, "revert-1", at(10));
    store
        .resolve_absent("app", &[], at(20), Some(action))
        .unwrap();

    let back = store.observe(&k, "open-22", at(300)).unwrap();
    assert!(back.is_new);
    assert!(back.reappeared_after_revert);
    assert_eq!(back.reverted_at, Some(at(20)));
    assert_eq!(back.first_seen, at(300), "a new episode, with its own age");
    let again = store.observe(&k, "open-22", at(360)).unwrap();
    assert!(
        !again.is_new && again.reappeared_after_revert,
        "the episode keeps the flag"
    );

    let resolved = store.resolved_since("app", at(0)).unwrap();
    assert_eq!(resolved[0].resolved_by, Some(action));
    assert_eq!(
        resolved[0].age(at(9999)),
        Duration::from_secs(20),
        "time to resolve"
    );
}

#[test]
fn a_drift_that_comes_back_after_going_away_on_its_own_is_not_a_flip_flop() {
    let (_state, mut store) = fresh();
    let k = key("/Tags");
    store.observe(&k, "h", at(0)).unwrap();
    store.resolve_absent("app", &[], at(60), None).unwrap();
    let back = store.observe(&k, "h", at(120)).unwrap();
    assert!(back.is_new && !back.reappeared_after_revert);
    assert_eq!(back.reverted_at, None);
}

#[test]
fn resolve_credits_one_key_to_its_own_revert() {
    let (_state, mut store) = fresh();
    store.observe(&key("/A"), "h", at(0)).unwrap();
    store.observe(&key("/B"), "h", at(0)).unwrap();
    let action = revert(&mut store, "revert-a", at(5));
    assert!(store.resolve(&key("/A"), at(6), Some(action)).unwrap());
    assert!(
        !store.resolve(&key("/A"), at(7), Some(action)).unwrap(),
        "already resolved"
    );
    store.resolve_absent("app", &[], at(8), None).unwrap();

    assert!(
        store
            .observe(&key("/A"), "h", at(9))
            .unwrap()
            .reappeared_after_revert
    );
    assert!(
        !store
            .observe(&key("/B"), "h", at(9))
            .unwrap()
            .reappeared_after_revert
    );
}

#[test]
fn resolving_with_an_action_that_does_not_exist_is_refused() {
    let (_state, mut store) = fresh();
    store.observe(&key("/A"), "h", at(0)).unwrap();
    let err = store
        .resolve(&key("/A"), at(1), Some(ActionId::from_row(42)))
        .unwrap_err();
    assert!(matches!(err, StoreError::Database { .. }), "{err:?}");
    assert_eq!(
        store.open_drifts("app").unwrap().len(),
        1,
        "nothing changed"
    );
}

#[test]
fn open_drifts_are_oldest_first_with_their_age() {
    let (_state, mut store) = fresh();
    store.observe(&key("/B"), "h", at(100)).unwrap();
    store.observe(&key("/A"), "h", at(0)).unwrap();
    let open = store.open_drifts("app").unwrap();
    let paths: Vec<&str> = open.iter().map(|d| d.key.property_path.as_str()).collect();
    assert_eq!(paths, ["/A", "/B"]);
    assert_eq!(open[0].age(at(600)), 10 * MINUTE);
    assert!(open.iter().all(|d| d.resolved_at.is_none()));
}

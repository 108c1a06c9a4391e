use super::{HOUR, MINUTE, at, fresh, key};
use crate::store::{CircuitState, FlipFlops};

#[test]
fn flip_flops_are_counted_within_the_window_and_name_the_last_actor() {
    let (_state, mut store) = fresh();
    let k = key("/SecurityGroupIngress/0");
    assert_eq!(
        store.flip_flops(&k, HOUR, at(0)).unwrap(),
        FlipFlops::default()
    );

    assert_eq!(
        store
            .record_flip_flop(&k, Some("alice"), HOUR, at(0))
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .record_flip_flop(&k, Some("ops-bot"), HOUR, at(1800))
            .unwrap(),
        2
    );
    assert_eq!(
        store.record_flip_flop(&k, None, HOUR, at(4000)).unwrap(),
        2,
        "the first fell out"
    );

    let seen = store.flip_flops(&k, HOUR, at(4000)).unwrap();
    assert_eq!(seen.count, 2);
    assert_eq!(
        seen.last_actor.as_deref(),
        Some("ops-bot"),
        "an unknown actor hides nothing"
    );
    let other = store.flip_flops(&key("/Tags"), HOUR, at(4000)).unwrap();
    assert_eq!(other.count, 0);
}

#[test]
fn the_circuit_opens_after_the_threshold_then_half_opens_after_the_cooldown() {
    let (_state, mut store) = fresh();
    let circuit =
        |store: &crate::store::Store, secs| store.circuit("app", 3, 10 * MINUTE, at(secs));
    assert_eq!(circuit(&store, 0).unwrap(), CircuitState::Closed);

    assert_eq!(store.record_failure("app", at(0)).unwrap(), 1);
    assert_eq!(store.record_failure("app", at(10)).unwrap(), 2);
    assert_eq!(circuit(&store, 20).unwrap(), CircuitState::Closed);
    assert_eq!(store.record_failure("app", at(20)).unwrap(), 3);

    let open = circuit(&store, 30).unwrap();
    assert_eq!(open, CircuitState::Open { until: at(620) });
    assert!(!open.allows_attempt());
    let half = circuit(&store, 620).unwrap();
    assert_eq!(half, CircuitState::HalfOpen);
    assert!(half.allows_attempt());

    // The trial attempt fails: open again for a full cooldown.
    assert_eq!(store.record_failure("app", at(630)).unwrap(), 4);
    assert_eq!(
        circuit(&store, 631).unwrap(),
        CircuitState::Open { until: at(1230) }
    );
    // It succeeds: closed, and counting starts again.
    store.record_success("app").unwrap();
    assert_eq!(circuit(&store, 1300).unwrap(), CircuitState::Closed);
    assert_eq!(store.record_failure("app", at(1400)).unwrap(), 1);
}

#[test]
fn circuits_are_per_stack_survive_reopening_and_a_zero_threshold_disables_them() {
    let (state, mut store) = fresh();
    store.record_failure("app", at(0)).unwrap();
    drop(store);
    let store = state.open();
    let open = store.circuit("app", 1, MINUTE, at(1)).unwrap();
    assert_eq!(open, CircuitState::Open { until: at(60) });
    assert_eq!(
        store.circuit("db", 1, MINUTE, at(1)).unwrap(),
        CircuitState::Closed
    );
    assert_eq!(
        store.circuit("app", 0, MINUTE, at(1)).unwrap(),
        CircuitState::Closed
    );
}

#[test]
fn a_flip_flop_is_counted_once_per_drift_episode_so_recording_it_again_is_safe() {
    let (_state, mut store) = fresh();
    let k = key("/SecurityGroupIngress/0");
    store.observe(&k, "open-22", at(0)).unwrap();
    let revert = super::revert(&mut store, "revert-1", at(10));
    store.resolve(&k, at(20), Some(revert)).unwrap();

    let back = store.observe(&k, "open-22", at(300)).unwrap();
    assert!(back.reappeared_after_revert);
    assert_eq!(store.record_flip_flop(&k, None, HOUR, at(300)).unwrap(), 1);
    // The next run sees the same episode, now with the actor from CloudTrail.
    let again = store.observe(&k, "open-22", at(360)).unwrap();
    assert!(again.reappeared_after_revert && !again.is_new);
    assert_eq!(
        store
            .record_flip_flop(&k, Some("alice"), HOUR, at(360))
            .unwrap(),
        1
    );
    assert_eq!(store.record_flip_flop(&k, None, HOUR, at(420)).unwrap(), 1);

    let seen = store.flip_flops(&k, HOUR, at(420)).unwrap();
    assert_eq!(seen.count, 1);
    assert_eq!(
        seen.last_actor.as_deref(),
        Some("alice"),
        "a later unknown keeps the actor"
    );
}

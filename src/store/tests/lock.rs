use std::time::Duration;

use super::{State, at};
use crate::store::{LOCK_FILE, StateLock, StoreError};

#[test]
fn a_second_lock_on_a_state_directory_waits_then_is_refused_naming_the_holder() {
    let state = State::new();
    let first = StateLock::acquire(&state.dir, Duration::ZERO, at(0)).unwrap();
    let written = std::fs::read_to_string(state.dir.join(LOCK_FILE)).unwrap();
    let pid = format!("pid {}", std::process::id());
    assert!(written.contains(&pid), "{written}");
    assert!(written.contains("2023-11-14T22:13:20Z"), "{written}");

    let err = StateLock::acquire(&state.dir, Duration::from_millis(300), at(60)).unwrap_err();
    match &err {
        StoreError::Locked { holder, waited, .. } => {
            assert!(holder.contains(&pid), "{holder}");
            assert_eq!(*waited, Duration::from_millis(300));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("state directory is in use"),
        "{err}"
    );
    assert!(err.is_retryable());

    drop(first);
    let again = StateLock::acquire(&state.dir, Duration::ZERO, at(120)).unwrap();
    assert_eq!(again.path(), state.dir.join(LOCK_FILE));
}

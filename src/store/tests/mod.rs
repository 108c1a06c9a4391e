//! Tests of the state store on real SQLite files in temporary directories,
//! with time passed in.

mod actions;
mod audit;
mod break_glass;
mod drift;
mod lock;
mod loops;
mod open;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

use super::{ActionId, ActionIntent, Begin, DriftKey, Outcome, Store};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// `secs` seconds into the test's day (14 November 2023).
fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

/// A state directory that does not exist yet, inside a fresh temporary one.
struct State {
    _tmp: TempDir,
    dir: PathBuf,
}

impl State {
    fn new() -> State {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let dir = tmp.path().join("state");
        State { _tmp: tmp, dir }
    }

    fn open(&self) -> Store {
        Store::open(&self.dir).expect("open the store")
    }
}

fn fresh() -> (State, Store) {
    let state = State::new();
    let store = state.open();
    (state, store)
}

fn key(path: &str) -> DriftKey {
    DriftKey::new("app", "WebSg", path)
}

fn intent(idempotency_key: &str) -> ActionIntent {
    ActionIntent {
        idempotency_key: idempotency_key.to_owned(),
        stack: "app".to_owned(),
        logical_id: "WebSg".to_owned(),
        property_path: "/SecurityGroupIngress/0".to_owned(),
        action: super::REVERT.to_owned(),
        revision: "3f2c1e0".to_owned(),
        detail: serde_json::json!({ "change_set": "driftsync-3f2c1e0" }),
    }
}

/// Begins and finishes a successful revert, returning its id.
fn revert(store: &mut Store, idempotency_key: &str, now: SystemTime) -> ActionId {
    let Begin::New(id, _) = store
        .begin(&intent(idempotency_key), at(0), now)
        .expect("begin")
    else {
        panic!("{idempotency_key} was begun before");
    };
    store.finish(id, &Outcome::Succeeded, now).expect("finish");
    id
}

#[test]
fn a_store_can_move_to_another_thread_such_as_a_blocking_task() {
    let (_state, mut store) = fresh();
    store.observe(&key("/A"), "h", at(0)).unwrap();
    let age = std::thread::spawn(move || store.age(&key("/A"), at(60)).unwrap());
    assert_eq!(age.join().unwrap(), Some(MINUTE));
}

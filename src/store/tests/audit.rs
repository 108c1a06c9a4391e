use std::io::Write;
use std::sync::{Arc, Barrier};

use serde_json::{Value, json};

use super::{State, at, fresh};
use crate::store::{AUDIT_FILE, AuditEvent, OutcomeKind, StoreError};

fn event(secs: u64, action: &str) -> AuditEvent {
    AuditEvent {
        time: at(secs),
        actor: "driftsync".into(),
        revision: Some("3f2c1e0".into()),
        stack: "app".into(),
        logical_id: Some("WebSg".into()),
        property_path: Some("/SecurityGroupIngress/0".into()),
        action: action.into(),
        reason: "rule 1: AWS::EC2::SecurityGroup /SecurityGroupIngress/* is reverted".into(),
        outcome: None,
        detail: json!({ "expected": null, "actual": { "FromPort": 22 } }),
    }
}

fn lines(state: &State) -> Vec<String> {
    let text = std::fs::read_to_string(state.dir.join(AUDIT_FILE)).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "every line is terminated"
    );
    text.lines().map(str::to_owned).collect()
}

#[test]
fn each_event_is_one_json_line_with_every_field_and_an_rfc3339_time() {
    let (state, mut store) = fresh();
    store.audit(&event(0, "revert")).unwrap();
    let mut minimal = event(1, "tolerate");
    (minimal.revision, minimal.logical_id, minimal.property_path) = (None, None, None);
    minimal.detail = Value::Null;
    store.audit(&minimal).unwrap();

    let lines = lines(&state);
    assert_eq!(lines.len(), 2);
    let first: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["time"], "2023-11-14T22:13:20.000Z");
    assert_eq!(first["action"], "revert");
    assert_eq!(first["detail"]["actual"]["FromPort"], 22);
    let second: Value = serde_json::from_str(&lines[1]).unwrap();
    let fields = [
        "time",
        "actor",
        "revision",
        "stack",
        "logical_id",
        "property_path",
        "action",
        "reason",
        "outcome",
        "detail",
    ];
    let keys: Vec<&str> = second
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), fields.len(), "{keys:?}");
    assert!(
        fields.iter().all(|f| second.get(f).is_some()),
        "absent values are null, not missing"
    );
    assert_eq!(
        serde_json::from_str::<AuditEvent>(&lines[1]).unwrap(),
        minimal
    );
}

#[test]
fn the_log_is_only_appended_to_across_reopenings() {
    let state = State::new();
    let mut store = state.open();
    store.audit(&event(0, "revert")).unwrap();
    store.audit(&event(1, "revert")).unwrap();
    let before = std::fs::read(state.dir.join(AUDIT_FILE)).unwrap();
    drop(store);

    state.open().audit(&event(2, "codify")).unwrap();
    let after = std::fs::read(state.dir.join(AUDIT_FILE)).unwrap();
    assert!(after.starts_with(&before));
    assert_eq!(lines(&state).len(), 3);
}

#[test]
fn a_line_torn_by_a_crashed_writer_does_not_swallow_the_next_event() {
    let (state, mut store) = fresh();
    store.audit(&event(0, "revert")).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(state.dir.join(AUDIT_FILE))
        .unwrap();
    file.write_all(br#"{"time":"2023-11-14T22:13:21.000Z","act"#)
        .unwrap();

    store.audit(&event(2, "codify")).unwrap();
    let lines = lines(&state);
    assert_eq!(lines.len(), 3);
    assert!(
        serde_json::from_str::<Value>(&lines[1]).is_err(),
        "the fragment stays as it was"
    );
    assert_eq!(
        serde_json::from_str::<AuditEvent>(&lines[2]).unwrap(),
        event(2, "codify")
    );
}

#[test]
fn the_audit_table_answers_queries_newest_first() {
    let (_state, mut store) = fresh();
    for (secs, action) in [(0, "revert"), (5, "verify"), (9, "codify")] {
        store.audit(&event(secs, action)).unwrap();
    }
    let mut elsewhere = event(10, "revert");
    elsewhere.stack = "db".into();
    store.audit(&elsewhere).unwrap();

    let recent = store.audit_events("app", 2).unwrap();
    assert_eq!(recent, [event(9, "codify"), event(5, "verify")]);
}

#[test]
fn stores_sharing_a_state_directory_write_whole_lines() {
    let state = Arc::new(State::new());
    drop(state.open());
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|writer| {
            let (state, barrier) = (state.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut store = state.open();
                barrier.wait();
                for i in 0..20 {
                    store.audit(&event(writer * 100 + i, "revert")).unwrap();
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let lines = lines(&state);
    assert_eq!(lines.len(), 60);
    assert!(
        lines
            .iter()
            .all(|l| serde_json::from_str::<AuditEvent>(l).is_ok())
    );
}

#[test]
fn an_event_dated_before_1970_is_refused_and_nothing_is_written() {
    let (state, mut store) = fresh();
    let mut early = event(0, "revert");
    early.time = std::time::UNIX_EPOCH - std::time::Duration::from_secs(1);
    assert!(matches!(
        store.audit(&early),
        Err(StoreError::InvalidTime { .. })
    ));
    assert!(lines(&state).is_empty());
    assert!(store.audit_events("app", 10).unwrap().is_empty());
}

#[test]
fn the_outcome_words_are_exactly_the_ones_docs_state_md_lists() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/state.md")).unwrap();
    let section = doc
        .split("## Outcomes")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/state.md has an Outcomes section");
    let documented: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .collect();
    let words: Vec<&str> = OutcomeKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(documented, words);
    for kind in OutcomeKind::ALL {
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        assert_eq!(OutcomeKind::parse(kind.as_str()), Some(kind));
    }
}

#[test]
fn a_line_an_earlier_build_wrote_with_applied_reads_as_succeeded() {
    let (_state, mut store) = fresh();
    let mut line = serde_json::to_value(event(0, "revert")).unwrap();
    for (old, kind) in [
        ("applied", OutcomeKind::Succeeded),
        ("no_changes", OutcomeKind::Succeeded),
        ("already_done", OutcomeKind::AlreadyDone),
    ] {
        line["outcome"] = json!(old);
        let read: AuditEvent = serde_json::from_value(line.clone()).unwrap();
        assert_eq!(read.outcome, Some(kind));
        store.audit(&read).unwrap();
        assert_eq!(
            store.audit_events("app", 1).unwrap()[0].outcome,
            Some(kind),
            "written back as {kind}"
        );
    }
}

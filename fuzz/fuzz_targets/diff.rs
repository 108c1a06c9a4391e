//! Two templates (split at the first NUL byte) → the diff `driftsync diff`
//! prints, never a panic. Without a NUL, the template is diffed against
//! nothing (an added stack) and against itself, which must be no change.
#![no_main]

use driftsync::template::diff::diff_stacks;
use driftsync::template::schema::SchemaFacts;
use driftsync_fuzz::{desired, split_at_nul};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let schema = SchemaFacts::embedded();
    let (first, second) = split_at_nul(data);
    let Ok(first) = std::str::from_utf8(first) else {
        return;
    };
    let old = desired(first);
    match second {
        Some(second) => {
            let Ok(second) = std::str::from_utf8(second) else {
                return;
            };
            let new = desired(second);
            let _ = diff_stacks(old.as_ref(), new.as_ref(), schema);
        }
        None => {
            let _ = diff_stacks(None, old.as_ref(), schema);
            if let Some(old) = &old {
                let same = diff_stacks(Some(old), Some(old), schema);
                assert!(same.is_empty(), "a stack differs from itself: {same:?}");
            }
        }
    }
});

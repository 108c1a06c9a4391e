//! Any bytes: parsing, validating and resolving a template must return a
//! value or an error, never panic or overflow the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = driftsync_fuzz::desired(text);
    }
});

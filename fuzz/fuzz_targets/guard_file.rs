//! Any bytes as a guard file, loaded as `policies.guards` files are when a
//! policy is built: accepted or refused with an error, never a crash or a
//! stack overflow (deep nesting overflowed it once, issue 19).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = driftsync::policy::check_guard("fuzz.guard", text);
    }
});

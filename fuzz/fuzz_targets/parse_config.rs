//! Any bytes as driftsync.yaml: a config or a located error, never a panic.
#![no_main]

use driftsync::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::parse(text, "driftsync.yaml");
    }
});

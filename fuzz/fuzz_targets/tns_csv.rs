//! A TNS export (CSV, with or without the snapshot line TNS puts first).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = solas_watch::parse_tns_csv(text);
    }
});

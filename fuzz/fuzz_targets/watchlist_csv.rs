//! A watchlist upload: CSV lines of ra, dec, name[, radius].
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = solas_watch::parse_csv(text, 2.0);
    }
});

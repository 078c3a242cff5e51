//! A watchmap upload: a MOC as FITS, JSON or ASCII, gzipped or not.
//!
//! The `moc` crate's ASCII reader can panic on malformed input (its sort is handed an
//! inconsistent order); `parse_moc` catches that and answers an error. libFuzzer's panic
//! hook would abort on the caught panic too, so this target keeps the default hook: a
//! panic that escapes `parse_moc` still aborts (libfuzzer-sys catches it and aborts).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let _ = solas_watch::parse_moc(data);
});

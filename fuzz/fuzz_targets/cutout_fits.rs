//! An alert's cutout (FITS, gzipped for ZTF), trimmed to its image before it is stored.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = solas_store::fits::trim_to_image(data) {
        assert!(image.len() as u64 <= solas_store::fits::MAX_CUTOUT_BYTES + 2880 * 64);
    }
});

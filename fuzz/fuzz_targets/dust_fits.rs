//! A dust-map hemisphere (SFD, a 2-D FITS image).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = solas_features::dust::fits_image_size(data);
});

//! An alert's cutout (FITS, gzipped for ZTF) as the store trims it and the web draws it:
//! gunzipped under the cutout cap, split into HDUs, its first image read.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The store's cap on an inflated cutout (`solas_store::fits::MAX_CUTOUT_BYTES`).
const MAX_CUTOUT_BYTES: u64 = 16 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let Ok(fits) = solas_fits::maybe_gunzip(data, MAX_CUTOUT_BYTES) else {
        return;
    };
    assert!(fits.len() as u64 <= MAX_CUTOUT_BYTES);
    let Ok(hdus) = solas_fits::hdus(&fits) else {
        return;
    };
    for hdu in &hdus {
        assert!(hdu.start <= hdu.end && hdu.end <= fits.len());
    }
    if let Ok(image) = solas_fits::ImageHdu::first(&hdus) {
        let n = image.values().count();
        assert_eq!(n, image.width * image.height);
    }
});

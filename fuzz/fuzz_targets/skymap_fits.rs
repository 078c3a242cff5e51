//! A GW skymap (HEALPix FITS binary table, flat or multi-order, gzipped or not).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(map) = solas_watch::Skymap::from_fits(data) {
        let _ = map.locate(10.0, -20.0);
        let _ = map.region_area_deg2(90.0);
    }
});

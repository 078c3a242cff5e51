//! A user filter as the web form, the API and `solas filter add` take it: `selected`,
//! `tables` and `conditions`, here three parts of the input split at NUL bytes. Whatever
//! is accepted must render for both SQL dialects within the size cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use solas_query::{check, Dialect, FilterSpec, NoResources, Survey};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let spec = FilterSpec {
        selected: parts.next().unwrap_or_default().to_string(),
        tables: parts.next().unwrap_or("objects").to_string(),
        conditions: parts.next().unwrap_or_default().to_string(),
    };
    for survey in [Survey::Lsst, Survey::Ztf] {
        if let Ok(q) = check(&spec, survey, Some(1), &NoResources) {
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                let sql = q.render(dialect, Some(10), Some("batch")).sql;
                assert!(sql.len() <= solas_query::MAX_RENDERED_BYTES + 1024);
            }
        }
    }
});

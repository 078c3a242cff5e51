//! Exports from a real archive: the repository's ZTF sample alerts stored by the SQLite
//! lightcurve store, then written out. (Every format read back by astropy and pyarrow and
//! compared with the archive field for field: the web tests, `api::exports_read_back_*`.)

use solas_core::{ObjectKey, Survey};
use solas_export::{Export, Format, Selection, SourceKind};
use solas_store::LightcurveStore;

/// A lightcurve store holding every sample ZTF alert.
fn archive(dir: &std::path::Path) -> solas_store::sqlite::SqliteLightcurves {
    let mut store = solas_store::sqlite::SqliteLightcurves::open(&dir.join("lc.db")).unwrap();
    let decoder = solas_decode::Decoder::new();
    let mut alerts = Vec::new();
    for dir in std::fs::read_dir(solas_testdata::repo_samples().join("ztf")).unwrap() {
        for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            for (_, alert) in decoder.decode(&bytes).unwrap().records {
                alerts.push(alert.unwrap());
            }
        }
    }
    assert!(alerts.len() >= 10);
    store.write(&alerts.iter().collect::<Vec<_>>()).unwrap();
    store
}

fn export(format: Format, row_limit: Option<u64>) -> Export {
    Export {
        survey: Survey::Ztf,
        kind: SourceKind::Detections,
        selection: Selection {
            objects: Some(vec![ObjectKey::ztf("ZTF20aajcdad").unwrap().id]),
            mjd: None,
        },
        format,
        row_limit,
    }
}

#[test]
fn a_row_limit_ends_the_file_and_a_votable_says_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = archive(dir.path());
    let mut whole = Vec::new();
    let all = solas_export::write(&mut store, &export(Format::VoTable, None), &mut whole).unwrap();
    assert!(all.rows >= 3 && !all.truncated, "{all:?}");
    let whole = String::from_utf8(whole).unwrap();
    assert!(whole.contains("<INFO name=\"QUERY_STATUS\" value=\"OK\"/>"));

    let mut cut = Vec::new();
    let some =
        solas_export::write(&mut store, &export(Format::VoTable, Some(2)), &mut cut).unwrap();
    assert_eq!((some.rows, some.truncated), (2, true));
    let cut = String::from_utf8(cut).unwrap();
    assert_eq!(cut.matches("<TR>").count(), 2);
    assert!(cut.contains("<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>"));
    // Both are whole XML documents.
    for doc in [&whole, &cut] {
        let mut reader = quick_xml::Reader::from_str(doc);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("not XML: {e}"),
            }
        }
    }
}

#[test]
fn a_time_window_takes_the_sources_inside_it_and_no_selection_is_empty_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = archive(dir.path());
    let lightcurve = store
        .lightcurve(Survey::Ztf, &ObjectKey::ztf("ZTF20aajcdad").unwrap())
        .unwrap();
    let mjds: Vec<f64> = lightcurve.detections.iter().map(|d| d.mjd).collect();
    let (first, last) = (mjds[0], mjds[mjds.len() - 1]);
    let mut window = export(Format::Csv, None);
    // [first, last): the last detection is left out.
    window.selection.mjd = Some((first, last));
    let mut out = Vec::new();
    let w = solas_export::write(&mut store, &window, &mut out).unwrap();
    assert_eq!(w.rows as usize, mjds.iter().filter(|m| **m < last).count());
    let mut none = export(Format::Parquet, None);
    none.selection.objects = Some(vec![ObjectKey::ztf("ZTF99zzzzzzz").unwrap().id]);
    let mut out = Vec::new();
    let w = solas_export::write(&mut store, &none, &mut out).unwrap();
    assert_eq!((w.rows, w.objects), (0, 0));
    assert!(out.starts_with(b"PAR1"), "a valid (empty) Parquet file");
}

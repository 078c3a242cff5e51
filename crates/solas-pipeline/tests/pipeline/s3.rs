//! Cutouts in an S3-compatible store (moto on loopback, started by scripts/s3-server.sh):
//! a run with them there gives back, for every cutout, the same bytes as the pack-file store.

use crate::common;

use solas_store::blob::{PackBlobStore, S3BlobStore};
use solas_store::BlobStore;
use solas_testdata as data;

#[test]
fn cutouts_in_s3_read_back_as_the_pack_store_does() {
    let server = solas_testdata::servers::S3Server::start("solas-cutouts");
    let settings = server.options();
    let options: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    let mut files = data::shared_glob("ztf/alerts/pitt-google_ZTF21abiuvdk_lightcurve_v3.3/*.avro");
    files.extend(data::shared_glob("lsst/real/*/*.avro").into_iter().take(20));
    let s3_run = tempfile::tempdir().unwrap();
    let mut config = common::config(s3_run.path(), common::files(&files));
    config.cutouts_url = Some("s3://solas-cutouts/night1".into());
    config.cutouts_options = options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let summary = common::run(config);
    assert!(
        !s3_run.path().join("cutouts").exists(),
        "nothing written locally"
    );
    let local = tempfile::tempdir().unwrap();
    common::run(common::config(local.path(), common::files(&files)));

    let s3 = S3BlobStore::open("s3://solas-cutouts/night1", &options).unwrap();
    let packs = PackBlobStore::open(&local.path().join("cutouts")).unwrap();
    let index = packs.list().unwrap();
    assert_eq!(index.len() as u64, summary.cutouts);
    for (survey, source_id, kind, stored) in &index {
        let survey = if *survey == 1 {
            solas_core::Survey::Ztf
        } else {
            solas_core::Survey::Lsst
        };
        let kind = solas_core::CutoutKind::parse(kind).unwrap();
        let want = packs.get_cutout(survey, *source_id, kind).unwrap().unwrap();
        let got = s3.get_cutout(survey, *source_id, kind).unwrap();
        assert_eq!(
            got.as_deref(),
            Some(&want[..]),
            "{survey:?} {source_id} {kind:?}"
        );
        assert!(want.starts_with(b"SIMPLE"));
        // The size is known without reading the object (the web pages ask it).
        assert_eq!(
            s3.stored_size(survey, *source_id, kind).unwrap(),
            Some(*stored)
        );
    }
    assert_eq!(
        s3.get_cutout(solas_core::Survey::Ztf, 1, solas_core::CutoutKind::Science)
            .unwrap(),
        None
    );
    assert_eq!(
        s3.stored_size(solas_core::Survey::Ztf, 1, solas_core::CutoutKind::Science)
            .unwrap(),
        None
    );
}

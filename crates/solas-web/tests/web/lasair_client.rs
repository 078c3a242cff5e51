//! The acceptance test of the REST API: the `lasair` client from PyPI (pinned, installed
//! by `scripts/python-venv.sh` into `.tools/py-venv`), unchanged, against a live Solas that
//! ingested the shared real alerts. `tests/lasair_client.py` calls every client method
//! that talks to the API (`cone`, `query`, `object`, `sherlock_object`,
//! `sherlock_position`, `annotate`, `annotate_list`) and checks each answer against facts
//! this test reads from the alerts themselves.

use crate::common;

use std::process::Command;

use serde_json::json;
use solas_store::main_db::annotations::{AnnotationStore, Annotator};
use solas_web::{ServeConfig, UserClass};

/// The client version whose source the server was checked against.
const LASAIR_CLIENT: &str = "lasair==0.1.4";

#[test]
fn the_lasair_python_client_works_unchanged_against_solas() {
    let data = common::shared_data();
    let (user_id, token) = solas_web::add_user(
        data,
        "lasair_client_user",
        "client@example.org",
        Some("a long enough password"),
        UserClass::Power,
    )
    .expect("user");
    let topic = "solas_acceptance";
    AnnotationStore::open(&data.join("solas.db"))
        .expect("annotations")
        .add_annotator(&Annotator {
            topic: topic.into(),
            owner: user_id,
            description: "the acceptance test's classifier".into(),
            url: String::new(),
            active: true,
            public: true,
        })
        .expect("annotator");

    let (id, object) = common::richest_rubin_object();
    let all = common::rubin_objects();
    let sorted_ids: Vec<i64> = all.keys().copied().collect();
    let other_ids: Vec<i64> = sorted_ids
        .iter()
        .copied()
        .filter(|i| *i != id)
        .take(2)
        .collect();
    let object_class: String = rusqlite::Connection::open(data.join("solas.db"))
        .unwrap()
        .query_row(
            "SELECT classification FROM sherlock_classifications WHERE diaObjectId = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("the object was classified");

    // An object the pipeline found beside a catalogued source (a Hipparcos star).
    let (matched_id, matched_class, matched_catalogue_id): (i64, String, String) =
        rusqlite::Connection::open(data.join("solas.db"))
            .unwrap()
            .query_row(
                "SELECT diaObjectId, classification, catalogue_object_id
                 FROM sherlock_classifications WHERE classification != 'ORPHAN'
                 ORDER BY diaObjectId LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("an object with a catalogue match");

    let server = solas_web::spawn(ServeConfig::new(data, "127.0.0.1:0".parse().unwrap()))
        .expect("server starts");
    let facts = json!({
        "endpoint": format!("http://{}/api", server.local_addr()),
        "ztf_endpoint": format!("http://{}/ztf/api", server.local_addr()),
        "token": token,
        "object": {
            "id": id,
            "ra": object.ra,
            "dec": object.dec,
            "n_sources": object.sources.len(),
            "source_ids": object.sources,
            "n_forced": object.forced.len(),
        },
        "object_class": object_class,
        "matched": {
            "id": matched_id,
            "class": matched_class,
            "catalogue_object_id": matched_catalogue_id,
        },
        "sorted_ids": sorted_ids,
        "other_ids": other_ids,
        "topic": topic,
        // ZTF21abiuvdk's position, 7.9″ from NGC 7814.
        "ngc7814_neighbour": [0.814293, 16.1456989],
    });
    let dir = tempfile::tempdir().unwrap();
    let facts_path = dir.path().join("facts.json");
    std::fs::write(&facts_path, facts.to_string()).unwrap();

    let repo = common::repo();
    let python = common::python_with(&[LASAIR_CLIENT]);
    let run = Command::new(&python)
        .arg(repo.join("crates/solas-web/tests/lasair_client.py"))
        .arg(&facts_path)
        .output()
        .expect("python runs");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success(),
        "lasair client checks failed:\n{output}"
    );
    assert!(output.contains("all checks passed"), "{output}");
    server.stop().expect("server stops");
}

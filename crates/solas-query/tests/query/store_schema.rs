//! The whitelist names tables and columns; the store creates them. This test opens a real
//! main database and checks that every table and column a filter may name exists there
//! with the same type, so a filter the checker accepts can never fail on a missing column.

use solas_query::schema::{columns, physical_table, TableKind};
use solas_query::Survey;
use solas_store::main_db::MainDatabase;

#[test]
fn every_whitelisted_column_exists_in_the_main_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = MainDatabase::open(&dir.path().join("solas.db")).unwrap();
    let conn = db.db().sqlite().unwrap();
    let kinds = [
        TableKind::Objects,
        TableKind::Sherlock,
        TableKind::WatchlistHits,
        TableKind::AreaHits,
        TableKind::CrossmatchTns,
        TableKind::Annotations,
        TableKind::Counterparts,
        TableKind::Mining,
    ];
    let mut checked = 0;
    for survey in [Survey::Lsst, Survey::Ztf] {
        for kind in kinds {
            let table = physical_table(kind, survey);
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT name, type FROM pragma_table_info('{table}')"
                ))
                .unwrap();
            let have: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(!have.is_empty(), "table {table} is missing");
            for col in columns(kind, survey) {
                let (_, ty) = have
                    .iter()
                    .find(|(n, _)| n == col.name)
                    .unwrap_or_else(|| panic!("{table}.{} is missing", col.name));
                let want = match col.ty {
                    solas_features::ColumnType::Int => "INTEGER",
                    solas_features::ColumnType::Float => "REAL",
                    solas_features::ColumnType::Text => "TEXT",
                };
                assert_eq!(ty, want, "{table}.{} type", col.name);
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "only {checked} columns checked");
}

/// The consensus is a view (its column types are the expressions'): every column a filter
/// may name answers a query, in both surveys' views.
#[test]
fn the_consensus_views_have_the_whitelisted_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = MainDatabase::open(&dir.path().join("solas.db")).unwrap();
    let conn = db.db().sqlite().unwrap();
    for survey in [Survey::Lsst, Survey::Ztf] {
        let names: Vec<String> = columns(TableKind::Consensus, survey)
            .iter()
            .map(|c| format!("\"{}\"", c.name))
            .collect();
        let table = physical_table(TableKind::Consensus, survey);
        conn.prepare(&format!("SELECT {} FROM {table}", names.join(", ")))
            .unwrap_or_else(|e| panic!("{table}: {e}"));
    }
}

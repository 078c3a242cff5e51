//! The whitelist of tables and columns a filter may name, per survey, and the physical
//! tables behind them. The `objects` and `sherlock_classifications` columns come from the
//! crates that write those tables, so the whitelist cannot drift from the store. The hit,
//! TNS and annotation tables are defined here, in Lasair's shapes (lasair.md §2.4), for the
//! crate that will create them; [`ddl_sqlite`] gives their SQLite form.

use solas_features::{Column, ColumnType, LSST_OBJECT_COLUMNS, ZTF_OBJECT_COLUMNS};
use solas_features::{SHERLOCK_COLUMNS, ZTF_SHERLOCK_COLUMNS};

use crate::spec::Survey;
use ColumnType::{Float, Int, Text};

const fn c(name: &'static str, ty: ColumnType) -> Column {
    Column { name, ty }
}

/// Every table also has `timestamp` (the store stamps rows), which filters may use.
const TIMESTAMP: Column = c("timestamp", Text);

/// `watchlist_hits` after the key: one row per (object, cone) match.
pub const WATCHLIST_HIT_COLUMNS: &[Column] = &[
    c("wl_id", Int),
    c("cone_id", Int),
    c("arcsec", Float),
    c("name", Text),
    c("mag", Float),
];

/// `area_hits` after the key: one row per (object, watchmap). Keyed on both, unlike
/// Lasair-LSST (lasair.md §11 item 1).
pub const AREA_HIT_COLUMNS: &[Column] = &[c("ar_id", Int)];

/// `crossmatch_tns`, Lasair's copy of the TNS public catalogue (not keyed on objects).
pub const TNS_COLUMNS: &[Column] = &[
    c("ra", Float),
    c("decl", Float),
    c("tns_name", Text),
    c("tns_prefix", Text),
    c("disc_mag", Float),
    c("disc_mag_filter", Text),
    c("type", Text),
    c("z", Float),
    c("hostz", Float),
    c("host_name", Text),
    c("ext_catalogs", Text),
    c("disc_int_name", Text),
    c("disc_date", Text),
    c("lastmodified_date", Text),
    c("sender", Text),
    c("reporters", Text),
    c("source_group", Text),
    c("htm16", Int),
    c("lasairmodified_date", Text),
    c("id", Int),
];

/// `annotations` after the key: one row per (object, topic).
pub const ANNOTATION_COLUMNS: &[Column] = &[
    c("topic", Text),
    c("version", Text),
    c("timestamp", Text),
    c("classification", Text),
    c("explanation", Text),
    c("classdict", Text),
    c("url", Text),
];

/// The classifiers' consensus (a view over the annotations), after the key: how many
/// annotators spoke, their newest classes (`topic: class; …`), whether two disagree on the
/// broad class, and when the newest spoke.
pub const CONSENSUS_COLUMNS: &[Column] = &[
    c("sources", Int),
    c("classes", Text),
    c("disagree", Int),
    c("latest", Text),
];

/// A Rubin object and a ZTF object at one position (`counterparts`): both keys, so a
/// filter of either survey joins it on its own, and their separation.
pub const COUNTERPART_COLUMNS: &[Column] = &[
    c("diaObjectId", Int),
    c("objectId", Text),
    c("arcsec", Float),
];

/// A mining run's answer for the object (`mining_results`), after the key: the run, the
/// user's program's JSON answer (or its error) and the worker that answered.
pub const MINING_COLUMNS: &[Column] = &[
    c("run_id", Int),
    c("result", Text),
    c("error", Text),
    c("worker", Text),
];

/// A user's tag on an object (`object_tags`), after the key.
pub const TAG_COLUMNS: &[Column] = &[c("tag", Text), c("timestamp", Text)];

/// The kinds of table a filter can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Objects,
    Sherlock,
    WatchlistHits,
    AreaHits,
    CrossmatchTns,
    Annotations,
    Tags,
    Consensus,
    Counterparts,
    Mining,
}

impl TableKind {
    /// Every kind, once.
    pub const ALL: [TableKind; 10] = [
        TableKind::Objects,
        TableKind::Sherlock,
        TableKind::WatchlistHits,
        TableKind::AreaHits,
        TableKind::CrossmatchTns,
        TableKind::Annotations,
        TableKind::Tags,
        TableKind::Consensus,
        TableKind::Counterparts,
        TableKind::Mining,
    ];
}

/// The object key column of a survey (`diaObjectId` or `objectId`).
pub fn object_key(survey: Survey) -> &'static str {
    match survey {
        Survey::Lsst => "diaObjectId",
        Survey::Ztf => "objectId",
    }
}

fn key_type(survey: Survey) -> ColumnType {
    match survey {
        Survey::Lsst => Int,
        Survey::Ztf => Text,
    }
}

/// The physical table behind a kind. ZTF tables get a `ztf_` prefix so both surveys can
/// share one database, as the store already does for objects and classifications.
pub fn physical_table(kind: TableKind, survey: Survey) -> &'static str {
    match (kind, survey) {
        (TableKind::Objects, Survey::Lsst) => "objects",
        (TableKind::Objects, Survey::Ztf) => "ztf_objects",
        (TableKind::Sherlock, Survey::Lsst) => "sherlock_classifications",
        (TableKind::Sherlock, Survey::Ztf) => "ztf_sherlock_classifications",
        (TableKind::WatchlistHits, Survey::Lsst) => "watchlist_hits",
        (TableKind::WatchlistHits, Survey::Ztf) => "ztf_watchlist_hits",
        (TableKind::AreaHits, Survey::Lsst) => "area_hits",
        (TableKind::AreaHits, Survey::Ztf) => "ztf_area_hits",
        (TableKind::CrossmatchTns, _) => "crossmatch_tns",
        (TableKind::Annotations, Survey::Lsst) => "annotations",
        (TableKind::Annotations, Survey::Ztf) => "ztf_annotations",
        (TableKind::Tags, Survey::Lsst) => "object_tags",
        (TableKind::Tags, Survey::Ztf) => "ztf_object_tags",
        (TableKind::Consensus, Survey::Lsst) => "consensus",
        (TableKind::Consensus, Survey::Ztf) => "ztf_consensus",
        (TableKind::Counterparts, _) => "counterparts",
        (TableKind::Mining, _) => "mining_results",
    }
}

/// Every column a filter may name in a table of this kind, key first where it has one.
pub fn columns(kind: TableKind, survey: Survey) -> Vec<Column> {
    let key = c(object_key(survey), key_type(survey));
    let mut out: Vec<Column> = match kind {
        TableKind::Objects => match survey {
            Survey::Lsst => LSST_OBJECT_COLUMNS.to_vec(),
            Survey::Ztf => ZTF_OBJECT_COLUMNS.to_vec(),
        },
        TableKind::Sherlock => match survey {
            Survey::Lsst => SHERLOCK_COLUMNS.to_vec(),
            Survey::Ztf => ZTF_SHERLOCK_COLUMNS.to_vec(),
        },
        TableKind::WatchlistHits => std::iter::once(key)
            .chain(WATCHLIST_HIT_COLUMNS.iter().copied())
            .collect(),
        TableKind::AreaHits => std::iter::once(key)
            .chain(AREA_HIT_COLUMNS.iter().copied())
            .collect(),
        TableKind::CrossmatchTns => TNS_COLUMNS.to_vec(),
        TableKind::Annotations => std::iter::once(key)
            .chain(ANNOTATION_COLUMNS.iter().copied())
            .collect(),
        TableKind::Consensus => std::iter::once(key)
            .chain(CONSENSUS_COLUMNS.iter().copied())
            .collect(),
        TableKind::Tags => std::iter::once(key)
            .chain(TAG_COLUMNS.iter().copied())
            .collect(),
        TableKind::Mining => std::iter::once(key)
            .chain(MINING_COLUMNS.iter().copied())
            .collect(),
        // The key first, as for every table; the other survey's key after it.
        TableKind::Counterparts => {
            let mut cols = COUNTERPART_COLUMNS.to_vec();
            cols.sort_by_key(|col| col.name != key.name);
            cols
        }
    };
    if matches!(kind, TableKind::Objects | TableKind::Sherlock) {
        out.push(TIMESTAMP);
    }
    out
}

/// Looks a column up case-insensitively (MySQL, which Lasair users write for, ignores
/// case in column names) and returns its canonical spelling.
pub fn find_column(kind: TableKind, survey: Survey, name: &str) -> Option<&'static str> {
    columns(kind, survey)
        .into_iter()
        .find(|col| col.name.eq_ignore_ascii_case(name))
        .map(|col| col.name)
}

/// SQLite `CREATE TABLE` statements for every table a filter can reach, with the
/// columns above (used by the tests; a reference for the crate that owns these tables).
pub fn ddl_sqlite(survey: Survey) -> Vec<String> {
    use TableKind::*;
    [
        Objects,
        Sherlock,
        WatchlistHits,
        AreaHits,
        CrossmatchTns,
        Annotations,
        Tags,
    ]
    .into_iter()
    .map(|kind| {
        let mut cols: Vec<String> = columns(kind, survey)
            .iter()
            .map(|col| {
                let ty = match col.ty {
                    Int => "INTEGER",
                    Float => "REAL",
                    Text => "TEXT",
                };
                format!("\"{}\" {ty}", col.name)
            })
            .collect();
        // Whose tag it is: joined on, never selectable.
        if kind == Tags {
            cols.push("\"owner\" INTEGER".into());
        }
        // Whether the cone fired (magnitude triggers): joined on, never selectable.
        if kind == WatchlistHits {
            cols.push("\"fired\" INTEGER NOT NULL DEFAULT 1".into());
        }
        format!(
            "CREATE TABLE \"{}\" ({})",
            physical_table(kind, survey),
            cols.join(", ")
        )
    })
    .collect()
}

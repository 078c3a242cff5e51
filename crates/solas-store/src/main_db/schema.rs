//! The tables of migration 5: what users tell the broker they care about (watchlists,
//! watchmaps, annotators) and what the broker found for them (hits, annotations, TNS
//! matches), in Lasair's shapes so Lasair filters name the same columns; plus the reports
//! a filter's owner reads when it fails. Each hit table is keyed on (object, resource), so
//! every watchlist cone and every watchmap containing an object is kept (Lasair-LSST keeps
//! one watchmap hit per object). ZTF tables carry the `ztf_` prefix and a text `objectId`.

pub(super) const SQL: &str = r#"
CREATE TABLE filter_reports (
    filter_id INTEGER NOT NULL,
    owner INTEGER NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    first_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (filter_id, kind, message));
CREATE INDEX filter_reports_owner ON filter_reports (owner, last_at);

CREATE TABLE annotators (
    topic TEXT PRIMARY KEY NOT NULL,
    owner INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1,
    public INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE annotations (
    "diaObjectId" INTEGER NOT NULL, "topic" TEXT NOT NULL, "version" TEXT,
    "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "classification" TEXT, "explanation" TEXT, "classdict" TEXT, "url" TEXT,
    PRIMARY KEY ("diaObjectId", "topic"));
CREATE TABLE ztf_annotations (
    "objectId" TEXT NOT NULL, "topic" TEXT NOT NULL, "version" TEXT,
    "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "classification" TEXT, "explanation" TEXT, "classdict" TEXT, "url" TEXT,
    PRIMARY KEY ("objectId", "topic"));
-- Every annotation written, in order: the filter stage follows it to run the filters that
-- name the annotator, whichever process wrote the annotation.
CREATE TABLE annotation_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    survey TEXT NOT NULL,
    object TEXT NOT NULL,
    topic TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
-- How far a follower (e.g. the annotation trigger) has read a log.
CREATE TABLE cursors (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);

CREATE TABLE watchlists (
    wl_id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    public INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    radius REAL NOT NULL DEFAULT 3.0,
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (owner, name));
CREATE TABLE watchlist_cones (
    cone_id INTEGER PRIMARY KEY AUTOINCREMENT,
    wl_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    ra REAL NOT NULL,
    decl REAL NOT NULL,
    radius REAL);
CREATE INDEX watchlist_cones_wl ON watchlist_cones (wl_id);
CREATE TABLE watchlist_hits (
    "diaObjectId" INTEGER NOT NULL, "wl_id" INTEGER NOT NULL, "cone_id" INTEGER NOT NULL,
    "arcsec" REAL, "name" TEXT, "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY ("diaObjectId", "cone_id"));
CREATE INDEX watchlist_hits_wl ON watchlist_hits ("wl_id");
CREATE TABLE ztf_watchlist_hits (
    "objectId" TEXT NOT NULL, "wl_id" INTEGER NOT NULL, "cone_id" INTEGER NOT NULL,
    "arcsec" REAL, "name" TEXT, "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY ("objectId", "cone_id"));
CREATE INDEX ztf_watchlist_hits_wl ON ztf_watchlist_hits ("wl_id");

CREATE TABLE watchmaps (
    ar_id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    public INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    moc BLOB NOT NULL,
    area_deg2 REAL,
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (owner, name));
CREATE TABLE area_hits (
    "diaObjectId" INTEGER NOT NULL, "ar_id" INTEGER NOT NULL,
    "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY ("diaObjectId", "ar_id"));
CREATE TABLE ztf_area_hits (
    "objectId" TEXT NOT NULL, "ar_id" INTEGER NOT NULL,
    "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY ("objectId", "ar_id"));

CREATE TABLE crossmatch_tns (
    "id" INTEGER PRIMARY KEY NOT NULL,
    "tns_name" TEXT NOT NULL UNIQUE, "tns_prefix" TEXT,
    "ra" REAL NOT NULL, "decl" REAL NOT NULL,
    "disc_mag" REAL, "disc_mag_filter" TEXT, "type" TEXT, "z" REAL, "hostz" REAL,
    "host_name" TEXT, "ext_catalogs" TEXT, "disc_int_name" TEXT, "disc_date" TEXT,
    "lastmodified_date" TEXT, "sender" TEXT, "reporters" TEXT, "source_group" TEXT,
    "htm16" INTEGER, "lasairmodified_date" TEXT);
"#;

/// Migration 6: multi-messenger events (GW skymaps) and the objects inside them. Every
/// event containing an object is kept, with the contour level (the smallest credible
/// region holding it, %), the 2-D probability density (per steradian) and, where the host
/// distance is known, the 3-D density (per steradian per Mpc³).
pub(super) const MMA_SQL: &str = r#"
CREATE TABLE mma_areas (
    mw_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    event_mjd REAL NOT NULL,
    window_days REAL NOT NULL,
    skymap_path TEXT NOT NULL,
    area10 REAL, area50 REAL, area90 REAL,
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE mma_area_hits (
    "diaObjectId" INTEGER NOT NULL, "mw_id" INTEGER NOT NULL,
    "contour" REAL, "probdens2" REAL, "probdens3" REAL,
    "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY ("diaObjectId", "mw_id"));
CREATE TABLE ztf_mma_area_hits (
    "objectId" TEXT NOT NULL, "mw_id" INTEGER NOT NULL,
    "contour" REAL, "probdens2" REAL, "probdens3" REAL,
    "timestamp" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY ("objectId", "mw_id"));
"#;

/// Migration 7: what each running worker reports about itself every few seconds (its
/// counters as Prometheus text and a JSON summary), so the status page and `/metrics` of
/// a `solas serve` process see every stage, wherever it runs on this data directory.
pub(super) const WORKER_STATUS_SQL: &str = r#"
CREATE TABLE worker_status (
    worker TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL,
    started TEXT NOT NULL,
    updated TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    running INTEGER NOT NULL,
    summary TEXT NOT NULL,
    metrics TEXT NOT NULL);
"#;

/// Migration 8: each filter's most recent results (the last 100 records, without attached
/// alerts), for its page on the web site: what its stream carried lately.
pub(super) const FILTER_OUTPUTS_SQL: &str = r#"
CREATE TABLE filter_outputs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    filter_id INTEGER NOT NULL,
    utc TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    record TEXT NOT NULL);
CREATE INDEX filter_outputs_filter ON filter_outputs (filter_id, seq);
"#;

/// Migration 9: each worker's counts per UTC hour, so the status page can show what every
/// stage did tonight (hour by hour) rather than only since each process started.
pub(super) const STAGE_HOURS_SQL: &str = r#"
CREATE TABLE stage_hours (
    hour TEXT NOT NULL,
    worker TEXT NOT NULL,
    role TEXT NOT NULL,
    alerts INTEGER NOT NULL DEFAULT 0,
    stored INTEGER NOT NULL DEFAULT 0,
    classified INTEGER NOT NULL DEFAULT 0,
    filtered INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    batches INTEGER NOT NULL DEFAULT 0,
    batch_ns INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, worker));
"#;

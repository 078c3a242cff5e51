//! Where Solas keeps what it learns.
//!
//! Three stores, each a trait so that the stages never name a backend:
//! - [`LightcurveStore`]: detections, forced photometry and non-detections, keyed by
//!   object and time, idempotent on source id (re-ingesting an alert adds nothing).
//! - [`BlobStore`]: cutouts keyed by source id and kind, trimmed to the image HDU and
//!   compressed; read back byte-exact.
//! - [`MainDb`]: the `objects` rows that filters query.
//!
//! The embedded default implements them with SQLite ([`sqlite`]) and a directory
//! ([`blob::PackBlobStore`]). The scale-out backends (PostgreSQL, S3) implement the same
//! traits.

pub mod as_of;
pub mod blob;
mod codec;
pub use codec::unpack_record;
pub mod db;
pub mod error;
pub mod fits;
pub mod main_db;
pub mod postgres;
pub mod records;
pub mod row_counts;
pub mod sqlite;
mod summary;
pub mod tables;
pub mod users;

pub use error::{ErrorKind, StoreError};

use solas_core::{
    Alert, CutoutKind, Detection, ForcedPhot, NonDetection, ObjectKey, Survey, SurveyObject,
};
use solas_features::ObjectRow;

/// The survey as stored in integer key columns (stable: never renumber).
pub fn survey_code(s: Survey) -> i64 {
    match s {
        Survey::Ztf => 1,
        Survey::Lsst => 2,
    }
}

/// Counts of rows a write actually added (duplicates are not counted).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteCounts {
    pub detections: u64,
    pub forced: u64,
    pub non_detections: u64,
}

impl std::ops::AddAssign for WriteCounts {
    fn add_assign(&mut self, o: WriteCounts) {
        self.detections += o.detections;
        self.forced += o.forced;
        self.non_detections += o.non_detections;
    }
}

/// An object's whole stored lightcurve, each list sorted by time.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Lightcurve {
    pub detections: Vec<Detection>,
    pub forced: Vec<ForcedPhot>,
    pub non_detections: Vec<NonDetection>,
    /// The survey's own summary of the object from its newest alert (by trigger time, then
    /// alert id), whatever order the alerts arrived in.
    pub survey_object: Option<SurveyObject>,
}

/// Detections, forced photometry and non-detections by object.
pub trait LightcurveStore: Send {
    /// Store the history carried by a batch of alerts, durably, in one transaction, and
    /// keep each object's newest survey summary.
    fn write(&mut self, alerts: &[&Alert]) -> Result<WriteCounts, StoreError>;
    /// Everything stored for one object.
    fn lightcurve(&mut self, survey: Survey, object: &ObjectKey) -> Result<Lightcurve, StoreError>;
    /// Everything stored for each of `objects` (of one survey), in their order: a filter
    /// batch's lightcurves. A store on a server reads them in a few queries; the default
    /// reads them one by one (an embedded store has no round trips to save).
    fn lightcurves(
        &mut self,
        survey: Survey,
        objects: &[&ObjectKey],
    ) -> Result<Vec<Lightcurve>, StoreError> {
        objects
            .iter()
            .map(|object| self.lightcurve(survey, object))
            .collect()
    }
    /// Every record kept whole for one object ([`records`]).
    fn records(
        &mut self,
        survey: Survey,
        object: &ObjectKey,
    ) -> Result<records::ObjectRecords, StoreError>;
    /// The schemas of the records `selection` picks: an export's columns are made from them
    /// before its first row.
    fn source_schemas(
        &mut self,
        survey: Survey,
        kind: records::SourceKind,
        selection: &records::Selection,
    ) -> Result<Vec<std::sync::Arc<solas_core::RecordSchema>>, StoreError>;
    /// The records `selection` picks, in (object, time) order, each with its object id,
    /// handed to `each` one at a time (memory stays bounded whatever the selection);
    /// `each` breaks to stop early.
    fn each_source(
        &mut self,
        survey: Survey,
        kind: records::SourceKind,
        selection: &records::Selection,
        each: &mut dyn FnMut(i64, solas_core::RawRecord) -> std::ops::ControlFlow<()>,
    ) -> Result<(), StoreError>;
    /// Of `sources` ((object id, source id) pairs of one survey), the source ids stored
    /// from their own alerts (as triggers, not only from later alerts' histories): the
    /// completeness ledger's test of whether a source's alert came.
    fn triggered(&mut self, survey: Survey, sources: &[(i64, i64)])
        -> Result<Vec<i64>, StoreError>;
    /// Up to `limit` stored alerts whose trigger time is in `[from, to)` (MJD), in (time,
    /// alert id) order after `after`: a replay pages through them.
    fn alerts(
        &mut self,
        survey: Survey,
        window: (f64, f64),
        after: Option<(f64, i64)>,
        limit: usize,
    ) -> Result<Vec<records::StoredAlert>, StoreError>;
}

/// The configured lightcurve store: PostgreSQL when a connection string is given (several,
/// separated by [`postgres::SHARD_SEPARATOR`]: sharded by object over those servers), else
/// the SQLite file at `sqlite_path`.
pub fn open_lightcurves(
    postgres_url: Option<&str>,
    sqlite_path: &std::path::Path,
) -> Result<Box<dyn LightcurveStore>, StoreError> {
    let Some(url) = postgres_url else {
        return Ok(Box::new(sqlite::SqliteLightcurves::open(sqlite_path)?));
    };
    let shards: Vec<&str> = url
        .split(postgres::SHARD_SEPARATOR)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    Ok(match shards.as_slice() {
        [one] => Box::new(postgres::PgLightcurves::open(one)?),
        _ => Box::new(postgres::ShardedLightcurves::open(&shards)?),
    })
}

/// Cutout images by source id and kind.
pub trait BlobStore: Send + Sync {
    /// Store one cutout (FITS, possibly gzipped as ZTF sends it). Returns the stored size.
    fn put_cutout(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
        fits: &[u8],
    ) -> Result<u64, StoreError>;
    /// The stored FITS (trimmed to its image HDU, uncompressed), if any.
    fn get_cutout(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// The stored (compressed) size of a cutout, if it is stored: asks without reading it.
    fn stored_size(
        &self,
        survey: Survey,
        source_id: i64,
        kind: CutoutKind,
    ) -> Result<Option<u64>, StoreError>;
    /// Make every cutout put so far durable.
    fn sync(&self) -> Result<(), StoreError>;
}

/// Context classifications by object, each tagged with the classifier and catalogue
/// version that produced it: an answer from another version is a miss.
pub trait ContextCache: Send {
    /// The cached answers (JSON) for a batch's objects, by (survey, object id): those
    /// computed with `version`; an object without one is absent. A batch at once: on a
    /// server, one round trip per object was most of the context stage's time.
    fn get_many(
        &mut self,
        objects: &[(Survey, i64)],
        version: &str,
    ) -> Result<std::collections::HashMap<(Survey, i64), String>, StoreError>;
    /// Store answers (survey, object id, JSON) computed with `version`, in one transaction;
    /// of an object given twice, the last answer is kept.
    fn put(&mut self, entries: &[(Survey, i64, String)], version: &str) -> Result<(), StoreError>;
}

/// The main database that user filters and the web site read.
pub trait MainDb: Send {
    /// Insert or replace a batch's per-object rows (objects features, context
    /// classifications), in one transaction.
    fn upsert_objects(&mut self, rows: &[ObjectRow]) -> Result<(), StoreError> {
        self.write_batch(rows, &main_db::watch::Hits::default(), &[])
    }
    /// A filter batch's whole write: its per-object rows, its watchlist, watchmap and
    /// event hits and its classifiers' scores, in one transaction.
    fn write_batch(
        &mut self,
        rows: &[ObjectRow],
        hits: &main_db::watch::Hits,
        scores: &[main_db::annotations::scores::ModelScore],
    ) -> Result<(), StoreError>;
    /// Row counts of the main tables, for summaries and the status page.
    fn counts(&mut self) -> Result<Vec<(String, u64)>, StoreError>;
    /// What a GCN notice of the object carries besides its alert: its events and its
    /// classifiers' latest probabilities.
    fn notice_context(
        &mut self,
        survey: Survey,
        object: &ObjectKey,
    ) -> Result<main_db::object_view::NoticeContext, StoreError>;
}

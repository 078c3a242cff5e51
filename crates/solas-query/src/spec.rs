//! What the caller hands in: the three texts of a filter, the survey (which decides the
//! physical tables and the object key), and the look-ups the checker needs about users'
//! resources. Also the size caps, because a parser must not be fed unbounded input.

use crate::error::QueryError;

/// A filter as the user wrote it, in Lasair's three parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterSpec {
    /// The SELECT list, e.g. `objects.diaObjectId, objects.g_psfFlux`.
    pub selected: String,
    /// Comma-separated table list, e.g. `objects, sherlock_classifications, watchlist:12`.
    pub tables: String,
    /// The WHERE clause, optionally followed by (or consisting only of) `ORDER BY ...`.
    pub conditions: String,
}

/// Which alert stream the filter runs on; it chooses the `objects` table and its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Survey {
    /// Rubin: table `objects`, key `diaObjectId`.
    Lsst,
    /// ZTF: table `ztf_objects` (shown to users as `objects`), key `objectId`.
    Ztf,
}

/// Look-ups about users' resources, answered by whoever owns the database of
/// watchlists, watchmaps and annotators.
pub trait Resources {
    /// May `user` (None: an anonymous caller) use watchlist `id`? True when it exists
    /// and is public or owned by `user`.
    fn watchlist_allowed(&self, id: i64, user: Option<i64>) -> Result<bool, QueryError>;
    /// The same for watchmap (area) `id`.
    fn watchmap_allowed(&self, id: i64, user: Option<i64>) -> Result<bool, QueryError>;
    /// Is there an annotator with this topic?
    fn annotator_exists(&self, topic: &str) -> Result<bool, QueryError>;
    /// The id of the watchlist holding TNS objects, when the deployment has one. With it,
    /// `crossmatch_tns` is joined through that watchlist's hits as Lasair does; without
    /// it, through `objects.tns_name` (LSST only).
    fn tns_watchlist_id(&self) -> Result<Option<i64>, QueryError> {
        Ok(None)
    }
    /// May `user` read mining run `id`'s answers? Its owner may (the operator, user 0,
    /// also when anonymous); a deployment without mining has none.
    fn mining_allowed(&self, id: i64, user: Option<i64>) -> Result<bool, QueryError> {
        let _ = (id, user);
        Ok(false)
    }
}

/// A deployment with no watchlists, watchmaps or annotators: filters naming one are refused.
pub struct NoResources;

impl Resources for NoResources {
    fn watchlist_allowed(&self, _: i64, _: Option<i64>) -> Result<bool, QueryError> {
        Ok(false)
    }
    fn watchmap_allowed(&self, _: i64, _: Option<i64>) -> Result<bool, QueryError> {
        Ok(false)
    }
    fn annotator_exists(&self, _: &str) -> Result<bool, QueryError> {
        Ok(false)
    }
}

/// Lasair stores each part in a `varchar(4096)`; longer input is refused before parsing.
pub const MAX_PART_CHARS: usize = 4096;
/// Depth of the checked expression tree. Long AND chains are left-deep, so this must
/// allow a few hundred; parenthesised nesting is bounded earlier by the parser.
pub const MAX_TREE_DEPTH: usize = 200;
/// Bytes of SQL a checked filter may render to, in either dialect. Rendering is linear in
/// the filter's size, so a filter within the other caps stays far below this; the cap is
/// the backstop that keeps one query from taking the server's memory (audit finding F1).
/// Checking and rendering recurse once per tree level: when less than the red zone of
/// stack is left, a new segment of `STACK_GROWTH` bytes is taken.
pub(crate) const STACK_RED_ZONE: usize = 64 * 1024;
pub(crate) const STACK_GROWTH: usize = 1024 * 1024;
pub const MAX_RENDERED_BYTES: usize = 64 * 1024;
/// sqlparser's own recursion guard, which stops `((((…))))` bombs while parsing.
pub const PARSER_RECURSION_LIMIT: usize = 50;
/// At most this many watchmaps and annotators each: every one is a join.
pub const MAX_JOINED: usize = 10;

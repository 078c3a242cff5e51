//! Parsing the `tables` string (Lasair's "FROM list"): comma-separated entries naming
//! fixed tables or a user's resources. Unlike Lasair, which ignores names it does not
//! know, every entry must be recognised, and resources are checked for existence and
//! permission here so that nothing unchecked reaches the join builder.

use crate::error::{Part, QueryError};
use crate::spec::{Resources, MAX_JOINED};

/// The parsed table list. `objects` is always there (as in Lasair).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableList {
    pub sherlock: bool,
    /// The classifiers' consensus (`consensus`: every annotator's newest class, and
    /// whether they disagree).
    pub consensus: bool,
    /// The object's counterparts in the other survey (`counterparts`).
    pub counterparts: bool,
    /// A mining run's answers (`mining:N` → `mining`), the caller's own runs only.
    pub mining: Option<i64>,
    pub crossmatch_tns: bool,
    pub watchlist: Option<i64>,
    pub watchmaps: Vec<i64>,
    /// Annotator topics, in the user's spelling (checked to be plain identifiers).
    pub annotators: Vec<String>,
    /// The caller's own tags (`tag:LABEL`), each joined as `tag_<label>`, with the caller.
    pub tags: Vec<String>,
    pub tag_owner: Option<i64>,
}

/// Names that a topic may not take, since topics become table names in the filter.
const RESERVED: &[&str] = &[
    "objects",
    "objects_ext",
    "sherlock_classifications",
    "consensus",
    "counterparts",
    "mining",
    "crossmatch_tns",
    "watchlist_hits",
    "area_hits",
];

fn err(msg: impl Into<String>, token: &str, pos: (u64, u64)) -> QueryError {
    QueryError::new(Part::Tables, msg).at(token, Some(pos))
}

/// (line, column) of the character at byte offset `off` of `text`, both 1-based.
fn position(text: &str, off: usize) -> (u64, u64) {
    let before = &text[..off];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() as u64 + 1;
    (line, col)
}

fn parse_id(s: &str, whole: &str, pos: (u64, u64)) -> Result<i64, QueryError> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(
            format!("`{whole}`: expected a numeric id after the colon"),
            whole,
            pos,
        ));
    }
    s.parse()
        .map_err(|_| err("resource id out of range", whole, pos))
}

/// A topic is used as a table name in `selected` and `conditions`, so it must be a
/// plain identifier.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 64
}

pub fn parse_tables(
    text: &str,
    user: Option<i64>,
    resources: &dyn Resources,
) -> Result<TableList, QueryError> {
    let mut list = TableList::default();
    let mut off = 0;
    for raw in text.split(',') {
        let start = off + (raw.len() - raw.trim_start().len());
        off += raw.len() + 1;
        let entry = raw.trim();
        let pos = position(text, start);
        if entry.is_empty() {
            continue; // tolerate "objects," and blank input: objects is implied
        }
        if let Some(bad) = entry
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '&')))
        {
            return Err(err(
                format!("unexpected character {bad:?} in table entry"),
                entry,
                pos,
            ));
        }
        let lower = entry.to_ascii_lowercase();
        let (name, arg) = match lower.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (lower.as_str(), None),
        };
        // The topic keeps the user's case: it names the table in the other parts.
        let arg_orig = entry.split_once(':').map(|(_, a)| a);
        match (name, arg) {
            ("objects" | "objects_ext", None) => {}
            ("sherlock_classifications", None) => list.sherlock = true,
            ("consensus", None) => list.consensus = true,
            ("counterparts", None) => list.counterparts = true,
            ("mining", Some(a)) => {
                let id = parse_id(a, entry, pos)?;
                if list.mining.is_some_and(|m| m != id) {
                    return Err(err("only one mining run may be used", entry, pos));
                }
                if !resources.mining_allowed(id, user)? {
                    return Err(err(
                        format!("mining run {id} does not exist or is another user's"),
                        entry,
                        pos,
                    ));
                }
                list.mining = Some(id);
            }
            ("crossmatch_tns", None) => list.crossmatch_tns = true,
            ("watchlist", Some(a)) => {
                let id = parse_id(a, entry, pos)?;
                if list.watchlist.is_some_and(|w| w != id) {
                    return Err(err("only one watchlist may be used", entry, pos));
                }
                if !resources.watchlist_allowed(id, user)? {
                    return Err(err(
                        format!("watchlist {id} does not exist or is private to another user"),
                        entry,
                        pos,
                    ));
                }
                list.watchlist = Some(id);
            }
            ("watchmap" | "area", Some(a)) => {
                for part in a.split('&') {
                    let id = parse_id(part, entry, pos)?;
                    if list.watchmaps.contains(&id) {
                        continue;
                    }
                    if !resources.watchmap_allowed(id, user)? {
                        return Err(err(
                            format!("watchmap {id} does not exist or is private to another user"),
                            entry,
                            pos,
                        ));
                    }
                    list.watchmaps.push(id);
                }
                if list.watchmaps.len() > MAX_JOINED {
                    return Err(err(
                        format!("at most {MAX_JOINED} watchmaps may be used"),
                        entry,
                        pos,
                    ));
                }
            }
            ("annotator" | "annotation", Some(_)) => {
                for topic in arg_orig.unwrap_or("").split('&') {
                    if !is_identifier(topic) {
                        return Err(err(
                            "an annotator topic must be letters, digits and underscores",
                            entry,
                            pos,
                        ));
                    }
                    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(topic))
                        || is_area_alias(topic)
                    {
                        return Err(err(
                            format!("annotator topic `{topic}` clashes with a table name"),
                            entry,
                            pos,
                        ));
                    }
                    if list
                        .annotators
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(topic))
                    {
                        continue;
                    }
                    if !resources.annotator_exists(topic)? {
                        return Err(err(format!("there is no annotator `{topic}`"), entry, pos));
                    }
                    list.annotators.push(topic.to_string());
                }
                if list.annotators.len() > MAX_JOINED {
                    return Err(err(
                        format!("at most {MAX_JOINED} annotators may be used"),
                        entry,
                        pos,
                    ));
                }
            }
            ("tag", Some(_)) => {
                let Some(owner) = user else {
                    return Err(err(
                        "tags are a logged-in user's own: log in to use them",
                        entry,
                        pos,
                    ));
                };
                for tag in arg_orig.unwrap_or("").split('&') {
                    if !is_identifier(tag) || tag.len() > 40 {
                        return Err(err(
                            "a tag is up to 40 letters, digits and underscores, starting with a letter",
                            entry,
                            pos,
                        ));
                    }
                    if !list.tags.iter().any(|t| t == tag) {
                        list.tags.push(tag.to_string());
                    }
                }
                list.tag_owner = Some(owner);
                if list.tags.len() > MAX_JOINED {
                    return Err(err(
                        format!("at most {MAX_JOINED} tags may be used"),
                        entry,
                        pos,
                    ));
                }
            }
            _ => {
                return Err(err(
                    "unknown table: expected objects, sherlock_classifications, consensus, \
                     counterparts, crossmatch_tns, watchlist:N, watchmap:N (or area:N), mining:N, annotator:TOPIC, tag:LABEL",
                    entry,
                    pos,
                ))
            }
        }
    }
    Ok(list)
}

/// `ar0`, `ar1`, … are Lasair's names for the hit tables when several watchmaps are used.
pub fn is_area_alias(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower
        .strip_prefix("ar")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

//! Size limits on what users name and describe (watchlists, watchmaps, filters). Every
//! writer — the web pages, the CLI — stores through this crate, so checking here is the
//! one place that holds for all of them; lists of these rows are shown on public pages, so
//! unbounded text would make every visitor download it.

use crate::StoreError;

/// Longest name, in characters (the web forms' `maxlength` is the same).
pub const MAX_NAME_CHARS: usize = 128;

/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;

/// Refuse a name or description beyond the limits, saying which and by how much. `what` is
/// the kind of row ("watchlist", "watchmap", "filter").
pub fn check_name_and_description(
    what: &str,
    name: &str,
    description: &str,
) -> Result<(), StoreError> {
    let too_long = |field: &str, text: &str, max: usize| {
        let n = text.chars().count();
        (n > max).then(|| {
            StoreError::Invalid(format!(
                "a {what}'s {field} may be at most {max} characters long; this one has {n}"
            ))
        })
    };
    match too_long("name", name, MAX_NAME_CHARS)
        .or_else(|| too_long("description", description, MAX_DESCRIPTION_CHARS))
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f8_names_and_descriptions_beyond_the_limits_are_refused() {
        let at_limit = "é".repeat(MAX_NAME_CHARS);
        check_name_and_description("watchlist", &at_limit, &"d".repeat(MAX_DESCRIPTION_CHARS))
            .expect("exactly at the limits, counted in characters not bytes");
        let e = check_name_and_description("watchlist", &"n".repeat(MAX_NAME_CHARS + 1), "")
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(m) if m.contains("name may be at most 128")),
            "{e}"
        );
        let e = check_name_and_description("filter", "ok", &"d".repeat(MAX_DESCRIPTION_CHARS + 1))
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(m) if m.contains("filter's description may be at most 4000")),
            "{e}"
        );
    }

    /// The stores every writer goes through refuse too, and keep nothing.
    #[test]
    fn f8_watchlist_watchmap_and_filter_stores_refuse_long_names() {
        use crate::main_db::filters::{FilterStore, StoredFilter};
        use crate::main_db::watch::WatchStore;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("solas.db");
        let long = "n".repeat(MAX_NAME_CHARS + 1);
        let mut watch = WatchStore::open(&db).unwrap();
        let e = watch
            .add_watchlist(
                &super::super::watch::NewWatchlist {
                    owner: 1,
                    name: &long,
                    description: "",
                    public: false,
                    radius_arcsec: 3.0,
                    mag_change: None,
                },
                &[],
            )
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
        let e = watch
            .add_watchmap(1, "map", &"d".repeat(5_000), false, b"", 1.0)
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
        assert!(watch.watchlists().unwrap().is_empty());
        assert!(watch.watchmaps().unwrap().is_empty());
        let mut filters = FilterStore::open(&db).unwrap();
        let filter = StoredFilter {
            id: 0,
            owner: 1,
            name: long.clone(),
            description: String::new(),
            selected: "objects.diaObjectId".into(),
            tables: "objects".into(),
            conditions: String::new(),
            survey: "lsst".into(),
            public: true,
            active: "off".into(),
            output: "none".into(),
            topic: "t".into(),
            email: None,
            webhook_url: None,
            byte_quota: -1,
        };
        let e = filters.add(&filter).unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(m) if m.contains("filter's name")),
            "{e}"
        );
        assert!(filters.list().unwrap().is_empty());
        // A name at the limit is stored.
        filters
            .add(&StoredFilter {
                name: "n".repeat(MAX_NAME_CHARS),
                ..filter
            })
            .unwrap();
    }
}

//! The classifier behind the context stage: the catalogue store searched by
//! `solas-context`'s algorithm.

use std::time::{Duration, Instant, SystemTime};

use solas_catalogue::Store;

/// Classifies a sky position; `version` names the algorithm and catalogue state, so that
/// cached answers from another version are not reused.
pub trait Classifier: Send {
    fn version(&self) -> String;
    /// Takes up a new version of the catalogues if one has been loaded since; true when
    /// it did (then [`Classifier::version`] has changed).
    fn refresh(&mut self) -> bool {
        false
    }
    /// The classification as a `sherlock_classifications` row, at the epoch of `mjd` (the
    /// alert's: stars with proper motions are matched where they were then).
    fn classify(&self, ra_deg: f64, dec_deg: f64, mjd: Option<f64>) -> solas_context::SherlockRow;
}

/// The loaded catalogues, classified by `solas_context::classify`.
pub struct CatalogueClassifier {
    store: Store,
    /// The store's list as it was when opened, and when that was last looked at.
    list_modified: Option<SystemTime>,
    checked: Instant,
    refresh_every: Duration,
}

/// How often a running classifier looks for a new catalogue version.
const REFRESH_EVERY: Duration = Duration::from_secs(2);

impl CatalogueClassifier {
    /// None when the store holds no catalogues: then there is no context to give, and
    /// calling every object ORPHAN would be wrong.
    pub fn new(store: Store) -> Option<CatalogueClassifier> {
        Self::with_refresh_every(store, REFRESH_EVERY)
    }

    /// [`CatalogueClassifier::new`], looking for a new catalogue version this often.
    pub fn with_refresh_every(store: Store, every: Duration) -> Option<CatalogueClassifier> {
        let list_modified = store.list_modified();
        (!store.catalogues().is_empty()).then_some(CatalogueClassifier {
            store,
            list_modified,
            checked: Instant::now(),
            refresh_every: every,
        })
    }
}

impl Classifier for CatalogueClassifier {
    fn version(&self) -> String {
        format!(
            "{}+{}",
            solas_context::ALGORITHM_VERSION,
            self.store.version()
        )
    }

    /// A catalogue loaded with `solas catalogue add` while the pipeline runs is written
    /// beside the old one and put in place by renames, then the list is rewritten; seeing
    /// the list change, the classifier opens the store again, switching every catalogue at
    /// once between two classifications. The old version's maps stay valid until dropped.
    fn refresh(&mut self) -> bool {
        if self.checked.elapsed() < self.refresh_every {
            return false;
        }
        self.checked = Instant::now();
        let now = self.store.list_modified();
        if now == self.list_modified {
            return false;
        }
        match Store::open(self.store.dir()) {
            Ok(store) if !store.catalogues().is_empty() => {
                let old = self.store.version();
                self.store = store;
                self.list_modified = now;
                log::info!(
                    "context: catalogue version {old} replaced by {}",
                    self.store.version()
                );
                true
            }
            Ok(_) => {
                log::warn!(
                    "context: the catalogue store is now empty; keeping the catalogues loaded"
                );
                self.list_modified = now;
                false
            }
            Err(e) => {
                log::warn!("context: the catalogue store cannot be opened again ({e}); keeping the catalogues loaded");
                false
            }
        }
    }

    fn classify(&self, ra_deg: f64, dec_deg: f64, mjd: Option<f64>) -> solas_context::SherlockRow {
        let epoch = mjd.map(solas_context::julian_year);
        solas_context::SherlockRow::from(&solas_context::classify_at(
            &self.store,
            ra_deg,
            dec_deg,
            epoch,
        ))
    }
}

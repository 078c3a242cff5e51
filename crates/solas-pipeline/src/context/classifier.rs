//! The classifier behind the context stage: the catalogue store searched by
//! `solas-context`'s algorithm.

use solas_catalogue::Store;

/// Classifies a sky position; `version` names the algorithm and catalogue state, so that
/// cached answers from another version are not reused.
pub trait Classifier: Send {
    fn version(&self) -> String;
    /// The classification as a `sherlock_classifications` row, at the epoch of `mjd` (the
    /// alert's: stars with proper motions are matched where they were then).
    fn classify(&self, ra_deg: f64, dec_deg: f64, mjd: Option<f64>) -> solas_context::SherlockRow;
}

/// The loaded catalogues, classified by `solas_context::classify`.
pub struct CatalogueClassifier {
    store: Store,
}

impl CatalogueClassifier {
    /// None when the store holds no catalogues: then there is no context to give, and
    /// calling every object ORPHAN would be wrong.
    pub fn new(store: Store) -> Option<CatalogueClassifier> {
        (!store.catalogues().is_empty()).then_some(CatalogueClassifier { store })
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

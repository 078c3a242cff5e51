//! A context classification as it travels: the row and the alert it was computed at
//! ([`Classified`], as cached and published), and what the features take from it
//! ([`ContextResult`]).

use solas_context::SherlockRow;
use solas_features::HostContext;

/// A context classification as the later stages need it: as it is cached and published,
/// and what the features take from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextResult {
    pub classified: Classified,
    /// What the features need: the class and the host's distance.
    pub host: HostContext,
}

/// A classification as the context cache and the workers' topics keep it: the row's
/// columns under Lasair's names, and the alert it was computed at.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Classified {
    /// The `sherlock_classifications` row (the best match's columns).
    #[serde(flatten)]
    pub row: SherlockRow,
    /// The alert it was computed at: (detection MJD, alert id). None in answers cached
    /// before this was kept.
    #[serde(default)]
    pub classified_at: Option<(f64, i64)>,
}

impl ContextResult {
    /// The row of the classification.
    pub fn row(&self) -> &SherlockRow {
        &self.classified.row
    }
}

impl From<Classified> for ContextResult {
    fn from(classified: Classified) -> ContextResult {
        let row = &classified.row;
        let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
        let host = HostContext {
            classification: row.classification.clone(),
            best_distance_mpc: finite(row.best_distance),
            z: finite(row.z),
            photoz: finite(row.photo_z),
        };
        ContextResult { classified, host }
    }
}

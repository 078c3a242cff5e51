//! Context classification (Sherlock's role in Lasair): given a position, search every loaded
//! catalogue around it and say what the transient probably is — a supernova in a galaxy
//! (SN), a nuclear transient (NT), an AGN, a cataclysmic variable (CV), a variable star
//! (VS), an artefact of a bright star (BS), of unclear nature (UNCLEAR), or ORPHAN.
//!
//! This crate owns the algorithm only; catalogues and their sky index live in
//! `solas-catalogue`, which implements [`ConeSearch`]. Modules:
//! - [`distance`]: separations, north/east offsets, cosmology, best distance;
//! - [`rules`]: bright-star radius, galaxy semi-major-axis cut;
//! - `passes`: synonym, association and annotation searches per catalogue;
//! - `merge`: duplicates of one source from several catalogues;
//! - `rank`: Sherlock's rank score (dead branch fixed);
//! - `describe`: the one-sentence description;
//! - [`output`]: Lasair's `sherlock_classifications` columns and JSON.
//!
//! `docs/context-classification.md` explains the algorithm and every difference from Sherlock.

mod describe;
pub mod distance;
mod merge;
pub mod output;
mod passes;
mod rank;
pub mod row;
pub mod rules;

use solas_catalogue::{CatalogueRow, Description, ObjectKind};

pub use distance::DistanceFlag;
pub use output::ColumnValue;
pub use row::{SherlockRow, SHERLOCK_ROW_COLUMNS};

/// Version of the classification algorithm. Bump it whenever a result for the same position
/// and catalogues can change, so cached classifications are recomputed.
pub const ALGORITHM_VERSION: &str = "solas-context-1";

/// What the classifier searches through: the catalogue store implements it.
pub trait ConeSearch {
    fn catalogues(&self) -> &[Description];
    /// Append every row of catalogue `catalogue` within `radius_arcsec` of (ra, dec).
    fn cone(
        &self,
        catalogue: usize,
        ra_deg: f64,
        dec_deg: f64,
        radius_arcsec: f64,
        out: &mut Vec<CatalogueRow>,
    );
    /// [`ConeSearch::cone`] at an epoch (Julian year): a store that knows proper motions
    /// moves its rows there first. The default ignores the epoch.
    fn cone_at(
        &self,
        catalogue: usize,
        ra_deg: f64,
        dec_deg: f64,
        radius_arcsec: f64,
        _epoch: Option<f64>,
        out: &mut Vec<CatalogueRow>,
    ) {
        self.cone(catalogue, ra_deg, dec_deg, radius_arcsec, out)
    }
}

/// The loaded catalogue store is the search every caller uses (the context stage, the
/// API's Sherlock answers).
impl ConeSearch for solas_catalogue::Store {
    fn catalogues(&self) -> &[Description] {
        solas_catalogue::Store::catalogues(self)
    }

    fn cone(
        &self,
        catalogue: usize,
        ra_deg: f64,
        dec_deg: f64,
        radius_arcsec: f64,
        out: &mut Vec<CatalogueRow>,
    ) {
        solas_catalogue::Store::cone(self, catalogue, ra_deg, dec_deg, radius_arcsec, out)
    }

    fn cone_at(
        &self,
        catalogue: usize,
        ra_deg: f64,
        dec_deg: f64,
        radius_arcsec: f64,
        epoch: Option<f64>,
        out: &mut Vec<CatalogueRow>,
    ) {
        solas_catalogue::Store::cone_at(self, catalogue, ra_deg, dec_deg, radius_arcsec, epoch, out)
    }
}

/// The Julian year of an MJD (TAI or UTC: the 37 s between them are far below what proper
/// motions need).
pub fn julian_year(mjd: f64) -> f64 {
    2000.0 + (mjd - 51_544.5) / 365.25
}

/// The MJD (UTC) at which today began: the epoch of answers given now. A whole day, so that
/// answers within a day agree to the last digit.
pub fn today_mjd() -> Option<f64> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some((since.as_secs() / 86_400) as f64 + 40_587.0)
}

/// A context class (Lasair's `classification` / `association_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Supernova: associated with a galaxy, away from its nucleus.
    SN,
    /// Nuclear transient: on the core of a galaxy.
    NT,
    /// Active galactic nucleus / QSO / blazar.
    AGN,
    /// Cataclysmic variable.
    CV,
    /// Variable star.
    VS,
    /// Bright star: probably an artefact of a nearby bright star.
    BS,
    /// No catalogued source close enough.
    ORPHAN,
    /// Matched only a source of ambiguous type.
    UNCLEAR,
}

impl Class {
    /// Lasair's string for the class.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::SN => "SN",
            Class::NT => "NT",
            Class::AGN => "AGN",
            Class::CV => "CV",
            Class::VS => "VS",
            Class::BS => "BS",
            Class::ORPHAN => "ORPHAN",
            Class::UNCLEAR => "UNCLEAR",
        }
    }

    /// A class a catalogue rule may name (`synonym_class`, …). ORPHAN is not one: it means
    /// "no match" and cannot come from a match. Case and surrounding spaces are ignored.
    pub fn from_rule(s: &str) -> Option<Class> {
        // Runs for every catalogue on every classification: compare without allocating.
        let s = s.trim();
        [
            Class::SN,
            Class::NT,
            Class::AGN,
            Class::CV,
            Class::VS,
            Class::BS,
            Class::UNCLEAR,
        ]
        .into_iter()
        .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    /// Which class a merged source keeps when its catalogues disagree (Sherlock's order
    /// AGN > CV > NT > SN > VS > BS, then UNCLEAR); lower is stronger.
    pub(crate) fn merge_priority(self) -> u8 {
        match self {
            Class::AGN => 0,
            Class::CV => 1,
            Class::NT => 2,
            Class::SN => 3,
            Class::VS => 4,
            Class::BS => 5,
            Class::UNCLEAR => 6,
            Class::ORPHAN => 7,
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a match was found (Lasair's `classificationReliability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reliability {
    /// 1: within the synonym radius — the transient *is* the source.
    Synonym = 1,
    /// 2: within the association radius.
    Association = 2,
    /// 3: annotation pass, searched only when nothing else matched.
    Annotation = 3,
}

impl Reliability {
    pub fn as_int(self) -> i64 {
        self as i64
    }
}

/// One catalogue source matched to the transient: every field of a Lasair
/// `sherlock_classifications` row that describes a match.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// `association_type`: the class this match implies.
    pub association_type: Class,
    /// `catalogue_table_name`: the catalogue's description name.
    pub catalogue_table_name: String,
    /// `catalogue_object_id`: the catalogue's id for the source (kept as text, never a float).
    pub catalogue_object_id: String,
    /// `catalogue_object_type`: the catalogue's own type for the source.
    pub catalogue_object_type: Option<String>,
    /// `raDeg`: the source's position, degrees.
    pub ra_deg: f64,
    /// `decDeg`.
    pub dec_deg: f64,
    /// `separationArcsec`: transient–source separation.
    pub separation_arcsec: f64,
    /// `northSeparationArcsec`: transient north of the source (negative: south).
    pub north_separation_arcsec: f64,
    /// `eastSeparationArcsec`: transient east of the source (negative: west).
    pub east_separation_arcsec: f64,
    /// `physical_separation_kpc`: projected separation at the source's best distance.
    pub physical_separation_kpc: Option<f64>,
    /// `direct_distance`: redshift-independent distance, Mpc.
    pub direct_distance_mpc: Option<f64>,
    /// `best_distance` (also written to the deprecated `distance`): luminosity distance, Mpc.
    pub best_distance_mpc: Option<f64>,
    /// `best_distance_flag`: `dd`, `sz` or `pz`.
    pub best_distance_flag: Option<DistanceFlag>,
    /// `best_distance_source`: the catalogue the best distance came from (after merging
    /// duplicates it may differ from `catalogue_table_name`).
    pub best_distance_source: Option<String>,
    /// `z`: spectroscopic redshift.
    pub z: Option<f64>,
    /// `photoZ`.
    pub photo_z: Option<f64>,
    /// `photoZErr`.
    pub photo_z_err: Option<f64>,
    /// `Mag`: the first available magnitude in the catalogue's preference order.
    pub mag: Option<f64>,
    /// `MagFilter`.
    pub mag_filter: Option<String>,
    /// `MagErr`.
    pub mag_err: Option<f64>,
    /// `classificationReliability`: 1 synonym, 2 association, 3 annotation.
    pub reliability: Reliability,
    /// `major_axis_arcsec`: the major-axis *diameter* (twice the catalogue row's semi-major
    /// axis). Lasair leaves this column NULL; Solas fills it.
    pub major_axis_arcsec: Option<f64>,
    /// `rank`: 1 for the best match.
    pub rank: u32,
    /// What the catalogue lists (not a Lasair column; used for wording).
    pub catalogue_kind: ObjectKind,
}

/// The classifier's answer for one position.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// `classification`: the best match's class, ORPHAN when nothing matched.
    pub classification: Class,
    /// `description`: one sentence for people.
    pub description: String,
    /// The best match (same as `matches[0]`).
    pub best: Option<Match>,
    /// Every match, ranked, best first.
    pub matches: Vec<Match>,
}

/// A catalogue description the classifier cannot use as written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContextError {
    #[error("catalogue {catalogue}: {field} = {value:?} is not a class (SN, NT, AGN, CV, VS, BS, UNCLEAR)")]
    UnknownClass {
        catalogue: String,
        field: &'static str,
        value: String,
    },
    #[error("catalogue {catalogue}: {field} = {value} must be a finite number ≥ 0")]
    BadRadius {
        catalogue: String,
        field: &'static str,
        value: f64,
    },
}

/// Check the search rules of every catalogue; the store should call it when it loads
/// descriptions. [`classify`] skips a rule whose class it does not know rather than guess.
pub fn validate(catalogues: &[Description]) -> Result<(), ContextError> {
    for d in catalogues {
        let s = &d.search;
        for (field, value) in [
            ("synonym_class", &s.synonym_class),
            ("association_class", &s.association_class),
            ("annotation_class", &s.annotation_class),
        ] {
            if let Some(v) = value {
                if Class::from_rule(v).is_none() {
                    return Err(ContextError::UnknownClass {
                        catalogue: d.name.clone(),
                        field,
                        value: v.clone(),
                    });
                }
            }
        }
        for (field, value) in [
            ("synonym_radius_arcsec", s.synonym_radius_arcsec),
            (
                "association_radius_arcsec",
                Some(s.association_radius_arcsec),
            ),
            ("association_radius_kpc", s.association_radius_kpc),
        ] {
            if let Some(v) = value {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(ContextError::BadRadius {
                        catalogue: d.name.clone(),
                        field,
                        value: v,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Classify the transient at (ra, dec), degrees ICRS.
pub fn classify(search: &dyn ConeSearch, ra_deg: f64, dec_deg: f64) -> Classification {
    classify_at(search, ra_deg, dec_deg, None)
}

/// [`classify`] at an epoch (Julian year, see [`julian_year`]): stars with proper motions
/// are matched where they were then, not at their catalogue positions (Sherlock matches
/// catalogue positions, so a fast star seen years after its catalogue's epoch is missed).
/// The matches report the moved positions.
pub fn classify_at(
    search: &dyn ConeSearch,
    ra_deg: f64,
    dec_deg: f64,
    epoch: Option<f64>,
) -> Classification {
    let mut matches = if ra_deg.is_finite() && dec_deg.is_finite() {
        let candidates = passes::search(search, ra_deg, dec_deg, epoch);
        let merged = merge::merge_duplicates(candidates);
        rank::rank(merged)
    } else {
        Vec::new()
    };
    for (i, m) in matches.iter_mut().enumerate() {
        m.rank = i as u32 + 1;
    }
    let best = matches.first().cloned();
    Classification {
        classification: best.as_ref().map_or(Class::ORPHAN, |m| m.association_type),
        description: describe::describe(best.as_ref()),
        best,
        matches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_classes_parse() {
        assert_eq!(Class::from_rule(" sn "), Some(Class::SN));
        assert_eq!(Class::from_rule("Unclear"), Some(Class::UNCLEAR));
        assert_eq!(Class::from_rule("ORPHAN"), None);
        assert_eq!(Class::from_rule("HPMS"), None);
        for c in [
            Class::SN,
            Class::NT,
            Class::AGN,
            Class::CV,
            Class::VS,
            Class::BS,
            Class::UNCLEAR,
        ] {
            assert_eq!(Class::from_rule(c.as_str()), Some(c));
        }
    }
}

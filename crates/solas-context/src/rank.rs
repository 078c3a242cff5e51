//! Ranking: Sherlock's score, lower is better. The reliability term (1000 per level) keeps
//! every synonym ahead of every association, and every association ahead of annotations;
//! within a level the class and closeness decide.

use crate::passes::Candidate;
use crate::{Class, DistanceFlag, Match};

/// Sherlock's rank score with `pen = min(sep″ / 60, 100)`:
/// - physical separation from a direct distance or spec-z: `1000·rel + 2 − (50 − kpc) + pen`
///   (a source a few kpc away beats one at the 50 kpc edge);
/// - SN, NT, AGN: `1000·rel + 2 + pen`;
/// - CV, VS: `1000·rel + sep + 2`; BS: `1000·rel + sep`;
/// - anything else (UNCLEAR): `1000·rel + 10 + pen`.
///
/// Sherlock tests `association_type == ["SN", "NT", "AGN"]` (a string against a list), so
/// its second branch is dead and galaxies/AGN without a usable distance fall to the `+10`
/// branch, level with UNCLEAR. Here it is a membership test, as intended.
///
/// Sherlock's condition for the physical branch is "spec-z present or no/negative photo-z";
/// here it is "best distance not from a photo-z", which also admits direct distances.
pub(crate) fn score(m: &Match) -> f64 {
    let base = 1000.0 * m.reliability.as_int() as f64;
    let sep = m.separation_arcsec;
    let pen = (sep / 60.0).min(100.0);
    let solid_distance = matches!(
        m.best_distance_flag,
        Some(DistanceFlag::Direct | DistanceFlag::SpecZ)
    );
    match (m.physical_separation_kpc, m.association_type) {
        (Some(kpc), _) if solid_distance => base + 2.0 - (50.0 - kpc) + pen,
        (_, Class::SN | Class::NT | Class::AGN) => base + 2.0 + pen,
        (_, Class::CV | Class::VS) => base + sep + 2.0,
        (_, Class::BS) => base + sep,
        _ => base + 10.0 + pen,
    }
}

/// Sort best first. Ties go to the better catalogue (`priority`), then the closer source,
/// then catalogue index and id, so the order never depends on the store's row order.
pub(crate) fn rank(candidates: Vec<Candidate>) -> Vec<Match> {
    let mut scored: Vec<(f64, Candidate)> =
        candidates.into_iter().map(|c| (score(&c.m), c)).collect();
    scored.sort_by(|(sa, a), (sb, b)| {
        sa.total_cmp(sb)
            .then(a.priority.cmp(&b.priority))
            .then(a.m.separation_arcsec.total_cmp(&b.m.separation_arcsec))
            .then(a.catalogue.cmp(&b.catalogue))
            .then(a.m.catalogue_object_id.cmp(&b.m.catalogue_object_id))
    });
    scored.into_iter().map(|(_, c)| c.m).collect()
}

//! Duplicates: one astronomical source often appears in several catalogues (NED and
//! OpenNGC, GCVS and Hipparcos). Matches within 1″ of each other are merged into one, so the
//! ranking sees each source once.

use crate::distance::separation_arcsec;
use crate::passes::Candidate;

/// Catalogue positions closer than this are taken to be the same source.
pub const MERGE_RADIUS_ARCSEC: f64 = 1.0;

/// Merge groups of candidates whose positions lie within [`MERGE_RADIUS_ARCSEC`] of the
/// group's anchor.
///
/// - The anchor (identity: catalogue, id, position, separation) is the member from the best
///   catalogue by `priority`, then the stronger reliability, then the closer one.
/// - The class is the strongest among members in Sherlock's order AGN > CV > NT > SN > VS >
///   BS > UNCLEAR (a source Milliquas calls a QSO stays an AGN even if a galaxy catalogue
///   lists it too), with that member's reliability.
/// - Missing fields (direct distance, z, photo-z, magnitude, type, size) are filled from
///   the other members in the same priority order; best distance and physical separation
///   are then recomputed, and `best_distance_source` names the catalogue that supplied it.
pub(crate) fn merge_duplicates(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.sort_by(|a, b| {
        (a.priority, a.m.reliability)
            .cmp(&(b.priority, b.m.reliability))
            .then(a.m.separation_arcsec.total_cmp(&b.m.separation_arcsec))
            .then(a.catalogue.cmp(&b.catalogue))
            .then(a.m.catalogue_object_id.cmp(&b.m.catalogue_object_id))
    });
    let mut groups: Vec<Vec<Candidate>> = Vec::new();
    for c in candidates {
        let home = groups.iter_mut().find(|g| {
            separation_arcsec(g[0].m.ra_deg, g[0].m.dec_deg, c.m.ra_deg, c.m.dec_deg)
                <= MERGE_RADIUS_ARCSEC
        });
        match home {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    groups.into_iter().map(combine).collect()
}

fn combine(group: Vec<Candidate>) -> Candidate {
    let mut iter = group.iter();
    let mut out = iter.next().expect("groups are never empty").clone();
    if group.len() == 1 {
        return out;
    }
    let donor = group
        .iter()
        .min_by_key(|c| (c.m.association_type.merge_priority(), c.m.reliability))
        .expect("non-empty");
    out.m.association_type = donor.m.association_type;
    out.m.reliability = donor.m.reliability;
    for other in iter {
        let (m, o) = (&mut out.m, &other.m);
        if m.direct_distance_mpc.is_none() && o.direct_distance_mpc.is_some() {
            m.direct_distance_mpc = o.direct_distance_mpc;
            out.direct_source = other.direct_source.clone();
        }
        if m.z.is_none() && o.z.is_some() {
            m.z = o.z;
            out.z_source = other.z_source.clone();
        }
        if m.photo_z.is_none() && o.photo_z.is_some() {
            m.photo_z = o.photo_z;
            m.photo_z_err = o.photo_z_err;
            out.photoz_source = other.photoz_source.clone();
        }
        if m.mag.is_none() && o.mag.is_some() {
            m.mag = o.mag;
            m.mag_filter = o.mag_filter.clone();
            m.mag_err = o.mag_err;
        }
        if m.catalogue_object_type.is_none() {
            m.catalogue_object_type = o.catalogue_object_type.clone();
        }
        if m.major_axis_arcsec.is_none() {
            m.major_axis_arcsec = o.major_axis_arcsec;
        }
    }
    out.update_distance();
    out
}

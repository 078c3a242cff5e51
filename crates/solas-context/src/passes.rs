//! The searches: for each catalogue, one cone covering its largest radius, then every row
//! is tested as a synonym (reliability 1) or an association (reliability 2). Only when no
//! catalogue gave anything, catalogues with an annotation class are searched (reliability 3).

use solas_catalogue::{CatalogueRow, Description};

use crate::distance::{best_distance, north_east_offsets_arcsec, separation_arcsec};
use crate::rules::{
    bright_star_radius_arcsec, within_semi_major_axis, DEFAULT_SYNONYM_RADIUS_ARCSEC,
    UNSIZED_GALAXY_RADIUS_ARCSEC,
};
use crate::{Class, ConeSearch, Match, Reliability};

/// A match before ranking, with what merging and ranking need besides Lasair's fields.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub m: Match,
    /// Catalogue index in the store (tie-break, so results are deterministic).
    pub catalogue: usize,
    /// Catalogue priority (lower is better).
    pub priority: u32,
    /// Which catalogue gave each distance-like quantity (they can come from different
    /// catalogues after merging): direct distance, z, photo-z.
    pub direct_source: Option<String>,
    pub z_source: Option<String>,
    pub photoz_source: Option<String>,
}

impl Candidate {
    /// Recompute best distance and physical separation from the distance fields.
    pub fn update_distance(&mut self) {
        let m = &mut self.m;
        match best_distance(m.direct_distance_mpc, m.z, m.photo_z) {
            Some(b) => {
                m.best_distance_mpc = Some(b.luminosity_mpc);
                m.best_distance_flag = Some(b.flag);
                m.best_distance_source = match b.flag {
                    crate::DistanceFlag::Direct => self.direct_source.clone(),
                    crate::DistanceFlag::SpecZ => self.z_source.clone(),
                    crate::DistanceFlag::PhotoZ => self.photoz_source.clone(),
                };
                m.physical_separation_kpc = Some(b.kpc_per_arcsec * m.separation_arcsec);
            }
            None => {
                m.best_distance_mpc = None;
                m.best_distance_flag = None;
                m.best_distance_source = None;
                m.physical_separation_kpc = None;
            }
        }
    }
}

fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

/// A match of `row` (catalogue `index`, described by `desc`) to the transient at (ra, dec).
pub(crate) fn candidate(
    index: usize,
    desc: &Description,
    row: &CatalogueRow,
    ra: f64,
    dec: f64,
    reliability: Reliability,
    class: Class,
) -> Candidate {
    let (north, east) = north_east_offsets_arcsec(row.ra, row.dec, ra, dec);
    let source = |v: Option<f64>| finite(v).map(|_| desc.name.clone());
    let mut c = Candidate {
        m: Match {
            association_type: class,
            catalogue_table_name: desc.name.clone(),
            catalogue_object_id: row.id.clone(),
            catalogue_object_type: row
                .object_type
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            ra_deg: row.ra,
            dec_deg: row.dec,
            separation_arcsec: separation_arcsec(row.ra, row.dec, ra, dec),
            north_separation_arcsec: north,
            east_separation_arcsec: east,
            physical_separation_kpc: None,
            direct_distance_mpc: finite(row.distance_mpc),
            best_distance_mpc: None,
            best_distance_flag: None,
            best_distance_source: None,
            z: finite(row.z),
            photo_z: finite(row.photoz),
            photo_z_err: finite(row.photoz_err),
            mag: finite(row.mag),
            mag_filter: row.mag_filter.clone(),
            mag_err: finite(row.mag_err),
            reliability,
            major_axis_arcsec: finite(row.semi_major_axis_arcsec)
                .filter(|a| *a > 0.0)
                .map(|a| 2.0 * a),
            rank: 0,
            catalogue_kind: desc.kind,
        },
        catalogue: index,
        priority: desc.priority,
        direct_source: source(row.distance_mpc),
        z_source: source(row.z),
        photoz_source: source(row.photoz),
    };
    c.update_distance();
    c
}

/// The radii one catalogue is searched with.
struct Radii {
    synonym: Option<(f64, Class)>,
    association: Option<Class>,
    /// Cone radius covering both.
    cone: f64,
}

fn radii(desc: &Description) -> Radii {
    let s = &desc.search;
    let synonym = s
        .synonym_class
        .as_deref()
        .and_then(Class::from_rule)
        .map(|class| {
            // Sherlock's global synonym radius applies only if smaller than the entry's radius.
            let r = s
                .synonym_radius_arcsec
                .unwrap_or(DEFAULT_SYNONYM_RADIUS_ARCSEC.min(s.association_radius_arcsec));
            (r, class)
        });
    let association = s.association_class.as_deref().and_then(Class::from_rule);
    let mut cone = synonym.map_or(0.0, |(r, _)| r);
    if association.is_some() {
        // For bright stars the association radius is capped by `association_radius_arcsec`
        // (see `association_ok`), so that is the cone too.
        cone = cone.max(s.association_radius_arcsec);
    }
    Radii {
        synonym,
        association,
        cone,
    }
}

/// Whether a row outside the synonym radius is an association.
fn association_ok(desc: &Description, c: &Candidate) -> bool {
    let s = &desc.search;
    let m = &c.m;
    let sep = m.separation_arcsec;
    let inside = if s.bright_star {
        sep <= bright_star_radius_arcsec(m.mag).min(s.association_radius_arcsec)
    } else {
        match (s.association_radius_kpc, m.physical_separation_kpc) {
            // With a distance the physical radius decides, inside the angular cone.
            (Some(kpc), Some(phys)) => phys <= kpc && sep <= s.association_radius_arcsec,
            // Neither distance nor size: nothing says how far this galaxy reaches.
            _ if s.within_semi_major_axis && m.major_axis_arcsec.is_none() => {
                sep <= UNSIZED_GALAXY_RADIUS_ARCSEC.min(s.association_radius_arcsec)
            }
            _ => sep <= s.association_radius_arcsec,
        }
    };
    // Galaxy cut: semi-major axis stored as a semi-axis; the diameter is twice it.
    inside
        && (!s.within_semi_major_axis
            || within_semi_major_axis(sep, m.major_axis_arcsec.map(|d| d / 2.0)))
}

/// All synonym and association matches (or, failing those, annotation matches) around
/// (ra, dec), unmerged and unranked.
pub(crate) fn search(
    search: &dyn ConeSearch,
    ra: f64,
    dec: f64,
    epoch: Option<f64>,
) -> Vec<Candidate> {
    let catalogues = search.catalogues();
    let mut rows = Vec::new();
    let mut out = Vec::new();
    for (index, desc) in catalogues.iter().enumerate() {
        let r = radii(desc);
        if r.cone <= 0.0 {
            continue;
        }
        rows.clear();
        search.cone_at(index, ra, dec, r.cone, epoch, &mut rows);
        for row in &rows {
            // The store may round its cone outwards; our own separation decides (a NaN
            // separation from a corrupt row fails the test too).
            let sep = separation_arcsec(row.ra, row.dec, ra, dec);
            let inside_cone = sep <= r.cone;
            if !inside_cone {
                continue;
            }
            if let Some((radius, class)) = r.synonym {
                if sep <= radius {
                    out.push(candidate(
                        index,
                        desc,
                        row,
                        ra,
                        dec,
                        Reliability::Synonym,
                        class,
                    ));
                    continue;
                }
            }
            if let Some(class) = r.association {
                let c = candidate(index, desc, row, ra, dec, Reliability::Association, class);
                if association_ok(desc, &c) {
                    out.push(c);
                }
            }
        }
    }
    if out.is_empty() {
        annotation_pass(search, ra, dec, epoch, &mut rows, &mut out);
    }
    out
}

/// Annotation searches use the catalogue's angular association radius (there is no
/// separate annotation radius in the description) and no physical or size cut.
fn annotation_pass(
    search: &dyn ConeSearch,
    ra: f64,
    dec: f64,
    epoch: Option<f64>,
    rows: &mut Vec<CatalogueRow>,
    out: &mut Vec<Candidate>,
) {
    for (index, desc) in search.catalogues().iter().enumerate() {
        let Some(class) = desc
            .search
            .annotation_class
            .as_deref()
            .and_then(Class::from_rule)
        else {
            continue;
        };
        let radius = desc.search.association_radius_arcsec;
        if radius <= 0.0 {
            continue;
        }
        rows.clear();
        search.cone_at(index, ra, dec, radius, epoch, rows);
        for row in rows.iter() {
            if separation_arcsec(row.ra, row.dec, ra, dec) <= radius {
                out.push(candidate(
                    index,
                    desc,
                    row,
                    ra,
                    dec,
                    Reliability::Annotation,
                    class,
                ));
            }
        }
    }
}

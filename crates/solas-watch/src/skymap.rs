//! Gravitational-wave skymaps (LVK HEALPix FITS): where on the sky, and at what distance,
//! an event probably was, and how a position ranks within that.
//!
//! Both forms LVK has published are read, gzipped or not:
//! - multi-order (`ORDERING = NUNIQ`): columns `UNIQ`, `PROBDENSITY` (per steradian) and
//!   optionally `DISTMU`, `DISTSIGMA`, `DISTNORM`;
//! - flat (`ORDERING = NESTED` or `RING`, `NSIDE`): `PROB` (probability per pixel) and the
//!   same distance columns, possibly several pixels per row (`1024E`).
//!
//! Credible levels follow ligo.skymap's greedy rule: pixels sorted by probability density,
//! highest first, probability (density × pixel area) accumulated, and each pixel given the
//! cumulative probability at its place: the smallest credible region that contains it.
//! Pixels of equal density share the level at the end of their group, so the answer does
//! not depend on sort order. Levels are relative to the map's total probability (1 for a
//! well-formed map).
//!
//! Memory: per pixel 4 bytes of density and 4 of level (f32; LVK writes the densities in
//! f64 but 7 digits are more than the maps' accuracy), 12 for distance (f32) and, for
//! multi-order maps, 9 for the position. A flat NSIDE 1024 map with distances takes
//! about 250 MB; an LVK multi-order map (~20,000 pixels) well under 1 MB.

use std::ops::Range;

use solas_fits::{self as fits, BinTable};

/// Largest decompressed skymap, so a small gzip bomb cannot exhaust memory. A flat
/// NSIDE 2048 skymap with four f64 columns is 1.6 GB; this leaves room above that. Only
/// the operator loads skymaps (`solas event add`).
const MAX_SKYMAP_BYTES: u64 = 4 << 30;
use crate::sky::{self, DEPTH_29};
use crate::watchmap::Moc;

/// Why a skymap could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SkymapError {
    #[error("{0}")]
    Format(#[from] fits::FitsError),
    #[error("no HEALPix binary table (no UNIQ or PROB column) in the file")]
    NoTable,
    #[error("unsupported pixel ordering {0:?}: expected NUNIQ, NESTED or RING")]
    Ordering(String),
    #[error("{0}")]
    Pixels(String),
    #[error("row {row}: {what}")]
    BadRow { row: usize, what: String },
    #[error("the map holds no probability")]
    NoProbability,
    /// An error circle that cannot be drawn.
    #[error("{0}")]
    Circle(String),
}

/// Header facts about the event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkymapMeta {
    /// `OBJECT`: the event id (e.g. `MS181101ab`).
    pub object: Option<String>,
    /// `DATE-OBS`, ISO 8601 UTC.
    pub date_obs: Option<String>,
    /// `MJD-OBS`.
    pub mjd_obs: Option<f64>,
    /// `DISTMEAN`, `DISTSTD`: posterior mean and standard deviation of distance, Mpc.
    pub distmean: Option<f64>,
    pub diststd: Option<f64>,
    /// `INSTRUME`, `CREATOR`.
    pub instruments: Option<String>,
    pub creator: Option<String>,
    /// `NUNIQ`, `NESTED` or `RING`, as in the file.
    pub ordering: String,
}

/// What a skymap says about one position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkyLocation {
    /// Smallest credible region containing the position, in percent (0–100).
    pub contour_percent: f64,
    /// Probability per steradian at the position.
    pub prob_density_2d: f64,
    /// `(DISTMU, DISTSIGMA, DISTNORM)` of the pixel: location and scale (Mpc) and
    /// normalisation (Mpc⁻²) of the conditional distance distribution, when the map has
    /// them.
    pub dist: Option<(f64, f64, f64)>,
}

/// Where pixels are.
#[derive(Debug, Clone)]
enum Layout {
    /// Every pixel of one order, indexed by NESTED number.
    Flat { depth: u8 },
    /// Pixels of mixed orders, sorted: `starts[i]` is pixel i's first order-29 cell.
    Multi { starts: Vec<u64>, depths: Vec<u8> },
}

/// A skymap in memory, ready for position queries.
#[derive(Debug, Clone)]
pub struct Skymap {
    meta: SkymapMeta,
    layout: Layout,
    density: Vec<f32>,
    level: Vec<f32>,
    dist: Option<Vec<[f32; 3]>>,
    total_probability: f64,
    max_order: u8,
}

/// The pixel data before levels are computed.
struct Raw {
    layout: Layout,
    density: Vec<f64>,
    dist: Option<Vec<[f32; 3]>>,
    max_order: u8,
}

/// A skymap for an error circle, as GCN notices give one (`ra`, `dec`, `ra_dec_error` at
/// `containment_probability`): a 2-D Gaussian on the sphere whose `containment` credible
/// region is the circle, on one HEALPix depth with cells about a quarter of σ across, out
/// to where 99.99 % of the probability lies, as a multi-order FITS file (`UNIQ`,
/// `PROBDENSITY` per steradian, `OBJECT` and `MJD-OBS` when given). Events from circles
/// are then stored, matched and shown as LVK's are.
pub fn circle_fits(
    ra: f64,
    dec: f64,
    radius_deg: f64,
    containment: f64,
    object: Option<&str>,
    mjd_obs: Option<f64>,
) -> Result<Vec<u8>, SkymapError> {
    let (lon, lat) = sky::lonlat(ra, dec)
        .ok_or_else(|| SkymapError::Circle(format!("no such position: ({ra}, {dec})")))?;
    if !(radius_deg.is_finite() && radius_deg > 0.0 && radius_deg <= 180.0) {
        return Err(SkymapError::Circle(format!(
            "error radius {radius_deg}° is not usable"
        )));
    }
    if !(containment > 0.0 && containment < 1.0) {
        return Err(SkymapError::Circle(format!(
            "containment {containment} is not in (0, 1)"
        )));
    }
    // P(θ < R) = 1 − exp(−R² / 2σ²) for a small circular Gaussian.
    let sigma = radius_deg.to_radians() / (-2.0 * (1.0 - containment).ln()).sqrt();
    let reach = (sigma * (-2.0 * 1e-4f64.ln()).sqrt()).min(std::f64::consts::PI);
    let mut depth = 0u8;
    while depth < 24 && sky::cell_area_sr(depth).sqrt() > sigma / 4.0 {
        depth += 1;
    }
    let cells: Vec<u64> = if reach >= std::f64::consts::PI {
        (0..sky::n_cells(depth)).collect()
    } else {
        cdshealpix::nested::cone_coverage_approx(depth, lon, lat, reach)
            .flat_iter()
            .collect()
    };
    let weights: Vec<f64> = cells
        .iter()
        .map(|&h| {
            let (clon, clat) = cdshealpix::nested::center(depth, h);
            let cos = lat.sin() * clat.sin() + lat.cos() * clat.cos() * (clon - lon).cos();
            let theta = cos.clamp(-1.0, 1.0).acos();
            (-theta * theta / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let total: f64 = weights.iter().sum::<f64>() * sky::cell_area_sr(depth);
    if !(total > 0.0 && total.is_finite()) {
        return Err(SkymapError::NoProbability);
    }
    let mut rows: Vec<(u64, f64)> = cells
        .iter()
        .zip(&weights)
        .map(|(&h, &w)| ((4u64 << (2 * u32::from(depth))) + h, w / total))
        .collect();
    rows.sort_unstable_by_key(|r| r.0);
    let mut data = Vec::with_capacity(rows.len() * 16);
    for (uniq, density) in rows {
        data.extend_from_slice(&(uniq as i64).to_be_bytes());
        data.extend_from_slice(&density.to_be_bytes());
    }
    let object = object.map(|o| format!("'{}'", o.replace('\'', "''")));
    let mjd = mjd_obs.map(|m| format!("{m:.8}"));
    let mut extra = vec![("ORDERING", "'NUNIQ'"), ("INDXSCHM", "'EXPLICIT'")];
    if let Some(o) = &object {
        extra.push(("OBJECT", o));
    }
    if let Some(m) = &mjd {
        extra.push(("MJD-OBS", m));
    }
    Ok(solas_fits::bintable_file(
        &extra,
        &[("UNIQ", "K"), ("PROBDENSITY", "D")],
        16,
        &data,
    ))
}

impl Skymap {
    /// Reads a skymap FITS file (gzip detected by its magic bytes).
    pub fn from_fits(bytes: &[u8]) -> Result<Skymap, SkymapError> {
        let bytes = fits::maybe_gunzip(bytes, MAX_SKYMAP_BYTES).map_err(SkymapError::Format)?;
        let hdus = fits::hdus(&bytes).map_err(SkymapError::Format)?;
        let hdu = hdus
            .iter()
            .find(|h| {
                BinTable::new(h).is_ok_and(|t| {
                    ["UNIQ", "PROB", "PROBABILITY"]
                        .iter()
                        .any(|c| t.column(c).is_some())
                })
            })
            .ok_or(SkymapError::NoTable)?;
        let table = BinTable::new(hdu).map_err(SkymapError::Format)?;
        let h = &hdu.header;
        let primary = &hdus[0].header;
        let get = |k: &str| h.get(k).or_else(|| primary.get(k)).map(str::to_string);
        let get_f = |k: &str| h.get_f64(k).or_else(|| primary.get_f64(k));
        let ordering = get("ORDERING").unwrap_or_default().to_ascii_uppercase();
        let raw = if table.column("UNIQ").is_some() {
            read_multi(&table)?
        } else {
            match ordering.as_str() {
                "NESTED" | "RING" => read_flat(&table, ordering == "RING")?,
                _ => return Err(SkymapError::Ordering(ordering)),
            }
        };
        let meta = SkymapMeta {
            object: get("OBJECT"),
            date_obs: get("DATE-OBS"),
            mjd_obs: get_f("MJD-OBS"),
            distmean: get_f("DISTMEAN"),
            diststd: get_f("DISTSTD"),
            instruments: get("INSTRUME"),
            creator: get("CREATOR"),
            ordering: if table.column("UNIQ").is_some() && ordering.is_empty() {
                "NUNIQ".into()
            } else {
                ordering
            },
        };
        Skymap::from_raw(meta, raw)
    }

    fn from_raw(meta: SkymapMeta, raw: Raw) -> Result<Skymap, SkymapError> {
        let depth_of = |i: usize| match &raw.layout {
            Layout::Flat { depth } => *depth,
            Layout::Multi { depths, .. } => depths[i],
        };
        let n = raw.density.len();
        // Greedy credible levels: rank by density, accumulate probability.
        let mut order: Vec<(f64, u32)> = raw
            .density
            .iter()
            .enumerate()
            .filter(|(_, &d)| d > 0.0)
            .map(|(i, &d)| (d, i as u32))
            .collect();
        order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        let total: f64 = order
            .iter()
            .map(|&(d, i)| d * sky::cell_area_sr(depth_of(i as usize)))
            .sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(SkymapError::NoProbability);
        }
        let mut level = vec![1.0f32; n];
        let mut cum = 0.0;
        let mut g = 0;
        while g < order.len() {
            // A group of equal densities gets the level at its end.
            let mut e = g;
            while e < order.len() && order[e].0 == order[g].0 {
                let (d, i) = order[e];
                cum += d * sky::cell_area_sr(depth_of(i as usize));
                e += 1;
            }
            let l = (cum / total).min(1.0) as f32;
            for &(_, i) in &order[g..e] {
                level[i as usize] = l;
            }
            g = e;
        }
        drop(order);
        Ok(Skymap {
            meta,
            layout: raw.layout,
            density: raw.density.iter().map(|&d| d as f32).collect(),
            level,
            dist: raw.dist,
            total_probability: total,
            max_order: raw.max_order,
        })
    }

    /// Header facts: event id, observation time, distance summary.
    pub fn meta(&self) -> &SkymapMeta {
        &self.meta
    }

    /// Number of pixels.
    pub fn n_pixels(&self) -> usize {
        self.density.len()
    }

    /// Deepest HEALPix order (log2 NSIDE for a flat map).
    pub fn max_order(&self) -> u8 {
        self.max_order
    }

    /// Sum of the map's probability (1 for a well-formed map).
    pub fn total_probability(&self) -> f64 {
        self.total_probability
    }

    /// Whether the map has distance columns.
    pub fn has_distance(&self) -> bool {
        self.dist.is_some()
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        let layout = match &self.layout {
            Layout::Flat { .. } => 0,
            Layout::Multi { starts, depths } => starts.capacity() * 8 + depths.capacity(),
        };
        layout
            + self.density.capacity() * 4
            + self.level.capacity() * 4
            + self.dist.as_ref().map_or(0, |d| d.capacity() * 12)
    }

    /// The pixel holding a position, if the map covers it.
    fn pixel(&self, ra: f64, dec: f64) -> Option<usize> {
        let (lon, lat) = sky::lonlat(ra, dec)?;
        match &self.layout {
            Layout::Flat { depth } => Some(sky::hash(*depth, lon, lat) as usize),
            Layout::Multi { starts, depths } => {
                let h = sky::hash(DEPTH_29, lon, lat);
                let i = starts.partition_point(|&s| s <= h).checked_sub(1)?;
                let (_, end) =
                    sky::range29(depths[i], starts[i] >> (2 * (DEPTH_29 - depths[i]) as u32));
                (h < end).then_some(i)
            }
        }
    }

    /// Credible level, density and distance parameters at a position; `None` for an
    /// invalid position or one the map does not cover.
    pub fn locate(&self, ra: f64, dec: f64) -> Option<SkyLocation> {
        let i = self.pixel(ra, dec)?;
        Some(SkyLocation {
            contour_percent: self.level[i] as f64 * 100.0,
            prob_density_2d: self.density[i] as f64,
            dist: self
                .dist
                .as_ref()
                .map(|d| (d[i][0] as f64, d[i][1] as f64, d[i][2] as f64)),
        })
    }

    /// Probability per steradian per Mpc at a position and luminosity distance (ligo.skymap's
    /// `p(r, n) = p(n) · DISTNORM · r² · N(r; DISTMU, DISTSIGMA)`). `None` if the map has no
    /// distances, does not cover the position, or the distance is not a finite non-negative
    /// number. Pixels without distance information (DISTMU infinite, DISTNORM 0) give 0.
    pub fn density_3d(&self, ra: f64, dec: f64, distance_mpc: f64) -> Option<f64> {
        if !(distance_mpc.is_finite() && distance_mpc >= 0.0) {
            return None;
        }
        let loc = self.locate(ra, dec)?;
        let (mu, sigma, norm) = loc.dist?;
        if !(mu.is_finite() && sigma.is_finite() && sigma > 0.0 && norm.is_finite() && norm > 0.0) {
            return Some(0.0);
        }
        let z = (distance_mpc - mu) / sigma;
        let gauss = (-0.5 * z * z).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt());
        Some(loc.prob_density_2d * norm * distance_mpc * distance_mpc * gauss)
    }

    /// Area, in square degrees, of the smallest region holding `percent` of the
    /// probability (the pixels whose credible level is at most that).
    pub fn region_area_deg2(&self, percent: f64) -> f64 {
        let p = (percent / 100.0) as f32;
        let sr: f64 = (0..self.level.len())
            .filter(|&i| self.level[i] <= p)
            .map(|i| sky::cell_area_sr(self.depth(i)))
            .sum();
        sr * sky::DEG2_PER_SR
    }

    /// The `percent` credible region as a MOC, for fast containment tests or to store.
    pub fn region_moc(&self, percent: f64) -> Moc {
        let p = (percent / 100.0) as f32;
        let mut ranges: Vec<Range<u64>> = Vec::new();
        for i in (0..self.level.len()).filter(|&i| self.level[i] <= p) {
            let (a, b) = match &self.layout {
                Layout::Flat { depth } => sky::range29(*depth, i as u64),
                Layout::Multi { starts, depths } => (
                    starts[i],
                    starts[i] + (1u64 << (2 * (DEPTH_29 - depths[i]) as u32)),
                ),
            };
            // Pixels come in sky order: extend the last range when contiguous.
            match ranges.last_mut() {
                Some(last) if last.end == a => last.end = b,
                _ => ranges.push(a..b),
            }
        }
        Moc::from_ranges29(self.max_order, ranges)
    }

    fn depth(&self, i: usize) -> u8 {
        match &self.layout {
            Layout::Flat { depth } => *depth,
            Layout::Multi { depths, .. } => depths[i],
        }
    }
}

/// A probability or density value: finite and not negative.
fn check_value(row: usize, what: &str, v: f64) -> Result<f64, SkymapError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(SkymapError::BadRow {
            row,
            what: format!("{what} = {v} is not a finite non-negative number"),
        })
    }
}

/// The distance columns, when all three are present.
fn dist_columns<'t>(t: &'t BinTable) -> Option<[&'t fits::Column; 3]> {
    Some([
        t.column("DISTMU")?,
        t.column("DISTSIGMA")?,
        t.column("DISTNORM")?,
    ])
}

fn read_multi(t: &BinTable) -> Result<Raw, SkymapError> {
    let uniq = t.column("UNIQ").ok_or(SkymapError::NoTable)?;
    let n = t.len(uniq);
    // PROBDENSITY is the standard; a PROB column (per pixel) is converted.
    let (pcol, per_pixel) = match (t.column("PROBDENSITY"), t.column("PROB")) {
        (Some(c), _) => (c, false),
        (None, Some(c)) => (c, true),
        _ => {
            return Err(SkymapError::Pixels(
                "multi-order map without PROBDENSITY column".into(),
            ))
        }
    };
    let dcols = dist_columns(t);
    for c in std::iter::once(pcol).chain(dcols.iter().flatten().copied()) {
        if t.len(c) != n {
            return Err(SkymapError::Pixels(format!(
                "column {} has {} values for {n} UNIQ",
                c.name,
                t.len(c)
            )));
        }
    }
    let mut pix: Vec<(u64, u8, u32)> = Vec::with_capacity(n);
    for i in 0..n {
        let u = t.u64_at(uniq, i).ok_or_else(|| SkymapError::BadRow {
            row: i,
            what: "UNIQ is not a non-negative integer".into(),
        })?;
        let (depth, hash) = decode_uniq(u).ok_or_else(|| SkymapError::BadRow {
            row: i,
            what: format!("UNIQ {u} is not a valid HEALPix cell"),
        })?;
        pix.push((sky::range29(depth, hash).0, depth, i as u32));
    }
    // LVK writes pixels in UNIQ order, which is not sky order across orders.
    pix.sort_unstable_by_key(|p| p.0);
    let mut prev_end = 0u64;
    for &(start, depth, row) in &pix {
        if start < prev_end {
            return Err(SkymapError::BadRow {
                row: row as usize,
                what: "pixel overlaps another".into(),
            });
        }
        prev_end = start + (1u64 << (2 * (DEPTH_29 - depth) as u32));
    }
    let mut density = Vec::with_capacity(n);
    let mut dist = dcols.map(|_| Vec::with_capacity(n));
    for &(_, depth, row) in &pix {
        let row = row as usize;
        let v = check_value(row, &pcol.name, t.f64_at(pcol, row))?;
        density.push(if per_pixel {
            v / sky::cell_area_sr(depth)
        } else {
            v
        });
        if let (Some(c), Some(d)) = (dcols, dist.as_mut()) {
            d.push(c.map(|c| t.f64_at(c, row) as f32));
        }
    }
    let max_order = pix.iter().map(|p| p.1).max().unwrap_or(0);
    Ok(Raw {
        layout: Layout::Multi {
            starts: pix.iter().map(|p| p.0).collect(),
            depths: pix.iter().map(|p| p.1).collect(),
        },
        density,
        dist,
        max_order,
    })
}

/// `UNIQ = 4·4^depth + hash` → (depth, hash), for depth ≤ 29.
fn decode_uniq(u: u64) -> Option<(u8, u64)> {
    if u < 4 {
        return None;
    }
    let depth = ((63 - u.leading_zeros()) - 2) / 2;
    if depth > DEPTH_29 as u32 {
        return None;
    }
    Some((depth as u8, u - (4u64 << (2 * depth))))
}

fn read_flat(t: &BinTable, ring: bool) -> Result<Raw, SkymapError> {
    let pcol = t
        .column("PROB")
        .or_else(|| t.column("PROBABILITY"))
        .ok_or(SkymapError::NoTable)?;
    let npix = t.len(pcol);
    let nside = match t.header.get_i64("NSIDE") {
        Some(n) => u64::try_from(n).ok(),
        None => Some(((npix / 12) as f64).sqrt().round() as u64),
    }
    .filter(|n| n.is_power_of_two() && *n <= 1 << 13)
    .ok_or_else(|| {
        SkymapError::Pixels(format!(
            "NSIDE {:?} is not a power of two up to 8192",
            t.header.get("NSIDE")
        ))
    })?;
    let depth = nside.trailing_zeros() as u8;
    if npix as u64 != sky::n_cells(depth) {
        return Err(SkymapError::Pixels(format!(
            "{npix} pixels for NSIDE {nside} (expected {}); partial-sky maps are not supported",
            sky::n_cells(depth)
        )));
    }
    let dcols = dist_columns(t).filter(|c| c.iter().all(|c| t.len(c) == npix));
    let area = sky::cell_area_sr(depth);
    let layer = cdshealpix::nested::get(depth);
    let mut density = vec![0.0f64; npix];
    let mut dist = dcols.map(|_| vec![[0f32; 3]; npix]);
    for i in 0..npix {
        let v = check_value(i, &pcol.name, t.f64_at(pcol, i))?;
        // RING pixels go to their NESTED place so that lookups need one hash.
        let j = if ring {
            layer.from_ring(i as u64) as usize
        } else {
            i
        };
        density[j] = v / area;
        if let (Some(c), Some(d)) = (dcols, dist.as_mut()) {
            d[j] = c.map(|c| t.f64_at(c, i) as f32);
        }
    }
    Ok(Raw {
        layout: Layout::Flat { depth },
        density,
        dist,
        max_order: depth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use solas_fits::testing::bintable;

    #[test]
    fn an_error_circle_becomes_a_skymap_whose_credible_region_is_the_circle() {
        for (radius, containment) in [(0.02, 0.9), (0.5, 0.9), (5.0, 0.68), (40.0, 0.9)] {
            let bytes = circle_fits(
                120.0,
                40.0,
                radius,
                containment,
                Some("EP 'x'"),
                Some(60370.9),
            )
            .unwrap();
            let map = Skymap::from_fits(&bytes).unwrap();
            assert!((map.total_probability() - 1.0).abs() < 1e-6);
            assert_eq!(map.meta().object.as_deref(), Some("EP 'x'"));
            assert_eq!(map.meta().mjd_obs, Some(60370.9));
            let percent = containment * 100.0;
            // The circle's area is the credible region's, to the cells' resolution.
            let circle = 2.0 * std::f64::consts::PI * (1.0 - radius.to_radians().cos());
            let region = map.region_area_deg2(percent) / sky::DEG2_PER_SR;
            assert!(
                (region / circle - 1.0).abs() < 0.15,
                "{radius}°: {region} vs {circle} sr"
            );
            // Inside the circle, near its edge; and well outside.
            let inside = map.locate(120.0, 40.0 + 0.9 * radius).unwrap();
            assert!(inside.contour_percent < percent, "{radius}°: {inside:?}");
            if radius < 30.0 {
                let outside = map.locate(120.0, 40.0 + 1.3 * radius);
                assert!(
                    outside.is_none_or(|l| l.contour_percent > percent),
                    "{radius}°"
                );
            }
        }
        assert!(circle_fits(120.0, 40.0, 0.0, 0.9, None, None).is_err());
        assert!(circle_fits(120.0, 95.0, 1.0, 0.9, None, None).is_err());
        assert!(circle_fits(120.0, 40.0, 1.0, 1.0, None, None).is_err());
    }

    /// A multi-order map: the 12 order-0 cells, cell 0 split into its 4 order-1 children.
    fn multi_map() -> Vec<u8> {
        let mut data = Vec::new();
        let a0 = sky::cell_area_sr(0);
        let a1 = sky::cell_area_sr(1);
        // Probabilities: children of cell 0 get 0.4, 0.2, 0.1, 0.1; cell 1 gets 0.2; rest 0.
        let mut rows: Vec<(u64, f64)> = vec![
            (16, 0.4 / a1),
            (17, 0.2 / a1),
            (18, 0.1 / a1),
            (19, 0.1 / a1),
        ];
        rows.push((4 + 1, 0.2 / a0));
        for h in 2..12 {
            rows.push((4 + h, 0.0));
        }
        for (u, p) in rows {
            data.extend_from_slice(&(u as i64).to_be_bytes());
            data.extend_from_slice(&p.to_be_bytes());
            data.extend_from_slice(&100f64.to_be_bytes());
            data.extend_from_slice(&10f64.to_be_bytes());
            data.extend_from_slice(&1e-4f64.to_be_bytes());
        }
        bintable(
            &[
                ("ORDERING", "'NUNIQ'"),
                ("OBJECT", "'S1'"),
                ("MJD-OBS", "58000.5"),
            ],
            &[
                ("UNIQ", "K"),
                ("PROBDENSITY", "D"),
                ("DISTMU", "D"),
                ("DISTSIGMA", "D"),
                ("DISTNORM", "D"),
            ],
            40,
            &data,
        )
    }

    fn at(depth: u8, hash: u64) -> (f64, f64) {
        let (lon, lat) = cdshealpix::nested::center(depth, hash);
        (lon.to_degrees(), lat.to_degrees())
    }

    #[test]
    fn multi_order_levels_and_density() {
        let m = Skymap::from_fits(&multi_map()).unwrap();
        assert_eq!(m.meta().object.as_deref(), Some("S1"));
        assert_eq!(m.meta().mjd_obs, Some(58000.5));
        assert_eq!(m.n_pixels(), 15);
        assert!((m.total_probability() - 1.0).abs() < 1e-12);
        let lv = |d, h| {
            let (ra, dec) = at(d, h);
            m.locate(ra, dec).unwrap().contour_percent
        };
        assert!((lv(1, 0) - 40.0).abs() < 1e-4);
        // Equal densities: 0.2 and (cells 1-level) share... child 1 (0.2/a1) is denser
        // than cell 1 (0.2/a0), so it comes first: 60 %.
        assert!((lv(1, 1) - 60.0).abs() < 1e-4);
        // Children 2 and 3 tie: both at the end of their group, 80 %.
        assert!((lv(1, 2) - 80.0).abs() < 1e-4);
        assert!((lv(1, 3) - 80.0).abs() < 1e-4);
        assert!((lv(0, 1) - 100.0).abs() < 1e-4);
        assert!((lv(0, 7) - 100.0).abs() < 1e-4);
        let area1 = 41252.96124941927 / 48.0;
        // Levels are f32: ask a hair above the exact boundaries this toy map has.
        assert!((m.region_area_deg2(50.0) - area1).abs() < 1e-6);
        assert!((m.region_area_deg2(80.001) - 4.0 * area1).abs() < 1e-6);
        assert!((m.region_area_deg2(79.999) - 2.0 * area1).abs() < 1e-6);
        assert!((m.region_moc(80.001).area_deg2() - 4.0 * area1).abs() < 1e-6);
        assert!((m.region_area_deg2(100.0) - 41252.96124941927).abs() < 1e-6);
        let (ra, dec) = at(1, 0);
        let loc = m.locate(ra, dec).unwrap();
        assert_eq!(loc.dist, Some((100.0, 10.0, 1e-4f32 as f64)));
        // At r = mu the 3-D density is p · norm · mu² / (sigma √(2π)).
        let expect = loc.prob_density_2d * (1e-4f32 as f64) * 1e4
            / (10.0 * (2.0 * std::f64::consts::PI).sqrt());
        let got = m.density_3d(ra, dec, 100.0).unwrap();
        assert!((got - expect).abs() < 1e-9 * expect, "{got} {expect}");
        assert_eq!(m.density_3d(ra, dec, -1.0), None);
        assert!(m.locate(f64::NAN, 0.0).is_none());
    }

    #[test]
    fn flat_ring_equals_nested() {
        // NSIDE 2: 48 pixels; probability ∝ NESTED index + 1.
        let depth = 1u8;
        let n = 48u64;
        let sum: f64 = (1..=n).map(|i| i as f64).sum();
        let layer = cdshealpix::nested::get(depth);
        let mut nested = Vec::new();
        let mut ring = Vec::new();
        for i in 0..n {
            nested.extend_from_slice(&(((i + 1) as f64 / sum) as f32).to_be_bytes());
            let nest_of_ring = layer.from_ring(i);
            ring.extend_from_slice(&(((nest_of_ring + 1) as f64 / sum) as f32).to_be_bytes());
        }
        // 8 pixels per row, as healpy writes large maps.
        let a = bintable(
            &[("ORDERING", "'NESTED'"), ("NSIDE", "2")],
            &[("PROB", "8E")],
            32,
            &nested,
        );
        let b = bintable(
            &[("ORDERING", "'RING'"), ("NSIDE", "2")],
            &[("PROB", "8E")],
            32,
            &ring,
        );
        let (a, b) = (
            Skymap::from_fits(&a).unwrap(),
            Skymap::from_fits(&b).unwrap(),
        );
        assert!(!a.has_distance());
        for h in 0..n {
            let (ra, dec) = at(depth, h);
            assert_eq!(a.locate(ra, dec), b.locate(ra, dec), "pixel {h}");
        }
        // The densest pixel (nested 47) holds 48/1176 of the probability.
        let (ra, dec) = at(depth, 47);
        assert!((a.locate(ra, dec).unwrap().contour_percent - 4800.0 / 1176.0).abs() < 1e-4);
    }

    #[test]
    fn bad_maps_are_errors() {
        let good = multi_map();
        for cut in [0, 100, 2880, 5000, 5760, good.len() - 3000] {
            assert!(Skymap::from_fits(&good[..cut]).is_err(), "cut {cut}");
        }
        assert!(Skymap::from_fits(b"garbage").is_err());
        assert!(Skymap::from_fits(b"\x1f\x8b\x08\x00garbage").is_err());
        // Overlapping pixels (cell 0 and its child).
        let mut data = Vec::new();
        for (u, p) in [(4u64, 1.0f64), (16, 1.0)] {
            data.extend_from_slice(&(u as i64).to_be_bytes());
            data.extend_from_slice(&p.to_be_bytes());
        }
        let f = bintable(&[], &[("UNIQ", "K"), ("PROBDENSITY", "D")], 16, &data);
        assert!(matches!(
            Skymap::from_fits(&f),
            Err(SkymapError::BadRow { .. })
        ));
        // Negative probability, bad UNIQ, no probability.
        for (u, p) in [(4u64, -1.0f64), (2, 1.0), (4, 0.0)] {
            let mut data = Vec::new();
            data.extend_from_slice(&(u as i64).to_be_bytes());
            data.extend_from_slice(&p.to_be_bytes());
            let f = bintable(&[], &[("UNIQ", "K"), ("PROBDENSITY", "D")], 16, &data);
            assert!(Skymap::from_fits(&f).is_err(), "{u} {p}");
        }
        // Flat map with a pixel count that does not match NSIDE, and bad ordering.
        let data = vec![0u8; 4 * 40];
        let f = bintable(
            &[("ORDERING", "'NESTED'"), ("NSIDE", "2")],
            &[("PROB", "E")],
            4,
            &data,
        );
        assert!(matches!(Skymap::from_fits(&f), Err(SkymapError::Pixels(_))));
        let f = bintable(&[("ORDERING", "'XYZ'")], &[("PROB", "E")], 4, &data);
        assert!(matches!(
            Skymap::from_fits(&f),
            Err(SkymapError::Ordering(_))
        ));
    }

    #[test]
    fn uniq_decoding() {
        assert_eq!(decode_uniq(4), Some((0, 0)));
        assert_eq!(decode_uniq(15), Some((0, 11)));
        assert_eq!(decode_uniq(16), Some((1, 0)));
        assert_eq!(decode_uniq(63), Some((1, 47)));
        assert_eq!(decode_uniq(3), None);
        assert_eq!(decode_uniq(u64::MAX), None);
        let u = cdshealpix::nested::to_uniq_ivoa(29, 12345);
        assert_eq!(decode_uniq(u), Some((29, 12345)));
    }
}

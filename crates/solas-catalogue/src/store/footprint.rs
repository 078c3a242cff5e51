//! Where two versions of a store differ on the sky: the depth-4 cells (3.7°) in which any
//! catalogue's rows changed, so that objects there can be classified again after a new
//! catalogue version is put in place (and objects elsewhere left alone).

use super::{Store, Table, CELL_BYTES, POS_BYTES};
use crate::store::format::u64_at;

/// The depth of the footprint's cells: every catalogue index is at least this deep.
pub const FOOTPRINT_DEPTH: u8 = 4;

/// Depth-4 cells where two store versions differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    changed: Vec<bool>,
}

impl Footprint {
    /// Cells changed, out of 3,072.
    pub fn cells(&self) -> usize {
        self.changed.iter().filter(|&&c| c).count()
    }

    pub fn is_empty(&self) -> bool {
        self.cells() == 0
    }

    /// Whether a position (degrees) lies in a changed cell.
    pub fn contains(&self, ra_deg: f64, dec_deg: f64) -> bool {
        if !(ra_deg.is_finite() && (-90.0..=90.0).contains(&dec_deg)) {
            return false;
        }
        let cell = cdshealpix::nested::get(FOOTPRINT_DEPTH)
            .hash(ra_deg.rem_euclid(360.0).to_radians(), dec_deg.to_radians());
        self.changed.get(cell as usize).copied().unwrap_or(false)
    }
}

/// The cells where `new` differs from `old`: a catalogue added, removed or loaded again
/// with different rows there (in any order), or with other rules, kind or epoch (then
/// every cell it has rows in). A catalogue loaded again as it was changes nothing; one
/// whose rows and load time are unchanged is not read at all.
pub fn changed_cells(old: &Store, new: &Store) -> Footprint {
    let n = cdshealpix::nested::n_hash(FOOTPRINT_DEPTH) as usize;
    let mut changed = vec![false; n];
    let names = old
        .tables
        .iter()
        .chain(&new.tables)
        .map(|t| t.name.as_str());
    let mut done: Vec<&str> = Vec::new();
    for name in names {
        if done.contains(&name) {
            continue;
        }
        done.push(name);
        let a = old.tables.iter().find(|t| t.name == name);
        let b = new.tables.iter().find(|t| t.name == name);
        if let (Some(a), Some(b)) = (a, b) {
            if a.manifest.rows == b.manifest.rows
                && a.manifest.loaded_unix_ns == b.manifest.loaded_unix_ns
            {
                continue;
            }
        }
        // Rules, kind, epoch or filters changed: every cell the catalogue has rows in.
        let rules_changed = match (describe(old, name), describe(new, name)) {
            (Some(x), Some(y)) => {
                // What classifications depend on (not the prose, url or licence).
                (x.kind, x.priority, &x.columns, &x.filter, &x.search)
                    != (y.kind, y.priority, &y.columns, &y.filter, &y.search)
            }
            _ => false,
        };
        let (da, db) = (digests(a, n), digests(b, n));
        for (c, flag) in changed.iter_mut().enumerate() {
            *flag |= da[c] != db[c] || (rules_changed && (da[c] != 0 || db[c] != 0));
        }
    }
    Footprint { changed }
}

fn describe<'a>(s: &'a Store, name: &str) -> Option<&'a crate::Description> {
    let i = s.tables.iter().position(|t| t.name == name)?;
    s.descriptions.get(i)
}

/// One digest per depth-4 cell of a table's rows there (0 where it has none, or no table).
fn digests(table: Option<&Table>, n: usize) -> Vec<u64> {
    let mut out = vec![0u64; n];
    let Some(t) = table else { return out };
    let (Some(pos), Some(attrs), Some(cells)) = (&t.pos, &t.attrs, &t.cells) else {
        return out;
    };
    let Some(shift) = t
        .manifest
        .depth
        .checked_sub(FOOTPRINT_DEPTH)
        .map(|d| 2 * u32::from(d))
    else {
        return out;
    };
    let entry = |c: usize, k: usize| -> Option<usize> {
        let at = (c << shift).checked_mul(CELL_BYTES)? + 8 * k;
        (at + 8 <= cells.len()).then(|| u64_at(cells, at) as usize)
    };
    for (c, d) in out.iter_mut().enumerate() {
        let (Some(r0), Some(r1), Some(a0)) = (entry(c, 0), entry(c + 1, 0), entry(c, 1)) else {
            continue;
        };
        if r0 >= r1 {
            continue;
        }
        // A sum of each row's hash: the same rows give the same digest in any order, so a
        // version indexed at another depth (rows ordered by finer cells) differs only
        // where its rows do.
        let mut sum = 0u64;
        let mut at = a0;
        for r in r0..r1 {
            let start = at;
            let (Some(p), Some(())) = (
                r.checked_mul(POS_BYTES)
                    .and_then(|s| pos.get(s..s + POS_BYTES)),
                crate::store::format::skip_attrs(attrs, &mut at),
            ) else {
                break; // corrupt: what was read so far stands
            };
            let row = hash(hash(0xcbf2_9ce4_8422_2325, p), &attrs[start..at]);
            sum = sum.wrapping_add(row);
        }
        *d = sum | 1;
    }
    out
}

/// FNV-1a over 8-byte words (and the tail): stable, and fast enough for a background pass.
fn hash(mut h: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().expect("8 bytes"))).wrapping_mul(0x0100_0000_01b3);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

//! Photometric bands shared by both surveys (ZTF uses g, r, i; Rubin uses ugrizy).

use serde::{Deserialize, Serialize};

/// A photometric band. The discriminants order the bands from blue to red.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    U,
    G,
    R,
    I,
    Z,
    Y,
}

impl Band {
    pub const ALL: [Band; 6] = [Band::U, Band::G, Band::R, Band::I, Band::Z, Band::Y];

    /// The one-letter name Rubin and Lasair use (`"g"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Band::U => "u",
            Band::G => "g",
            Band::R => "r",
            Band::I => "i",
            Band::Z => "z",
            Band::Y => "y",
        }
    }

    /// Index 0..6 in blue-to-red order, for per-band arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Parse Rubin's band letter.
    pub fn from_letter(s: &str) -> Option<Band> {
        Some(match s {
            "u" => Band::U,
            "g" => Band::G,
            "r" => Band::R,
            "i" => Band::I,
            "z" => Band::Z,
            "y" => Band::Y,
            _ => return None,
        })
    }

    /// ZTF filter id: 1 = g, 2 = r, 3 = i.
    pub fn from_ztf_fid(fid: i32) -> Option<Band> {
        Some(match fid {
            1 => Band::G,
            2 => Band::R,
            3 => Band::I,
            _ => return None,
        })
    }

    /// ZTF filter id of this band, if ZTF has it.
    pub fn ztf_fid(self) -> Option<i32> {
        match self {
            Band::G => Some(1),
            Band::R => Some(2),
            Band::I => Some(3),
            _ => None,
        }
    }
}

impl std::fmt::Display for Band {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

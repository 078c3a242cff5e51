//! Distance moduli and peak absolute magnitude.
//!
//! Cosmology follows Lasair (Ken Smith's port of Ned Wright's calculator): flat-ish ΛCDM with
//! H0 = 70, Ωm = 0.3, ΩΛ = 0.7, radiation Ωr = 4.165e-5/h², and the comoving distance as a
//! 1000-step midpoint sum over the scale factor. Reproducing the same sum (not an exact
//! integral) is what makes absMag agree with Lasair's to ~1e-9.

use crate::extinction::njy_to_mag;

const H0: f64 = 70.0;
const OMEGA_M: f64 = 0.3;
const OMEGA_V: f64 = 0.7;
const C_KM_S: f64 = 299_792.458;
const STEPS: usize = 1000;

/// Luminosity distance in Mpc at redshift z (None unless z > 0 and finite).
pub fn luminosity_distance_mpc(z: f64) -> Option<f64> {
    if !(z > 0.0 && z.is_finite()) {
        return None;
    }
    let h = H0 / 100.0;
    let omega_r = 4.165e-5 / (h * h);
    let omega_k = 1.0 - OMEGA_M - OMEGA_V - omega_r;
    let az = 1.0 / (1.0 + z);
    let mut sum = 0.0;
    for i in 0..STEPS {
        let a = az + (1.0 - az) * (i as f64 + 0.5) / STEPS as f64;
        let adot = (omega_k + OMEGA_M / a + omega_r / (a * a) + OMEGA_V * a * a).sqrt();
        sum += 1.0 / (a * adot);
    }
    let dcmr = (1.0 - az) * sum / STEPS as f64;
    // Transverse comoving distance; the curvature term is tiny (Ωk = −Ωr) so the series
    // branch is the one normally taken.
    let x = omega_k.abs().sqrt() * dcmr;
    let ratio = if x > 0.1 {
        if omega_k > 0.0 {
            x.sinh() / x
        } else {
            x.sin() / x
        }
    } else {
        let mut y = x * x;
        if omega_k < 0.0 {
            y = -y;
        }
        1.0 + y / 6.0 + y * y / 120.0
    };
    let da = az * ratio * dcmr;
    let dl = da / (az * az);
    Some(C_KM_S / H0 * dl)
}

/// Distance modulus 5 log10(D_L / 10 pc) at redshift z.
pub fn distance_modulus_z(z: f64) -> Option<f64> {
    luminosity_distance_mpc(z).map(|d| 5.0 * (d * 1e6).log10() - 5.0)
}

/// Distance modulus for a distance in Mpc (no K-term: a measured distance is local).
pub fn distance_modulus_mpc(d_mpc: f64) -> Option<f64> {
    (d_mpc > 0.0 && d_mpc.is_finite()).then(|| 5.0 * (d_mpc * 1e6).log10() - 5.0)
}

/// The distance modulus to subtract from an apparent magnitude: from a host distance if
/// known, else from a redshift with the simple K-term −2.5 log10(1+z).
///
/// Lasair looks for a `photoz` key that Sherlock never writes (it writes `photoZ`), so it
/// never uses photometric redshifts; Solas does.
pub fn host_distance_modulus(
    best_distance_mpc: Option<f64>,
    z: Option<f64>,
    photoz: Option<f64>,
) -> Option<f64> {
    if let Some(dm) = best_distance_mpc.and_then(distance_modulus_mpc) {
        return Some(dm);
    }
    let z = z
        .filter(|z| *z > 0.0 && z.is_finite())
        .or(photoz.filter(|z| *z > 0.0 && z.is_finite()))?;
    Some(distance_modulus_z(z)? - 2.5 * (1.0 + z).log10())
}

/// Brightest absolute magnitude over (time, extinction-corrected flux in nJy) points, and
/// its time. Points with flux ≤ 0 have no magnitude and are skipped.
pub fn peak_abs_mag(points: impl IntoIterator<Item = (f64, f64)>, dm: f64) -> Option<(f64, f64)> {
    let mut best: Option<(f64, f64)> = None;
    for (t, f) in points {
        if let Some(m) = njy_to_mag(f) {
            let abs = m - dm;
            if best.is_none_or(|(b, _)| abs < b) {
                best = Some((abs, t));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lasair_abs_mag_cases() {
        let dm = host_distance_modulus(Some(100.0), None, None).unwrap();
        let (m, t) = peak_abs_mag([(1.0, 1e5)], dm).unwrap();
        assert!((m - -16.1).abs() < 1e-9, "{m}");
        assert_eq!(t, 1.0);

        let dm = host_distance_modulus(None, Some(0.1), None).unwrap();
        let (m, _) = peak_abs_mag([(1.0, 1e5)], dm).unwrap();
        assert!((m - -19.31171245559691).abs() < 1e-6, "{m}");

        assert_eq!(peak_abs_mag([(1.0, -1e5)], dm), None);
        assert_eq!(peak_abs_mag([(1.0, 0.0)], dm), None);
    }

    #[test]
    fn photoz_is_used_when_no_z() {
        let a = host_distance_modulus(None, None, Some(0.1)).unwrap();
        let b = host_distance_modulus(None, Some(0.1), None).unwrap();
        assert_eq!(a, b);
        // A spectroscopic z wins over a photo-z; a distance wins over both.
        let c = host_distance_modulus(None, Some(0.1), Some(0.3)).unwrap();
        assert_eq!(b, c);
        let d = host_distance_modulus(Some(100.0), Some(0.1), Some(0.3)).unwrap();
        assert!((d - 35.0).abs() < 1e-12);
        assert_eq!(host_distance_modulus(None, Some(0.0), None), None);
        assert_eq!(host_distance_modulus(Some(f64::NAN), None, None), None);
    }

    #[test]
    fn brightest_point_wins() {
        let (m, t) = peak_abs_mag([(1.0, 1e4), (2.0, 1e5), (3.0, 5e4)], 35.0).unwrap();
        assert_eq!(t, 2.0);
        assert!((m - (31.4 - 12.5 - 35.0)).abs() < 1e-12);
    }
}

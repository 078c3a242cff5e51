//! What the columns a filter may name mean, with their units, for the builder's schema
//! browser: Lasair's definitions (lasair.md §2.2–2.4, §7) in Solas's words. A column not
//! described here still appears in the browser with its type.

/// (unit, meaning) of a column of `objects` (Rubin), if known. Per-band columns are
/// matched by their pattern (`g_psfFlux` as `X_psfFlux`).
fn rubin_object(name: &str) -> Option<(&'static str, &'static str)> {
    let band = ["u_", "g_", "r_", "i_", "z_", "y_"]
        .iter()
        .find(|b| name.starts_with(**b))
        .map(|b| &name[b.len()..]);
    if let Some(rest) = band {
        return Some(match rest {
            "psfFlux" => ("nJy", "the band's latest difference flux"),
            "latestMJD" => ("MJD TAI", "when the band's latest flux was measured"),
            "psfFluxMean" | "psfFluxMeanErr" => (
                "nJy",
                "Rubin's weighted mean difference flux in the band (and its error)",
            ),
            "psfFluxSigma" => ("nJy", "Rubin's scatter of the band's difference fluxes"),
            "psfFluxNdata" => ("", "Rubin's number of the band's difference fluxes"),
            "psfFluxMin" | "psfFluxMax" => (
                "nJy",
                "Rubin's smallest / largest difference flux in the band",
            ),
            "psfFluxMaxSlope" => (
                "nJy/day",
                "Rubin's steepest change between the band's fluxes",
            ),
            "psfFluxErrMean" => ("nJy", "Rubin's mean difference-flux error in the band"),
            "fpFluxMean" | "fpFluxMeanErr" => (
                "nJy",
                "Rubin's mean forced flux in the band (and its error)",
            ),
            "scienceFluxMean" | "scienceFluxMeanErr" => (
                "nJy",
                "Rubin's mean direct-image flux in the band (and its error)",
            ),
            _ => return None,
        });
    }
    Some(match name {
        "diaObjectId" => ("", "Rubin's id of the object (64-bit)"),
        "ra" | "decl" => ("deg", "mean position, ICRS"),
        "lastDiaSourceMjdTai" | "firstDiaSourceMjdTai" => {
            ("MJD TAI", "latest / first detection with a flux")
        }
        "latest_psfFlux" => ("nJy", "difference flux of the latest detection"),
        "nDiaSources" => ("", "detections Rubin counted"),
        "nPosDiaSources" => ("", "detections with a positive difference flux"),
        "nPosDiaSourcesNights" => ("", "nights with a positive detection"),
        "nSourcesGood" => ("", "detections with reliability above 0.5"),
        "medianR" | "latestR" => ("0–1", "median / latest detection reliability"),
        "tns_name" => (
            "",
            "TNS name, when a TNS entry lies within the match radius",
        ),
        "absMag" | "absMagMJD" => (
            "mag, MJD",
            "peak absolute magnitude from the host's distance, and when",
        ),
        "BBBRiseRate" | "BBBFallRate" => (
            "1/day",
            "rise / fall rate of the blackbody-times-exponential fit",
        ),
        "BBBTemp" => ("K", "temperature of the blackbody fit"),
        "BBBPeakFlux" | "BBBPeakMJD" | "BBBPeakAbsMag" => {
            ("nJy, MJD, mag", "peak of the blackbody fit")
        }
        "glat" => ("deg", "Galactic latitude"),
        "ebv" => ("mag", "Galactic reddening E(B−V), SFD"),
        "jump1" | "jump2" => (
            "σ",
            "largest / second-largest jump in one band, in its noise",
        ),
        "latestPairMJD"
        | "latestPairColourMag"
        | "latestPairColourBands"
        | "latestPairColourTemp" => (
            "MJD, mag, K",
            "colour from the latest pair of detections within 40 minutes",
        ),
        "penultimatePairMJD"
        | "penultimatePairColourMag"
        | "penultimatePairColourBands"
        | "penultimatePairColourTemp" => ("MJD, mag, K", "the same, from the pair before"),
        "nuSources" | "ngSources" | "nrSources" | "niSources" | "nzSources" | "nySources" => {
            ("", "detections in the band")
        }
        "validityStartMjdTai" => ("MJD TAI", "when Rubin's diaObject record became valid"),
        "raErr" | "decErr" => ("deg", "Rubin's error of the mean position"),
        "ra_dec_Cov" => ("deg²", "Rubin's covariance of RA and Dec"),
        "newestSourceMjdTai" => (
            "MJD TAI",
            "the newest source (detection, forced or limit) this row was computed from (Solas)",
        ),
        "htm16" => ("", "HTM level-16 cell of the position"),
        "timestamp" => ("UTC", "when the row was last written"),
        _ => return None,
    })
}

/// (unit, meaning) of a column of `objects` (ZTF), if known.
fn ztf_object(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "objectId" => ("", "ZTF's name of the object"),
        "ramean" | "decmean" => ("deg", "mean position"),
        "rastd" | "decstd" => ("arcsec", "scatter of the positions"),
        "glatmean" | "glonmean" => ("deg", "Galactic latitude / longitude"),
        "gmag" | "rmag" => ("mag", "latest difference magnitude (magpsf) in g / r"),
        "jdgmax" | "jdrmax" => ("JD", "when the latest g / r detection was"),
        "jdmax" | "jdmin" => ("JD", "latest / first detection"),
        "dmdt_g" | "dmdt_r" => (
            "mag/day",
            "change between the last two detections in the band (negative: brightening)",
        ),
        "dmdt_g_2" | "dmdt_r_2" => ("mag/day", "the same, between the two before"),
        "dmdt_g_err" | "dmdt_r_err" => ("mag/day", "error of dmdt_g / dmdt_r"),
        "newest_source_jd" => ("JD", "the newest source this row was computed from (Solas)"),
        "maggmax" | "maggmean" | "maggmin" | "magrmax" | "magrmean" | "magrmin" => {
            ("mag", "faintest / mean / brightest in the band")
        }
        "mag_g02" | "mag_g08" | "mag_g28" | "mag_r02" | "mag_r08" | "mag_r28" => {
            ("mag", "brightest in the band in the last 2, 8 or 28 days")
        }
        "ncand" => ("", "detections"),
        "ncandgp" => ("", "good positive detections (rb or drb above 0.75)"),
        "ncandgp_7" | "ncandgp_14" => ("", "good positive detections in the last 7 / 14 days"),
        "distpsnr1" => ("arcsec", "distance to the nearest Pan-STARRS source"),
        "sgscore1" => ("0–1", "star (1) / galaxy (0) score of that source"),
        "sgmag1" | "srmag1" => ("mag", "its g / r magnitude"),
        "g_minus_r" | "jd_g_minus_r" => ("mag, JD", "latest g − r colour and when"),
        "ssnamenr" => ("", "nearest known solar-system object"),
        "htm16" => ("", "HTM level-16 cell of the position"),
        "timestamp" => ("UTC", "when the row was last written"),
        _ => return None,
    })
}

/// (unit, meaning) of a context (`sherlock_classifications`) column, if known.
fn context(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "classification" => ("", "SN, NT, AGN, CV, VS, BS, ORPHAN or UNCLEAR"),
        "association_type" => ("", "how it matched: synonym or association"),
        "catalogue_table_name" | "catalogue_object_id" | "catalogue_object_type" => {
            ("", "the best match's catalogue, id and type")
        }
        "separationArcsec" => ("arcsec", "distance to the best match"),
        "northSeparationArcsec" | "eastSeparationArcsec" => {
            ("arcsec", "offset from the best match, north / east")
        }
        "physical_separation_kpc" => ("kpc", "projected distance from the match at its distance"),
        "distance" | "direct_distance" | "best_distance" => ("Mpc", "the match's distance"),
        "z" | "photoZ" => ("", "the match's spectroscopic / photometric redshift"),
        "Mag" | "MagFilter" | "MagErr" => ("mag", "the match's magnitude, its band and error"),
        "description" => ("", "the classification in a sentence"),
        _ => return None,
    })
}

/// What a column means, for the schema browser, when it is known.
pub(crate) fn note(table: &str, survey: &str, name: &str) -> Option<(&'static str, &'static str)> {
    match (table, survey) {
        ("objects", "ztf") => ztf_object(name),
        ("objects", _) => rubin_object(name),
        ("sherlock_classifications", _) => context(name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::note;

    #[test]
    fn per_band_and_plain_columns_are_described() {
        assert_eq!(
            note("objects", "lsst", "r_psfFlux").map(|n| n.0),
            Some("nJy")
        );
        assert_eq!(
            note("objects", "lsst", "lastDiaSourceMjdTai").map(|n| n.0),
            Some("MJD TAI")
        );
        assert_eq!(
            note("objects", "ztf", "dmdt_g").map(|n| n.0),
            Some("mag/day")
        );
        assert!(note("objects", "lsst", "no_such").is_none());
    }
}

#[cfg(test)]
mod coverage {
    /// Every column of Rubin's and ZTF's `objects` says what it means.
    #[test]
    fn every_objects_column_is_described() {
        for (survey, kind) in [
            (solas_query::Survey::Lsst, "lsst"),
            (solas_query::Survey::Ztf, "ztf"),
        ] {
            let missing: Vec<&str> =
                solas_query::schema::columns(solas_query::schema::TableKind::Objects, survey)
                    .iter()
                    .map(|c| c.name)
                    .filter(|c| super::note("objects", kind, c).is_none())
                    .collect();
            assert!(missing.is_empty(), "{kind}: {missing:?}");
        }
    }
}

//! The object page's sky view: a HiPS survey image around the object from CDS's hips2fits
//! service (north up, east left, gnomonic), with the transient and its catalogue matches
//! drawn over it by the server. The image loads when the browser is online; offline the
//! marks still show where everything is. Aladin Lite would be the richer viewer, but it is
//! GPL-3.0, which Solas keeps out of its binary; Aladin Lite is one link away.

use maud::{html, Markup};
use serde_json::Value;

/// Image side in pixels and field of view in degrees.
const SIDE: u32 = 320;
const FOV_DEG: f64 = 2.0 / 60.0;

/// The HiPS surveys offered: (hips id, label).
const SURVEYS: [(&str, &str); 3] = [
    ("CDS/P/DSS2/color", "DSS2 colour"),
    ("CDS/P/PanSTARRS/DR1/color-z-zg-g", "Pan-STARRS DR1 colour"),
    (
        "CDS/P/DESI-Legacy-Surveys/DR10/color",
        "Legacy Surveys DR10 colour",
    ),
];

fn image_url(hips: &str, ra: f64, dec: f64) -> String {
    format!(
        "https://alasky.cds.unistra.fr/hips-image-services/hips2fits?hips={}&width={SIDE}&height={SIDE}&fov={FOV_DEG}&projection=TAN&coordsys=icrs&ra={ra:.6}&dec={dec:.6}&format=jpg",
        hips.replace('/', "%2F")
    )
}

/// A gnomonic (TAN) view: `side` pixels square over `fov` degrees around (`ra0`, `dec0`),
/// north up and east left, as hips2fits draws its images.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tan {
    pub ra0: f64,
    pub dec0: f64,
    pub fov: f64,
    pub side: f64,
}

impl Tan {
    fn scale(&self) -> f64 {
        self.side / self.fov.to_radians()
    }

    /// A position's place in the image; `None` on the far side of the sky.
    pub(crate) fn pixel(&self, ra: f64, dec: f64) -> Option<(f64, f64)> {
        let (a0, d0) = (self.ra0.to_radians(), self.dec0.to_radians());
        let (a, d) = (ra.to_radians(), dec.to_radians());
        let cos_c = d0.sin() * d.sin() + d0.cos() * d.cos() * (a - a0).cos();
        if cos_c <= 0.0 {
            return None;
        }
        let xi = d.cos() * (a - a0).sin() / cos_c;
        let eta = (d0.cos() * d.sin() - d0.sin() * d.cos() * (a - a0).cos()) / cos_c;
        let half = self.side / 2.0;
        Some((half - xi * self.scale(), half - eta * self.scale()))
    }

    /// The position at a place in the image (the inverse of [`Tan::pixel`]).
    pub(crate) fn position(&self, x: f64, y: f64) -> (f64, f64) {
        let half = self.side / 2.0;
        let (xi, eta) = ((half - x) / self.scale(), (half - y) / self.scale());
        let (a0, d0) = (self.ra0.to_radians(), self.dec0.to_radians());
        let rho = xi.hypot(eta);
        if rho == 0.0 {
            return (self.ra0, self.dec0);
        }
        let c = rho.atan();
        let dec = (c.cos() * d0.sin() + eta * c.sin() * d0.cos() / rho).asin();
        let ra = a0 + (xi * c.sin()).atan2(rho * d0.cos() * c.cos() - eta * d0.sin() * c.sin());
        (ra.to_degrees().rem_euclid(360.0), dec.to_degrees())
    }

    /// A PNG of the view with each region filled in its colour (later over earlier) on a
    /// dark sky.
    pub(crate) fn regions_png(&self, regions: &[super::sky_map::Region]) -> Vec<u8> {
        let side = self.side as u32;
        super::sky_map::raster_png(side, side, |x, y| Some(self.position(x, y)), regions)
    }
}

/// The object view's frame.
fn pixel(ra0: f64, dec0: f64, ra: f64, dec: f64) -> Option<(f64, f64)> {
    Tan {
        ra0,
        dec0,
        fov: FOV_DEG,
        side: f64::from(SIDE),
    }
    .pixel(ra, dec)
}

/// The view: the image, a mark on the transient, a circle on each crossmatch (numbered by
/// rank), a survey choice and the Aladin Lite link.
pub(crate) fn sky_view(ra: f64, dec: f64, matches: &[Value]) -> Markup {
    let side = f64::from(SIDE);
    let marks: Vec<(String, f64, f64)> = matches
        .iter()
        .filter_map(|m| {
            let (mra, mdec) = (m.get("raDeg")?.as_f64()?, m.get("decDeg")?.as_f64()?);
            let (x, y) = pixel(ra, dec, mra, mdec)?;
            let rank = m.get("rank").map(|r| r.to_string()).unwrap_or_default();
            ((0.0..=side).contains(&x) && (0.0..=side).contains(&y)).then_some((rank, x, y))
        })
        .collect();
    html! {
        figure.sky-view #sky-view {
            div.sky-frame style=(format!("width:{SIDE}px;max-width:100%;aspect-ratio:1")) {
                img #sky-image src=(image_url(SURVEYS[0].0, ra, dec)) alt="" width=(SIDE) height=(SIDE)
                    loading="lazy" referrerpolicy="no-referrer"
                    onerror="this.style.visibility='hidden'" onload="this.style.visibility='visible'";
                svg.sky-marks viewBox=(format!("0 0 {SIDE} {SIDE}")) role="img"
                    aria-label="the transient (cross) and its catalogue matches (circles)" {
                    @let c = side / 2.0;
                    path.sky-cross d=(format!("M{} {c}h-9M{} {c}h9M{c} {}v-9M{c} {}v9", c - 5.0, c + 5.0, c - 5.0, c + 5.0)) {}
                    @for (rank, x, y) in &marks {
                        circle.sky-match cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="9" {}
                        text.sky-rank x=(format!("{:.1}", x + 11.0)) y=(format!("{:.1}", y - 8.0)) { (rank) }
                    }
                    text.sky-compass x="10" y="18" { "N↑ E←" }
                    text.sky-compass x=(SIDE - 10) y=(SIDE - 8) text-anchor="end" { (format!("{:.0}′ across", FOV_DEG * 60.0)) }
                }
            }
            figcaption {
                label {
                    "Survey "
                    select #sky-survey data-ra=(format!("{ra:.6}")) data-dec=(format!("{dec:.6}")) {
                        @for (id, label) in SURVEYS { option value=(id) { (label) } }
                    }
                }
                " · "
                a href=(format!("https://aladin.cds.unistra.fr/AladinLite/?target={ra:.6}%20{dec:+.6}&fov=0.05"))
                    rel="noopener" target="_blank" { "Aladin Lite" }
                br;
                span.note { "Images from CDS hips2fits when online; the cross marks the transient, circles its catalogue matches by rank." }
            }
        }
        script {
            (maud::PreEscaped(r#"(function(){var s=document.getElementById('sky-survey'),i=document.getElementById('sky-image');if(!s||!i)return;s.addEventListener('change',function(){i.src=i.src.replace(/hips=[^&]*/,'hips='+encodeURIComponent(s.value));});})();"#))
        }
    }
}

/// A zoomed map: `png` (drawn with `tan`) under the objects of `layers`, with a compass
/// and the field's width.
pub(crate) fn zoom_figure(
    tan: &Tan,
    png: &str,
    layers: &[super::sky_map::Layer],
    caption: &str,
) -> Markup {
    let side = tan.side;
    html! {
        figure.sky-zoom {
            svg viewBox=(format!("0 0 {side} {side}")) role="img" aria-label=(caption) style=(format!("width:{side}px;max-width:100%;height:auto")) {
                image href=(png) x="0" y="0" width=(side) height=(side) {}
                @for layer in layers {
                    g class=(layer.class) {
                        @for (id, ra, dec) in &layer.objects {
                            @if let Some((x, y)) = tan.pixel(*ra, *dec).filter(|(x, y)| (0.0..=side).contains(x) && (0.0..=side).contains(y)) {
                                a href={ "/objects/" (id) } {
                                    circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="4" { title { (layer.label) " " (id) } }
                                }
                            }
                        }
                    }
                }
                text.sky-compass x="10" y="18" { "N↑ E←" }
                text.sky-compass x=(side - 10.0) y=(side - 8.0) text-anchor="end" { (format!("{:.1}° across", tan.fov)) }
            }
            figcaption.note { (caption) (format!(" Centred on RA {:.3}°, Dec {:+.3}°.", tan.ra0, tan.dec0)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_in_the_view_reads_back_as_its_position() {
        let t = Tan {
            ra0: 12.8,
            dec0: -24.9,
            fov: 8.0,
            side: 400.0,
        };
        for (ra, dec) in [(12.8, -24.9), (14.0, -22.0), (11.0, -27.5)] {
            let (x, y) = t.pixel(ra, dec).unwrap();
            let (r, d) = t.position(x, y);
            assert!(
                (r - ra).abs() < 1e-9 && (d - dec).abs() < 1e-9,
                "{ra} {dec}: {r} {d}"
            );
        }
    }

    #[test]
    fn east_is_left_and_north_is_up() {
        let (x, y) = pixel(10.0, 20.0, 10.0, 20.0).unwrap();
        assert!((x - 160.0).abs() < 1e-9 && (y - 160.0).abs() < 1e-9);
        // 10″ east: to the left; 10″ north: up; the scale is SIDE pixels per FOV.
        let (xe, _) = pixel(
            10.0,
            20.0,
            10.0 + 10.0 / 3600.0 / 20f64.to_radians().cos(),
            20.0,
        )
        .unwrap();
        let (_, yn) = pixel(10.0, 20.0, 10.0, 20.0 + 10.0 / 3600.0).unwrap();
        let per_arcsec = 320.0 / 120.0;
        assert!((160.0 - xe - 10.0 * per_arcsec).abs() < 0.01, "{xe}");
        assert!((160.0 - yn - 10.0 * per_arcsec).abs() < 0.01, "{yn}");
    }
}

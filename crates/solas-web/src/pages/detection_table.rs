//! The object page's table of every stored field of every detection, one row per
//! detection in time order, sortable by any column (`assets/table_sort.js`). The fields an
//! observer reads first lead; the rest follow by name.

use maud::{html, Markup};
use serde_json::{Map, Value};
use solas_core::Survey;

use super::layout::value_text;

/// The columns shown first, in this order, when a record has them.
fn leading(survey: Survey) -> &'static [&'static str] {
    match survey {
        Survey::Lsst => &[
            "diaSourceId",
            "midpointMjdTai",
            "band",
            "psfFlux",
            "psfFluxErr",
            "snr",
            "reliability",
            "ra",
            "dec",
            "extendedness",
            "isDipole",
            "trailLength",
            "apFlux",
            "apFluxErr",
            "scienceFlux",
            "scienceFluxErr",
            "pixelFlags",
            "visit",
            "detector",
        ],
        Survey::Ztf => &[
            "candid",
            "jd",
            "fid",
            "magpsf",
            "sigmapsf",
            "isdiffpos",
            "diffmaglim",
            "drb",
            "rb",
            "ra",
            "dec",
            "magnr",
            "sigmagnr",
            "distnr",
            "fwhm",
            "classtar",
            "sgscore1",
            "distpsnr1",
            "ssdistnr",
            "ssnamenr",
            "field",
            "rcid",
        ],
    }
}

/// The columns: the leading ones the records have, then every other field by name.
fn columns(survey: Survey, rows: &[&Map<String, Value>]) -> Vec<String> {
    let mut all: std::collections::BTreeSet<&str> = Default::default();
    for r in rows {
        all.extend(r.keys().map(String::as_str));
    }
    let lead: Vec<String> = leading(survey)
        .iter()
        .filter(|c| all.contains(**c))
        .map(|c| c.to_string())
        .collect();
    let rest = all
        .into_iter()
        .filter(|c| !lead.iter().any(|l| l == c))
        .map(str::to_string);
    lead.clone().into_iter().chain(rest).collect()
}

/// The table, in a collapsed section so the page leads with its summary.
pub(crate) fn detection_table(survey: Survey, rows: &[&Map<String, Value>]) -> Markup {
    if rows.is_empty() {
        return html! {};
    }
    let columns = columns(survey, rows);
    html! {
        details #detections {
            summary { "Every field of every detection (" (rows.len()) " rows × " (columns.len()) " columns; click a heading to sort)" }
            div.table-scroll {
                table.rows.sortable #detection-table {
                    thead { tr { @for c in &columns { th scope="col" { (c) } } } }
                    tbody {
                        @for r in rows {
                            tr {
                                @for c in &columns {
                                    @let v = r.get(c).unwrap_or(&Value::Null);
                                    @if v.is_number() {
                                        td.num data-v=(v) { (value_text(v)) }
                                    } @else {
                                        td { (value_text(v)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        script src="/static/table_sort.js" {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_columns_first_then_the_rest_by_name() {
        let a = serde_json::json!({"zeta": 1, "psfFlux": 2.0, "diaSourceId": 3, "alpha": null});
        let a = a.as_object().unwrap();
        assert_eq!(
            columns(Survey::Lsst, &[a]),
            ["diaSourceId", "psfFlux", "alpha", "zeta"]
        );
    }
}

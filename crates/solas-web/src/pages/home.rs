//! The home page: live counts of what is stored and the most recently updated objects of
//! each survey, linking to their object pages.

use axum::extract::State;
use axum::response::IntoResponse;
use solas_store::db::Db;
use solas_store::StoreError;

use super::layout::{esc, json_table, page, PageResult};
use super::session::Viewer;
use crate::db::{blocking, rows_json};
use crate::AppState;

/// `SELECT count(*)` of a table, None when the table does not exist (yet).
pub(crate) fn count(conn: &mut Db, table: &str) -> Result<Option<i64>, StoreError> {
    if !conn.has_table(table)? {
        return Ok(None);
    }
    conn.query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])?
        .get(0)
        .map(Some)
}

/// A number with thousands separators.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

struct Home {
    counts: Vec<(&'static str, Option<i64>)>,
    lsst: String,
    ztf: String,
}

fn gather(state: &AppState, viewer: Option<i64>) -> Result<Home, crate::error::ApiError> {
    let mut main = state.shared.main.take()?;
    let mut lc = Db::open(&state.shared.config.lightcurve_target())?;
    // Filters and watchlists count only what the viewer may see: their own and public.
    let mut visible = |table: &str| -> Result<Option<i64>, StoreError> {
        main.query_one(
            &format!("SELECT count(*) FROM {table} WHERE public <> 0 OR owner = ?1"),
            solas_store::args![viewer.unwrap_or(-1)],
        )?
        .get(0)
        .map(Some)
    };
    let (filters, watchlists, watchmaps) = (
        visible("filters")?,
        visible("watchlists")?,
        visible("watchmaps")?,
    );
    let counts = vec![
        ("Rubin objects", count(&mut main, "objects")?),
        ("ZTF objects", count(&mut main, "ztf_objects")?),
        ("Detections stored", count(&mut lc, "detections")?),
        ("Forced photometry", count(&mut lc, "forced_photometry")?),
        ("Filters", filters),
        ("Watchlists", watchlists),
        ("Watchmaps", watchmaps),
    ];
    let lsst_cols: Vec<String> = [
        "diaObjectId",
        "ra",
        "decl",
        "nDiaSources",
        "lastDiaSourceMjdTai",
    ]
    .map(String::from)
    .to_vec();
    let lsst_rows = rows_json(
        &mut main,
        "SELECT \"diaObjectId\", ra, decl, \"nDiaSources\", \"lastDiaSourceMjdTai\" FROM objects
         ORDER BY \"lastDiaSourceMjdTai\" DESC NULLS LAST LIMIT 20",
        &[],
    )?;
    let ztf_cols: Vec<String> = ["objectId", "ramean", "decmean", "ncand", "jdmax"]
        .map(String::from)
        .to_vec();
    let ztf_rows = rows_json(
        &mut main,
        "SELECT \"objectId\", ramean, decmean, ncand, jdmax FROM ztf_objects
         ORDER BY jdmax DESC NULLS LAST LIMIT 20",
        &[],
    )?;
    Ok(Home {
        counts,
        lsst: json_table(&lsst_cols, &lsst_rows, Some(("diaObjectId", "lsst"))),
        ztf: json_table(&ztf_cols, &ztf_rows, Some(("objectId", "ztf"))),
    })
}

pub(crate) async fn handle(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let st = state.clone();
    let id = viewer.user_id();
    let home = blocking(move || gather(&st, id)).await??;
    let mut body = String::from("<section class=\"counts\">");
    for (label, n) in &home.counts {
        body.push_str(&format!(
            "<div class=\"count\"><span class=\"n\">{}</span><span class=\"label\">{}</span></div>",
            n.map_or("–".to_string(), thousands),
            esc(label)
        ));
    }
    body.push_str("</section>");
    body.push_str(
        "<form class=\"inline\" method=\"get\" action=\"/objects/lookup\">\
         <input name=\"id\" placeholder=\"diaObjectId or ZTF name\" required> \
         <button>Open object</button></form>",
    );
    body.push_str(&format!(
        "<h2>Recent Rubin objects</h2>{}<h2>Recent ZTF objects</h2>{}",
        home.lsst, home.ztf
    ));
    Ok(page("Solas alert broker", viewer.0.as_ref(), &body).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(1234567), "1,234,567");
        assert_eq!(super::thousands(-1000), "-1,000");
    }
}

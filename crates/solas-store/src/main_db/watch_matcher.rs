//! Where watchlist, watchmap, TNS and gravitational-wave matches happen. The filter stage
//! asks a [`WatchMatcher`] about each batch's objects before the user filters run, so a
//! filter naming `watchlist:N` sees this batch's hits. The matcher's indexes are built from
//! the main database and rebuilt when its watch version changes (a watchlist saved, a TNS
//! import, a new event), so what users add is live within seconds. [`retro_match`] runs
//! the same matching over every stored object, for lists added after their objects.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::counterparts;
use super::watch::{ConeHit, Hits, MmaEvent, ObjectRef, StoredPosition, WatchStore};
use crate::db::Target;
use crate::StoreError;
use solas_watch::{parse_moc, ConeIndex, Skymap, WatchmapIndex};

/// How often the matcher asks whether anything changed.
const REFRESH: Duration = Duration::from_secs(2);

/// An object's position at the time of matching.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub object: ObjectRef,
    pub ra: f64,
    pub dec: f64,
    /// When it was detected (MJD), for the events' time windows.
    pub mjd: Option<f64>,
    /// Host distance (Mpc), for the 3-D skymap density.
    pub distance_mpc: Option<f64>,
    /// The object's newest magnitude, for watchlists' magnitude triggers.
    pub mag: Option<f64>,
}

impl From<StoredPosition> for Position {
    fn from(p: StoredPosition) -> Self {
        Position {
            object: p.object,
            ra: p.ra,
            dec: p.dec,
            mjd: p.last_mjd,
            distance_mpc: p.distance_mpc,
            // Not kept in the objects rows of both surveys alike: a stored object matched
            // by a new list records no magnitude, and its next alert fires and records one.
            mag: None,
        }
    }
}

pub struct WatchMatcher {
    data_dir: PathBuf,
    store: WatchStore,
    version: Option<i64>,
    cones_version: Option<i64>,
    checked: Option<Instant>,
    cones: ConeIndex,
    maps: WatchmapIndex,
    events: Vec<(MmaEvent, Arc<Skymap>)>,
    /// Objects of the two surveys this close are counterparts (arcsec; None: not linked).
    counterpart_radius: Option<f64>,
    /// Objects searched for counterparts lately: an object is searched again at most every
    /// [`COUNTERPARTS_AGAIN`] (the later of a pair finds the earlier when it first comes;
    /// searching again mends a pair two workers first saw at the same moment).
    searched: solas_core::recent::RecentSet<(solas_core::Survey, String)>,
}

/// How long an object's counterpart search stands (two generations of this).
const COUNTERPARTS_AGAIN: Duration = Duration::from_secs(30 * 60);

fn searched_set() -> solas_core::recent::RecentSet<(solas_core::Survey, String)> {
    solas_core::recent::RecentSet::new(250_000, Some(COUNTERPARTS_AGAIN))
}

impl WatchMatcher {
    /// The matcher over the main database in `<data_dir>/solas.db`.
    pub fn open(data_dir: &Path) -> Result<WatchMatcher, StoreError> {
        Self::connect(&Target::Sqlite(data_dir.join("solas.db")), data_dir)
    }

    /// The matcher over the main database at `main_db`; events' skymap files are read
    /// under `data_dir`.
    pub fn connect(main_db: &Target, data_dir: &Path) -> Result<WatchMatcher, StoreError> {
        let mut m = WatchMatcher {
            data_dir: data_dir.to_path_buf(),
            store: WatchStore::connect(main_db)?,
            version: None,
            cones_version: None,
            checked: None,
            cones: ConeIndex::builder().build(),
            maps: WatchmapIndex::new(),
            events: Vec::new(),
            counterpart_radius: Some(counterparts::DEFAULT_RADIUS_ARCSEC),
            searched: searched_set(),
        };
        m.refresh()?;
        Ok(m)
    }

    /// Rebuild the indexes if the watch version moved (checked at most every [`REFRESH`]).
    pub fn refresh(&mut self) -> Result<(), StoreError> {
        if self.checked.is_some_and(|t| t.elapsed() < REFRESH) {
            return Ok(());
        }
        self.checked = Some(Instant::now());
        let version = self.store.version()?;
        if self.version == Some(version) {
            return Ok(());
        }
        let started = Instant::now();
        // The cones only when they changed: at 10⁸ cones a rebuild takes a minute, and a
        // GCN notice or a watchmap must not stall matching for that.
        let cones_version = self.store.cones_version()?;
        if self.cones_version != Some(cones_version) {
            let mut builder = ConeIndex::builder();
            let mut bad = 0u64;
            self.store
                .for_each_cone(|wl_id, cone_id, ra, dec, radius| {
                    if builder.push(wl_id, cone_id, ra, dec, radius).is_err() {
                        bad += 1;
                    }
                })?;
            if bad > 0 {
                log::warn!("{bad} stored watchlist cone(s) are invalid and were left out");
            }
            self.cones = builder.build();
            self.cones_version = Some(cones_version);
        }
        let mut maps = WatchmapIndex::new();
        for (ar_id, bytes) in self.store.active_mocs()? {
            match parse_moc(&bytes) {
                Ok(moc) => maps.insert(ar_id, moc),
                Err(e) => log::error!("watchmap {ar_id} cannot be read: {e}"),
            }
        }
        self.maps = maps;
        let mut events = Vec::new();
        for event in self.store.events()? {
            // A loaded skymap is kept (they are large) while the event keeps its file; a
            // relocated event (a later GCN notice) has a new one.
            if let Some((_, map)) = self
                .events
                .iter()
                .find(|(e, _)| e.mw_id == event.mw_id && e.skymap_path == event.skymap_path)
            {
                events.push((event, map.clone()));
                continue;
            }
            let path = self.data_dir.join(&event.skymap_path);
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| Skymap::from_fits(&b).map_err(|e| e.to_string()))
            {
                Ok(map) => events.push((event, Arc::new(map))),
                Err(e) => log::error!("event {} skymap {}: {e}", event.name, path.display()),
            }
        }
        self.events = events;
        self.version = Some(version);
        log::info!(
            "watch indexes rebuilt in {:.2} s: {} cones, {} watchmaps, {} events",
            started.elapsed().as_secs_f64(),
            self.cones.len(),
            self.maps.len(),
            self.events.len()
        );
        Ok(())
    }

    /// Every cone, watchmap and event containing each position.
    pub fn find(&self, positions: &[Position]) -> Hits {
        let mut hits = Hits::default();
        let mut cone_hits = Vec::new();
        for p in positions {
            if !(p.ra.is_finite() && p.dec.is_finite()) {
                continue;
            }
            cone_hits.clear();
            self.cones.matches_into(p.ra, p.dec, &mut cone_hits);
            for h in &cone_hits {
                hits.cones.push(ConeHit {
                    object: p.object.clone(),
                    wl_id: h.wl_id,
                    cone_id: h.cone_id,
                    arcsec: h.arcsec,
                    mag: p.mag,
                });
            }
            for ar_id in self.maps.containing(p.ra, p.dec) {
                hits.areas.push((p.object.clone(), ar_id));
            }
            for (event, map) in &self.events {
                let in_window = p.mjd.is_some_and(|t| {
                    t >= event.event_mjd && t <= event.event_mjd + event.window_days
                });
                if !in_window {
                    continue;
                }
                let Some(loc) = map.locate(p.ra, p.dec) else {
                    continue;
                };
                if loc.contour_percent > 90.0 {
                    continue;
                }
                let pd3 = p.distance_mpc.and_then(|d| map.density_3d(p.ra, p.dec, d));
                hits.mma.push((
                    p.object.clone(),
                    event.mw_id,
                    loc.contour_percent,
                    loc.prob_density_2d,
                    pd3,
                ));
            }
        }
        hits
    }

    /// Every match with the indexes brought up to date first, and the positions'
    /// counterparts in the other survey; the caller stores them.
    pub fn find_current(&mut self, positions: &[Position]) -> Result<Hits, StoreError> {
        self.refresh()?;
        let mut hits = self.find(positions);
        if let Some(radius) = self.counterpart_radius {
            let searched = &self.searched;
            let objects: Vec<_> = positions
                .iter()
                .filter(|p| p.ra.is_finite() && p.dec.is_finite())
                .filter(|p| !searched.contains(&(p.object.survey, p.object.key.clone())))
                .map(|p| (&p.object, p.ra, p.dec))
                .collect();
            hits.counterparts = counterparts::find(self.store.db(), &objects, radius)?;
            for (object, _, _) in objects {
                self.searched.insert((object.survey, object.key.clone()));
            }
        }
        Ok(hits)
    }

    /// Link objects of the two surveys within `radius_arcsec` of each other (None: do not).
    pub fn set_counterpart_radius(&mut self, radius_arcsec: Option<f64>) {
        self.counterpart_radius = radius_arcsec.filter(|r| r.is_finite() && *r > 0.0);
    }

    /// Match and store; returns what was found.
    pub fn match_and_store(&mut self, positions: &[Position]) -> Result<Hits, StoreError> {
        let hits = self.find_current(positions)?;
        self.store.write_hits(&hits)?;
        Ok(hits)
    }

    /// Force the next [`refresh`](Self::refresh) to look at the database now.
    pub fn invalidate(&mut self) {
        self.checked = None;
    }
}

/// Match every stored object against every watchlist, watchmap and event, and store the
/// hits (existing hits are replaced, so this is safe to repeat).
pub fn retro_match(data_dir: &Path) -> Result<Hits, StoreError> {
    retro_match_on(&Target::Sqlite(data_dir.join("solas.db")), data_dir)
}

/// [`retro_match`] on the main database at `main_db`.
pub fn retro_match_on(main_db: &Target, data_dir: &Path) -> Result<Hits, StoreError> {
    let mut matcher = WatchMatcher::connect(main_db, data_dir)?;
    // Counterparts are linked as objects arrive (the later of a pair finds the earlier):
    // a new watchlist has nothing to add to them.
    matcher.set_counterpart_radius(None);
    let positions: Vec<Position> = matcher
        .store
        .positions()?
        .into_iter()
        .map(Position::from)
        .collect();
    let mut all = Hits::default();
    for chunk in positions.chunks(10_000) {
        let hits = matcher.match_and_store(chunk)?;
        all.cones.extend(hits.cones);
        all.areas.extend(hits.areas);
        all.mma.extend(hits.mma);
    }
    Ok(all)
}

/// Match every stored object against one event only (a new or relocated one) and store
/// the hits: what a GCN notice needs, without building the cone index (a minute at 10⁸
/// cones) or reading the other events' skymaps.
pub fn retro_match_event(
    main_db: &Target,
    data_dir: &Path,
    mw_id: i64,
) -> Result<Hits, StoreError> {
    let mut store = WatchStore::connect(main_db)?;
    let Some(event) = store.events()?.into_iter().find(|e| e.mw_id == mw_id) else {
        return Ok(Hits::default());
    };
    let path = data_dir.join(&event.skymap_path);
    let bytes = std::fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
    let map = Skymap::from_fits(&bytes)
        .map_err(|e| StoreError::Invalid(format!("event {} skymap: {e}", event.name)))?;
    let positions: Vec<Position> = store.positions()?.into_iter().map(Position::from).collect();
    let mut matcher = WatchMatcher {
        data_dir: data_dir.to_path_buf(),
        store,
        version: None,
        cones_version: None,
        checked: None,
        cones: ConeIndex::builder().build(),
        maps: WatchmapIndex::new(),
        events: vec![(event, Arc::new(map))],
        counterpart_radius: None,
        searched: searched_set(),
    };
    let mut all = Hits::default();
    for chunk in positions.chunks(10_000) {
        let hits = matcher.find(chunk);
        matcher.store.write_hits(&hits)?;
        all.mma.extend(hits.mma);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use solas_core::Survey;

    fn at(ra: f64, dec: f64) -> Position {
        Position {
            object: ObjectRef {
                survey: Survey::Ztf,
                key: "ZTF21abiuvdk".into(),
            },
            ra,
            dec,
            mjd: Some(60_001.0),
            distance_mpc: None,
            mag: None,
        }
    }

    /// A running matcher kept an event's first skymap after a later GCN notice moved the
    /// event (its cache was keyed by the event alone), so it went on tagging the old region.
    #[test]
    fn a_relocated_event_is_matched_in_its_new_region() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("solas.db");
        crate::main_db::MainDatabase::open(&db).unwrap();
        let mut store = WatchStore::open(&db).unwrap();
        let save = |store: &mut WatchStore, ra, dec| {
            let bytes = solas_watch::circle_fits(ra, dec, 1.0, 0.9, None, None).unwrap();
            let map = Skymap::from_fits(&bytes).unwrap();
            store
                .save_event(dir.path(), "GRB 1", 60_000.0, 14.0, &bytes, &map)
                .unwrap();
        };
        save(&mut store, 10.0, 20.0);
        let mut matcher = WatchMatcher::open(dir.path()).unwrap();
        assert_eq!(matcher.find(&[at(10.0, 20.0)]).mma.len(), 1);
        let cones_version = store.cones_version().unwrap();
        save(&mut store, 100.0, -20.0);
        assert_eq!(
            store.cones_version().unwrap(),
            cones_version,
            "no cone changed"
        );
        matcher.invalidate();
        matcher.refresh().unwrap();
        assert!(matcher.find(&[at(10.0, 20.0)]).mma.is_empty());
        assert_eq!(matcher.find(&[at(100.0, -20.0)]).mma.len(), 1);
        // Stored objects matched against that event alone (what a GCN notice triggers).
        let target = Target::Sqlite(db.clone());
        let event = store.event_named("GRB 1").unwrap().unwrap();
        assert!(retro_match_event(&target, dir.path(), event.mw_id)
            .unwrap()
            .mma
            .is_empty());
        assert!(retro_match_event(&target, dir.path(), event.mw_id + 1)
            .unwrap()
            .is_empty());
    }
}

//! The lightcurve store sharded by object over several PostgreSQL servers: each object's
//! rows live on one shard, chosen from its id by a fixed hash, so an object's lightcurve is
//! still one server's index range and a batch's reads and writes split into one per shard.
//! Each shard is a whole [`PgLightcurves`] (its own migrations, partitions and bulk flush).
//!
//! A batch is written shard by shard, each in its own transaction, and acknowledged (its
//! offsets committed) only when every shard has it: after a crash between two shards'
//! commits the batch is read again and written again, which the stores' keys make
//! harmless (at-least-once, as on one server). The shard list is fixed for the life of the
//! store: adding a shard would move objects, which this type does not do.

use std::ops::ControlFlow;
use std::sync::Arc;

use solas_core::{Alert, ObjectKey, RawRecord, RecordSchema, Survey};

use super::PgLightcurves;
use crate::records::{ObjectRecords, Selection, SourceKind, StoredAlert};
use crate::{Lightcurve, LightcurveStore, StoreError, WriteCounts};

/// What separates the shards' connection strings in one setting
/// (`--lightcurves-db "host=a dbname=lc ; host=b dbname=lc"`).
pub const SHARD_SEPARATOR: char = ';';

pub struct ShardedLightcurves {
    shards: Vec<PgLightcurves>,
}

/// The shard of an object: a fixed 64-bit mix of its id (SplitMix64's finaliser) modulo the
/// shard count. Written here rather than taken from a hasher because it must never change
/// (std's hashers are seeded or unspecified across releases), and ids that arrive in runs
/// (Rubin's are sequential) must still spread evenly.
pub fn shard_of(object_id: i64, shards: usize) -> usize {
    let mut z = object_id as u64;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z % shards.max(1) as u64) as usize
}

impl ShardedLightcurves {
    /// Connects to every shard (running each one's migrations), in the order given: the
    /// order is part of the layout and must stay the same.
    pub fn open(urls: &[&str]) -> Result<ShardedLightcurves, StoreError> {
        if urls.len() < 2 {
            return Err(StoreError::Invalid(format!(
                "a sharded lightcurve store needs at least two servers, got {}",
                urls.len()
            )));
        }
        let shards = urls
            .iter()
            .map(|url| PgLightcurves::open(url))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ShardedLightcurves { shards })
    }

    fn shard(&mut self, object: &ObjectKey) -> &mut PgLightcurves {
        let n = self.shards.len();
        &mut self.shards[shard_of(object.id, n)]
    }
}

impl LightcurveStore for ShardedLightcurves {
    fn write(&mut self, alerts: &[&Alert]) -> Result<WriteCounts, StoreError> {
        let n = self.shards.len();
        let mut by_shard: Vec<Vec<&Alert>> = vec![Vec::new(); n];
        for alert in alerts {
            by_shard[shard_of(alert.object.id, n)].push(alert);
        }
        let mut counts = WriteCounts::default();
        for (shard, batch) in self.shards.iter_mut().zip(&by_shard) {
            if !batch.is_empty() {
                counts += shard.write(batch)?;
            }
        }
        Ok(counts)
    }

    fn lightcurve(&mut self, survey: Survey, object: &ObjectKey) -> Result<Lightcurve, StoreError> {
        self.shard(object).lightcurve(survey, object)
    }

    fn lightcurves(
        &mut self,
        survey: Survey,
        objects: &[&ObjectKey],
    ) -> Result<Vec<Lightcurve>, StoreError> {
        let n = self.shards.len();
        let mut asked: Vec<Vec<&ObjectKey>> = vec![Vec::new(); n];
        let mut place = Vec::with_capacity(objects.len());
        for object in objects {
            let s = shard_of(object.id, n);
            place.push((s, asked[s].len()));
            asked[s].push(object);
        }
        let mut answers = Vec::with_capacity(n);
        for (shard, objects) in self.shards.iter_mut().zip(&asked) {
            answers.push(if objects.is_empty() {
                Vec::new()
            } else {
                shard.lightcurves(survey, objects)?
            });
        }
        // Back in the order asked.
        Ok(place
            .into_iter()
            .map(|(s, i)| std::mem::take(&mut answers[s][i]))
            .collect())
    }

    fn triggered(
        &mut self,
        survey: Survey,
        sources: &[(i64, i64)],
    ) -> Result<Vec<i64>, StoreError> {
        let n = self.shards.len();
        let mut by_shard: Vec<Vec<(i64, i64)>> = vec![Vec::new(); n];
        for &(object, source) in sources {
            by_shard[shard_of(object, n)].push((object, source));
        }
        let mut out = Vec::new();
        for (shard, asked) in self.shards.iter_mut().zip(&by_shard) {
            if !asked.is_empty() {
                out.extend(shard.triggered(survey, asked)?);
            }
        }
        Ok(out)
    }

    fn records(&mut self, survey: Survey, object: &ObjectKey) -> Result<ObjectRecords, StoreError> {
        self.shard(object).records(survey, object)
    }

    fn source_schemas(
        &mut self,
        survey: Survey,
        kind: SourceKind,
        selection: &Selection,
    ) -> Result<Vec<Arc<RecordSchema>>, StoreError> {
        let mut all: Vec<Arc<RecordSchema>> = Vec::new();
        for shard in &mut self.shards {
            for schema in shard.source_schemas(survey, kind, selection)? {
                if !all.iter().any(|s| s.fingerprint == schema.fingerprint) {
                    all.push(schema);
                }
            }
        }
        Ok(all)
    }

    /// Shard by shard, each in (object, time) order: an object's records are together and
    /// in time order, but objects are not in id order across shards.
    fn each_source(
        &mut self,
        survey: Survey,
        kind: SourceKind,
        selection: &Selection,
        each: &mut dyn FnMut(i64, RawRecord) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let mut stopped = false;
        for shard in &mut self.shards {
            shard.each_source(survey, kind, selection, &mut |object, record| {
                let flow = each(object, record);
                stopped = flow.is_break();
                flow
            })?;
            if stopped {
                break;
            }
        }
        Ok(())
    }

    /// Each shard's page after `after`, merged in (time, alert id) order and cut to `limit`:
    /// the next page of the whole store.
    fn alerts(
        &mut self,
        survey: Survey,
        window: (f64, f64),
        after: Option<(f64, i64)>,
        limit: usize,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        let mut all = Vec::new();
        for shard in &mut self.shards {
            all.extend(shard.alerts(survey, window, after, limit)?);
        }
        all.sort_by(|a, b| a.mjd.total_cmp(&b.mjd).then(a.alert_id.cmp(&b.alert_id)));
        all.truncate(limit);
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::shard_of;

    /// The layout's contract: these values may never change, or stored objects would be
    /// looked for on the wrong server. (Checked against SplitMix64's finaliser written
    /// out in Python.)
    #[test]
    fn an_objects_shard_never_changes() {
        let ids = [0i64, 1, 2, 170_032_915_988_283_393, -5, i64::MAX];
        let got: Vec<usize> = ids.iter().map(|&id| shard_of(id, 3)).collect();
        assert_eq!(got, [0, 1, 1, 2, 0, 1]);
    }

    #[test]
    fn sequential_ids_spread_evenly() {
        let mut counts = [0usize; 4];
        for id in 170_032_915_988_283_393..170_032_915_988_283_393 + 40_000 {
            counts[shard_of(id, 4)] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}

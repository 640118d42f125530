//! How many changes the relay accepted per grid and UTC day, for the operator's console.
//! Ingest counts each accepted change in the `grid_days` tree inside the push's own
//! commit ([`Hub::stage_grid_days`]), so the counts match the log exactly; the day is
//! the one the relay accepted the change on (its clock, UTC), not the change's own time.
//! Counting began with the build that added the tree: older changes are not counted.

use std::collections::HashMap;

use gridsync_core::error::{Error, Result};
use gridsync_core::ids::{GridPath, now as now_ms};
use gridsync_core::store::{Batch, Scan};
use serde::{Deserialize, Serialize};

use super::{GRID_DAYS, GRIDS, Hub, grid_key};

/// The most days [`Hub::grid_activity`] looks back.
pub const MAX_ACTIVITY_DAYS: u32 = 90;

const DAY_MS: i64 = 86_400_000;

/// Changes accepted in one grid on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridDay {
    /// The grid.
    pub grid: GridPath,
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Changes accepted that day.
    pub changes: u64,
}

/// The UTC day number (days since 1970-01-01) of a time in ms since the epoch.
pub(crate) fn day_of(ms: i64) -> u32 {
    u32::try_from(ms.div_euclid(DAY_MS)).unwrap_or(0)
}

/// `YYYY-MM-DD` of a UTC day number.
fn day_string(day: u32) -> Result<String> {
    let date = time::OffsetDateTime::UNIX_EPOCH
        .date()
        .checked_add(time::Duration::days(i64::from(day)))
        .ok_or_else(|| Error::corrupt("grid activity", format!("day {day} is out of range")))?;
    Ok(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

fn count_of(what: &str, v: &[u8]) -> Result<u64> {
    Ok(u64::from_be_bytes(v.try_into().map_err(|_| {
        Error::corrupt(what.to_string(), "count is not 8 bytes")
    })?))
}

impl Hub {
    /// Stages the grids' counts for `day` grown by what this push accepted (`accepted`:
    /// changes per grid). Called by ingest once per push under the writer lock, so the
    /// read-and-add races with no other writer (and `batch` holds no count yet).
    pub(crate) fn stage_grid_days(
        &self,
        batch: &mut Batch,
        accepted: &HashMap<GridPath, u64>,
        day: u32,
    ) -> Result<()> {
        let grown: Vec<(Vec<u8>, u64)> = accepted
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(grid, &n)| (grid_key(grid, &day.to_be_bytes()), n))
            .collect();
        let keys: Vec<Vec<u8>> = grown.iter().map(|(k, _)| k.clone()).collect();
        for ((key, n), held) in grown
            .into_iter()
            .zip(self.store.get_many(GRID_DAYS, &keys)?)
        {
            let before = match held {
                Some(v) => count_of("grid activity", &v)?,
                None => 0,
            };
            batch.put(GRID_DAYS, key, (before + n).to_be_bytes().to_vec());
        }
        Ok(())
    }

    /// Changes accepted per grid and UTC day over the last `days` days (today included,
    /// 1 to [`MAX_ACTIVITY_DAYS`]), by grid then day; days without changes are left out.
    pub fn grid_activity(&self, days: u32) -> Result<Vec<GridDay>> {
        if days == 0 || days > MAX_ACTIVITY_DAYS {
            return Err(Error::invalid(
                "days",
                format!("{days}: look back 1 to {MAX_ACTIVITY_DAYS} days"),
            ));
        }
        let first = day_of(now_ms()).saturating_sub(days - 1);
        let mut out = Vec::new();
        for (grid, _) in self.store.scan(GRIDS, Scan::prefix(b""))? {
            let grid = std::str::from_utf8(&grid)
                .ok()
                .and_then(|g| GridPath::parse(g).ok())
                .ok_or_else(|| Error::corrupt("grids", "a grid that is no grid path"))?;
            let prefix = grid_key(&grid, &[]);
            // Keys are `grid \0 day` with the day big-endian: start just before `first`.
            let after = first
                .checked_sub(1)
                .map(|d| grid_key(&grid, &d.to_be_bytes()));
            let scan = Scan {
                after: after.as_deref(),
                ..Scan::prefix(&prefix)
            };
            for (key, value) in self.store.scan(GRID_DAYS, scan)? {
                let day = key
                    .get(prefix.len()..)
                    .and_then(|d| <[u8; 4]>::try_from(d).ok())
                    .map(u32::from_be_bytes)
                    .ok_or_else(|| Error::corrupt("grid activity", "a key with no day"))?;
                out.push(GridDay {
                    grid: grid.clone(),
                    day: day_string(day)?,
                    changes: count_of("grid activity", &value)?,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use gridsync_core::store::MemoryStore;

    use super::*;

    fn grid(s: &str) -> GridPath {
        GridPath::parse(s).unwrap()
    }

    #[test]
    fn day_numbers_read_as_utc_dates() {
        assert_eq!(day_string(0).unwrap(), "1970-01-01");
        assert_eq!(day_of(1_704_700_800_000), 19_730);
        assert_eq!(day_string(19_730).unwrap(), "2024-01-08");
        assert_eq!(day_of(DAY_MS - 1), 0);
    }

    #[test]
    fn counts_add_up_per_grid_and_day_and_old_days_drop_out() {
        let hub = Hub::open(Arc::new(MemoryStore::new())).unwrap();
        let (a, ab) = (grid("x/a"), grid("x/a/b"));
        let today = day_of(now_ms());
        let mut batch = Batch::new();
        for g in [&a, &ab] {
            batch.put(GRIDS, g.as_str().as_bytes().to_vec(), Vec::new());
        }
        hub.store.commit(batch).unwrap();
        let push = |counts: &[(&GridPath, u64)], day: u32| {
            let counts = counts.iter().map(|(g, n)| ((*g).clone(), *n)).collect();
            let mut batch = Batch::new();
            hub.stage_grid_days(&mut batch, &counts, day).unwrap();
            hub.store.commit(batch).unwrap();
        };
        push(&[(&a, 2), (&ab, 1)], today);
        push(&[(&a, 2), (&ab, 1)], today);
        push(&[(&a, 5)], today - 3);
        push(&[(&a, 7)], today - 20);
        push(&[(&ab, 10)], today);

        let rows = hub.grid_activity(14).unwrap();
        let got: Vec<(&str, &str, u64)> = rows
            .iter()
            .map(|r| (r.grid.as_str(), r.day.as_str(), r.changes))
            .collect();
        let (d0, d3) = (day_string(today).unwrap(), day_string(today - 3).unwrap());
        assert_eq!(
            got,
            vec![("x/a", &*d3, 5), ("x/a", &*d0, 4), ("x/a/b", &*d0, 12)]
        );
        assert_eq!(hub.grid_activity(1).unwrap().len(), 2);
        assert_eq!(hub.grid_activity(21).unwrap().len(), 4);
        assert!(hub.grid_activity(0).is_err());
        assert!(hub.grid_activity(MAX_ACTIVITY_DAYS + 1).is_err());
    }
}

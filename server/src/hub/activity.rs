//! What the relay knows of each device's contacts, for the operator: when it was last
//! seen, what app it runs, how far its cursor is behind the log, what it had refused and
//! the last error that closed its connection. Kept in the `device_activity` tree (JSON,
//! written at login and when a connection ends; advisory, so it rides on the next flush)
//! and, for connections open now, in memory as they advance.

use std::collections::HashMap;

use gridsync_core::error::{Error, Result};
use gridsync_core::ids::now as now_ms;
use gridsync_core::store::Batch;
use gridsync_core::sync::wire::Cursor;
use serde::{Deserialize, Serialize};

use super::{ACTIVITY, Device, Hub};

/// A device's contacts as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceActivity {
    /// Last login or end of a connection (ms since epoch).
    pub last_seen: Option<i64>,
    /// The agent string of its last Hello (app and version).
    pub agent: Option<String>,
    /// The log sequence its cursor had reached when last seen; `None` before it has
    /// caught up once (never pulled, or mid-bootstrap).
    pub cursor: Option<u64>,
    /// Pushed changes the relay refused it, all told.
    pub refused: u64,
    /// Why its last connection was closed by the relay, if it was (bad frame, revoked...).
    pub last_error: Option<String>,
    /// Changes waiting in its outbox as last known: what it reported at its last login,
    /// less what the relay accepted from it on that connection. `None` from handsets that
    /// do not report it.
    pub pending: Option<u64>,
    /// The bytes of what it reported waiting at its last login.
    pub pending_bytes: Option<u64>,
}

/// How a connection ended, for the device's activity record.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContactEnd {
    /// Where its cursor stood.
    pub cursor: Option<u64>,
    /// Changes refused on it.
    pub refused: u64,
    /// Changes accepted on it.
    pub accepted: u64,
    /// Why the relay closed it (`None` when it ended cleanly).
    pub error: Option<String>,
}

/// One open connection's progress, kept in memory.
#[derive(Debug, Clone, Default)]
pub(crate) struct LiveContact {
    /// Open connections of this device (a handset may briefly hold two).
    pub connections: usize,
    /// Where its cursor stands.
    pub cursor: Option<u64>,
}

/// A device with its activity, as `device list` and the admin API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// The enrolled device.
    #[serde(flatten)]
    pub device: Device,
    /// Its contacts.
    #[serde(default)]
    pub activity: DeviceActivity,
    /// Connected now.
    #[serde(default)]
    pub online: bool,
    /// Log entries after its cursor (what it has yet to receive), if it has a cursor.
    #[serde(default)]
    pub lag: Option<u64>,
    /// Active, offline, with work left in its outbox (or not known to have none), and not
    /// seen for longer than the relay's stuck threshold (or never, since enrolment that
    /// long ago): a phone to go and look at.
    #[serde(default)]
    pub stuck: bool,
}

/// The log sequence a cursor has reached, if it is past its bootstrap.
pub(crate) fn cursor_seq(cursor: &Cursor) -> Option<u64> {
    match cursor {
        Cursor::Log { after } => Some(*after),
        Cursor::Fresh | Cursor::Snapshot { .. } => None,
    }
}

fn encode(a: &DeviceActivity) -> Result<Vec<u8>> {
    serde_json::to_vec(a).map_err(|e| Error::Storage(format!("encode activity: {e}")))
}

impl Hub {
    /// A device's stored activity (default when it was never seen).
    pub fn activity(&self, device_id: &str) -> Result<DeviceActivity> {
        Ok(match self.store.get(ACTIVITY, device_id.as_bytes())? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| Error::corrupt("activity", e))?,
            None => DeviceActivity::default(),
        })
    }

    /// Records a login: last seen now, the agent, one more open connection.
    pub(crate) fn contact_began(&self, device_id: &str, agent: &str) -> Result<()> {
        self.live_contacts()
            .entry(device_id.to_string())
            .or_default()
            .connections += 1;
        self.update_activity(device_id, |a| a.agent = Some(agent.to_string()))
    }

    /// Notes where an open connection's cursor stands.
    pub(crate) fn contact_advanced(&self, device_id: &str, cursor: Option<u64>) {
        if let Some(c) = self.live_contacts().get_mut(device_id) {
            c.cursor = cursor.or(c.cursor);
        }
    }

    /// Records what a handset reported waiting in its outbox at login.
    pub(crate) fn outbox_reported(&self, device_id: &str, changes: u64, bytes: u64) -> Result<()> {
        self.update_activity(device_id, |a| {
            a.pending = Some(changes);
            a.pending_bytes = Some(bytes);
        })
    }

    /// Records the end of a connection: last seen now, its cursor, what was refused and
    /// accepted on it and the error that closed it.
    pub(crate) fn contact_ended(&self, device_id: &str, end: ContactEnd) -> Result<()> {
        let ContactEnd {
            cursor,
            refused,
            accepted,
            error,
        } = end;
        {
            let mut live = self.live_contacts();
            if let Some(c) = live.get_mut(device_id) {
                c.connections = c.connections.saturating_sub(1);
                if c.connections == 0 {
                    live.remove(device_id);
                }
            }
        }
        self.update_activity(device_id, |a| {
            a.cursor = cursor.or(a.cursor);
            a.refused += refused;
            a.pending = a.pending.map(|p| p.saturating_sub(accepted + refused));
            if error.is_some() {
                a.last_error = error;
            }
        })
    }

    fn update_activity(&self, device_id: &str, f: impl FnOnce(&mut DeviceActivity)) -> Result<()> {
        let mut a = self.activity(device_id)?;
        f(&mut a);
        a.last_seen = Some(now_ms());
        let mut b = Batch::new();
        b.put(ACTIVITY, device_id.as_bytes().to_vec(), encode(&a)?);
        // Advisory: the next group flush (or shutdown) makes it durable.
        self.store.commit(b)
    }

    fn live_contacts(&self) -> std::sync::MutexGuard<'_, HashMap<String, LiveContact>> {
        // A map of counters: a panic elsewhere leaves nothing half-updated that matters.
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every device with its activity; `stuck_after_ms` is how long an active device may
    /// go unseen before it is flagged.
    pub fn device_statuses(&self, stuck_after_ms: i64) -> Result<Vec<DeviceStatus>> {
        self.list_devices()?
            .into_iter()
            .map(|device| self.device_status(device, stuck_after_ms))
            .collect()
    }

    /// One device with its activity (see [`Hub::device_statuses`]).
    pub fn device_status(&self, device: Device, stuck_after_ms: i64) -> Result<DeviceStatus> {
        let activity = self.activity(&device.id)?;
        let contact = self.live_contacts().get(&device.id).cloned();
        let online = contact.is_some();
        let cursor = contact.and_then(|c| c.cursor).or(activity.cursor);
        let seen = activity.last_seen.unwrap_or(device.created_at);
        let active = device.revoked_at.is_none() && device.wipe_requested_at.is_none();
        // Work left on the phone (or not known to be none) that has not come in for long.
        let has_work = activity.pending.is_none_or(|p| p > 0);
        let stuck = !online && active && has_work && now_ms() - seen > stuck_after_ms;
        Ok(DeviceStatus {
            lag: cursor.map(|c| self.durable_head().saturating_sub(c)),
            online,
            stuck,
            activity,
            device,
        })
    }
}

//! Enrolling devices: a one-time token shown once and stored only as its SHA-256, the grid
//! subtrees granted, and revocation that takes effect on the device's next message.

use gridsync_core::error::{Denial, Error, Result};
use gridsync_core::ids::{GridPath, now as now_ms};
use gridsync_core::model::{Grants, Role};
use gridsync_core::store::{Batch, Scan, Store};
use gridsync_core::sync::backend::{DeviceGrant, denied_revoked, denied_unknown_token};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use super::{DEVICES, Hub, LEGACY_DEVICES, TOKENS, decode};

/// How long after a rescope a device may still push work to a grid it lost.
pub const RETIRED_GRACE_MS: i64 = 30 * 24 * 3600 * 1000;

/// A grid a device lost in a rescope, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredScope {
    /// The grid subtree.
    pub grid: GridPath,
    /// When it was taken away (ms since epoch).
    pub at: i64,
}

/// An enrolled device, as the relay keeps it (the token itself is never stored). Stored
/// as JSON, so fields added later read back with their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Stable id (`dev-` and 12 hex digits).
    pub id: String,
    /// Name given at enrollment.
    pub name: String,
    /// Who the device writes as, in which roles and grid subtrees.
    pub grants: Grants,
    /// Grids taken away by a rescope, still writable for [`RETIRED_GRACE_MS`].
    #[serde(default)]
    pub retired: Vec<RetiredScope>,
    /// Enrolled at (ms since epoch).
    pub created_at: i64,
    /// Revoked at, if revoked.
    pub revoked_at: Option<i64>,
    /// When the operator asked for the device to be wiped (`device wipe`), if they did:
    /// from then on the relay tells it to erase itself and accepts nothing from it.
    #[serde(default)]
    pub wipe_requested_at: Option<i64>,
    /// When the device reported that it erased its store.
    #[serde(default)]
    pub wiped_at: Option<i64>,
    /// SHA-256 of the token, hex.
    pub token_sha256: String,
}

/// A device record as builds before grants kept it (postcard, no worker or roles).
#[derive(Deserialize)]
struct LegacyDevice {
    id: String,
    name: String,
    scopes: Vec<GridPath>,
    created_at: i64,
    revoked_at: Option<i64>,
    token_sha256: String,
}

impl From<LegacyDevice> for Device {
    /// A device enrolled before grants: its name stands for the worker, a grid worker.
    fn from(d: LegacyDevice) -> Self {
        Device {
            grants: Grants {
                worker: d.name.clone(),
                display_name: d.name.clone(),
                roles: vec![Role::GridWorker],
                scopes: d.scopes,
            },
            id: d.id,
            name: d.name,
            retired: Vec::new(),
            created_at: d.created_at,
            revoked_at: d.revoked_at,
            wipe_requested_at: None,
            wiped_at: None,
            token_sha256: d.token_sha256,
        }
    }
}

impl Device {
    /// `active`, `revoked`, `wipe pending` (asked, not yet done) or `wiped`.
    pub fn state(&self) -> &'static str {
        match (self.revoked_at, self.wipe_requested_at, self.wiped_at) {
            (_, _, Some(_)) => "wiped",
            (Some(_), _, None) => "revoked",
            (None, Some(_), None) => "wipe pending",
            (None, None, None) => "active",
        }
    }
}

fn encode_device(d: &Device) -> Result<Vec<u8>> {
    serde_json::to_vec(d).map_err(|e| Error::Storage(format!("encode device: {e}")))
}

pub(super) fn decode_device(b: &[u8]) -> Result<Device> {
    serde_json::from_slice(b).map_err(|e| Error::corrupt("device", e))
}

/// Moves device records from the legacy tree into [`DEVICES`], once, at open.
pub(super) fn migrate_legacy_devices(store: &dyn Store) -> Result<()> {
    let legacy = store.scan(LEGACY_DEVICES, Scan::prefix(b""))?;
    if legacy.is_empty() {
        return Ok(());
    }
    let mut b = Batch::new();
    for (k, v) in legacy {
        let d: Device = decode::<LegacyDevice>("legacy device", &v)?.into();
        b.put(DEVICES, k.clone(), encode_device(&d)?);
        b.delete(LEGACY_DEVICES, k);
    }
    store.commit(b)?;
    store.flush()
}

/// What `device add` returns: the device and its token, shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct Enrollment {
    /// The device.
    pub device: Device,
    /// The one-time enrollment token to give to the handset.
    pub token: String,
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| Error::Storage("no system randomness".into()))?;
    Ok(hex::encode(buf))
}

/// SHA-256 of a token, hex.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.trim().as_bytes(),
    ))
}

impl Hub {
    /// Enrolls a device with its grants (worker, roles, grid subtrees) and returns its
    /// one-time token.
    pub fn add_device(&self, name: &str, grants: &Grants) -> Result<Enrollment> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(Error::invalid(
                "name",
                "a device name of 1-64 characters is required",
            ));
        }
        grants.validate()?;
        let _guard = self.lock()?;
        if self
            .devices_named(name)?
            .iter()
            .any(|d| d.revoked_at.is_none() && d.wiped_at.is_none())
        {
            return Err(Error::invalid(
                "name",
                format!("an active device is already called {name:?}"),
            ));
        }
        let token = format!("gst_{}", random_hex(24)?);
        let device = Device {
            id: format!("dev-{}", random_hex(6)?),
            name: name.to_string(),
            grants: grants.clone(),
            retired: Vec::new(),
            created_at: now_ms(),
            revoked_at: None,
            wipe_requested_at: None,
            wiped_at: None,
            token_sha256: token_hash(&token),
        };
        let mut b = Batch::new();
        b.put(
            DEVICES,
            device.id.as_bytes().to_vec(),
            encode_device(&device)?,
        );
        b.put(
            TOKENS,
            device.token_sha256.as_bytes().to_vec(),
            device.id.as_bytes().to_vec(),
        );
        super::device_names::stage_name(&mut b, &device);
        self.commit_durable(b)?;
        tracing::info!(device = %device.id, name, "device enrolled");
        Ok(Enrollment { device, token })
    }

    /// Every enrolled device, revoked ones included.
    pub fn list_devices(&self) -> Result<Vec<Device>> {
        self.store
            .scan(DEVICES, Scan::prefix(b""))?
            .iter()
            .map(|(_, v)| decode_device(v))
            .collect()
    }

    /// A device by id.
    pub fn device(&self, id: &str) -> Result<Option<Device>> {
        self.store
            .get(DEVICES, id.as_bytes())?
            .map(|v| decode_device(&v))
            .transpose()
    }

    /// Changes the grid subtrees of an active device (by id or name). Grids it loses stay
    /// writable, never readable, for [`RETIRED_GRACE_MS`] so the work it did there before
    /// it learned arrives; the handset learns at its next contact.
    pub fn rescope_device(&self, id_or_name: &str, scopes: &[GridPath]) -> Result<Device> {
        let _guard = self.lock()?;
        let found = self.active_device(id_or_name)?;
        let (held, mut device) = self.device_held(&found.id)?;
        let mut next = device.grants.clone();
        next.scopes = scopes.to_vec();
        next.validate()?;
        let now = now_ms();
        let lost: Vec<RetiredScope> = device
            .grants
            .scopes
            .iter()
            .filter(|old| !next.covers(old))
            .map(|grid| RetiredScope {
                grid: grid.clone(),
                at: now,
            })
            .collect();
        device.retired.retain(|r| !next.covers(&r.grid));
        device.retired.extend(lost);
        device.grants = next;
        self.put_device(held, &device, Batch::new())?;
        tracing::warn!(device = %device.id, scopes = %device.grants.scope_names(), "device rescoped");
        Ok(device)
    }

    /// An active device by id or by name.
    fn active_device(&self, id_or_name: &str) -> Result<Device> {
        if let Some(d) = self.device(id_or_name)?
            && d.revoked_at.is_none()
        {
            return Ok(d);
        }
        self.devices_named(id_or_name)?
            .into_iter()
            .find(|d| d.revoked_at.is_none())
            .ok_or_else(|| {
                Error::invalid(
                    "device",
                    format!("no active device with id or name {id_or_name:?}"),
                )
            })
    }

    /// A device by id, or the active device of that name (else the latest of that name).
    pub fn find_device(&self, id_or_name: &str) -> Result<Device> {
        if let Some(d) = self.device(id_or_name)? {
            return Ok(d);
        }
        let mut named: Vec<Device> = self.devices_named(id_or_name)?;
        named.sort_by_key(|d| (d.revoked_at.is_none(), d.created_at));
        named.pop().ok_or_else(|| {
            Error::invalid(
                "device",
                format!("no device with id or name {id_or_name:?}"),
            )
        })
    }

    /// Gives an active device (by id or name) a new token, shown this once; the old one
    /// logs in no more. Connections open now go on until they end.
    pub fn rotate_token(&self, id_or_name: &str) -> Result<Enrollment> {
        let _guard = self.lock()?;
        let found = self.active_device(id_or_name)?;
        let (held, mut device) = self.device_held(&found.id)?;
        let token = format!("gst_{}", random_hex(24)?);
        let old = std::mem::replace(&mut device.token_sha256, token_hash(&token));
        let mut b = Batch::new();
        b.delete(TOKENS, old.into_bytes());
        let (id, hash) = (device.id.as_bytes(), device.token_sha256.as_bytes());
        b.put(TOKENS, hash.to_vec(), id.to_vec());
        self.put_device(held, &device, b)?;
        tracing::warn!(device = %device.id, name = %device.name, "device token rotated");
        Ok(Enrollment { device, token })
    }

    /// Revokes a device, by id or by name. Its connections are refused from their next message.
    pub fn revoke_device(&self, id_or_name: &str) -> Result<Device> {
        let _guard = self.lock()?;
        let found = self.find_device(id_or_name)?;
        let (held, mut device) = self.device_held(&found.id)?;
        if device.revoked_at.is_none() {
            device.revoked_at = Some(now_ms());
            self.put_device(held, &device, Batch::new())?;
            tracing::warn!(device = %device.id, name = %device.name, "device revoked");
            self.revoked();
        }
        Ok(device)
    }

    /// Asks for a device (by id or name) to be wiped: at its next contact (at once when
    /// connected) the relay tells it to erase its store and accepts nothing more from it,
    /// and records when it has (ADR 0008). Unlike [`Hub::revoke_device`], which only cuts
    /// the device off and leaves its data on the phone.
    pub fn wipe_device(&self, id_or_name: &str) -> Result<Device> {
        let _guard = self.lock()?;
        let found = self.active_device(id_or_name)?;
        let (held, mut device) = self.device_held(&found.id)?;
        if device.wipe_requested_at.is_none() {
            device.wipe_requested_at = Some(now_ms());
            self.put_device(held, &device, Batch::new())?;
            tracing::warn!(device = %device.id, name = %device.name, "device wipe requested");
            self.revoked();
        }
        Ok(device)
    }

    /// Records that a device told to wipe itself has erased its store.
    pub(crate) fn device_wiped(&self, device_id: &str) -> Result<()> {
        let _guard = self.lock()?;
        let (held, mut device) = self.device_held(device_id)?;
        if device.wiped_at.is_none() {
            device.wiped_at = Some(now_ms());
            self.put_device(held, &device, Batch::new())?;
            tracing::warn!(device = %device.id, name = %device.name, "device erased its store (wiped)");
        }
        Ok(())
    }

    /// A device record as stored (what [`Hub::put_device`] expects) and decoded.
    fn device_held(&self, id: &str) -> Result<(Vec<u8>, Device)> {
        let held = self
            .store
            .get(DEVICES, id.as_bytes())?
            .ok_or_else(|| Error::invalid("device", format!("no device {id:?}")))?;
        let device = decode_device(&held)?;
        Ok((held, device))
    }

    /// Stores a revoked, wiped, rescoped or re-tokened device with the rest of `b`, if its
    /// record still is `held`: another relay node's change to it in between fails this one
    /// ([`Error::Conflict`], nothing written) instead of being undone (a revocation lost
    /// to a rescope). The new device epoch makes other nodes recheck their connections.
    fn put_device(&self, held: Vec<u8>, device: &Device, mut b: Batch) -> Result<()> {
        b.expect(DEVICES, device.id.as_bytes().to_vec(), Some(held));
        b.put(
            DEVICES,
            device.id.as_bytes().to_vec(),
            encode_device(device)?,
        );
        super::follow::stage_device_epoch(&mut b)?;
        self.commit_durable(b)
    }

    /// The grant behind a token.
    pub(crate) fn grant_for_token(&self, token: &str) -> Result<DeviceGrant> {
        let Some(id) = self.store.get(TOKENS, token_hash(token).as_bytes())? else {
            return Err(denied_unknown_token());
        };
        let id = String::from_utf8_lossy(&id).to_string();
        let device = self.device(&id)?.ok_or_else(denied_unknown_token)?;
        if device.wiped_at.is_some() {
            return Err(Error::denied(
                Denial::Revoked,
                format!(
                    "device {:?} was wiped: enroll the handset again",
                    device.name
                ),
            ));
        }
        if device.revoked_at.is_some() {
            return Err(denied_revoked(&device.name));
        }
        let since = now_ms() - RETIRED_GRACE_MS;
        Ok(DeviceGrant {
            retired: device
                .retired
                .iter()
                .filter(|r| r.at >= since)
                .map(|r| r.grid.clone())
                .collect(),
            device_id: device.id,
            name: device.name,
            grants: device.grants,
        })
    }
}

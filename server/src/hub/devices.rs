//! Enrolling devices: a one-time token shown once and stored only as its SHA-256, the grid
//! subtrees granted, and revocation that takes effect on the device's next message.

use gridsync_core::error::{Error, Result};
use gridsync_core::ids::{GridPath, now as now_ms};
use gridsync_core::store::{Batch, Scan};
use gridsync_core::sync::backend::{DeviceGrant, denied_revoked, denied_unknown_token};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use super::{DEVICES, Hub, TOKENS, decode, encode};

/// An enrolled device, as the relay keeps it (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Stable id (`dev-` and 12 hex digits).
    pub id: String,
    /// Name given at enrollment.
    pub name: String,
    /// Granted grid subtrees.
    pub scopes: Vec<GridPath>,
    /// Enrolled at (ms since epoch).
    pub created_at: i64,
    /// Revoked at, if revoked.
    pub revoked_at: Option<i64>,
    /// SHA-256 of the token, hex.
    pub token_sha256: String,
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
    /// Enrolls a device for the given grid subtrees and returns its one-time token.
    pub fn add_device(&self, name: &str, scopes: &[GridPath]) -> Result<Enrollment> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(Error::invalid(
                "name",
                "a device name of 1-64 characters is required",
            ));
        }
        if scopes.is_empty() {
            return Err(Error::invalid(
                "scope",
                "at least one grid path (--scope) is required",
            ));
        }
        let _guard = self.lock()?;
        if self
            .list_devices()?
            .iter()
            .any(|d| d.name == name && d.revoked_at.is_none())
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
            scopes: scopes.to_vec(),
            created_at: now_ms(),
            revoked_at: None,
            token_sha256: token_hash(&token),
        };
        let mut b = Batch::new();
        b.put(DEVICES, device.id.as_bytes().to_vec(), encode(&device)?);
        b.put(
            TOKENS,
            device.token_sha256.as_bytes().to_vec(),
            device.id.as_bytes().to_vec(),
        );
        self.commit_durable(b)?;
        tracing::info!(device = %device.id, name, "device enrolled");
        Ok(Enrollment { device, token })
    }

    /// Every enrolled device, revoked ones included.
    pub fn list_devices(&self) -> Result<Vec<Device>> {
        self.store
            .scan(DEVICES, Scan::prefix(b""))?
            .iter()
            .map(|(_, v)| decode("device", v))
            .collect()
    }

    /// A device by id.
    pub fn device(&self, id: &str) -> Result<Option<Device>> {
        self.store
            .get(DEVICES, id.as_bytes())?
            .map(|v| decode("device", &v))
            .transpose()
    }

    /// Revokes a device, by id or by name. Its connections are refused from their next message.
    pub fn revoke_device(&self, id_or_name: &str) -> Result<Device> {
        let _guard = self.lock()?;
        let mut device = match self.device(id_or_name)? {
            Some(d) => d,
            None => self
                .list_devices()?
                .into_iter()
                .find(|d| d.name == id_or_name && d.revoked_at.is_none())
                .ok_or_else(|| {
                    Error::invalid(
                        "device",
                        format!("no active device with id or name {id_or_name:?}"),
                    )
                })?,
        };
        if device.revoked_at.is_none() {
            device.revoked_at = Some(now_ms());
            let mut b = Batch::new();
            b.put(DEVICES, device.id.as_bytes().to_vec(), encode(&device)?);
            self.commit_durable(b)?;
            tracing::warn!(device = %device.id, name = %device.name, "device revoked");
            self.revoked();
        }
        Ok(device)
    }

    /// The grant behind a token.
    pub(crate) fn grant_for_token(&self, token: &str) -> Result<DeviceGrant> {
        let Some(id) = self.store.get(TOKENS, token_hash(token).as_bytes())? else {
            return Err(denied_unknown_token());
        };
        let id = String::from_utf8_lossy(&id).to_string();
        let device = self.device(&id)?.ok_or_else(denied_unknown_token)?;
        if device.revoked_at.is_some() {
            return Err(denied_revoked(&device.name));
        }
        Ok(DeviceGrant {
            device_id: device.id,
            name: device.name,
            scopes: device.scopes,
        })
    }
}

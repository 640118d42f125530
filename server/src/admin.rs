//! Device administration while the relay runs. sled allows one process per store, so
//! `gridsync-relay device …` talks to a running relay over a Unix socket in the data
//! directory (owner-only), and opens the store itself only when no relay is running.
//! One JSON request per line, one JSON response per line. The HTTP admin API
//! ([`crate::http`]) carries the same requests; every action is logged with where it came
//! from.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gridsync_core::ids::GridPath;
use gridsync_core::model::Grants;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::backup::{BackupError, BackupSummary};
use crate::error::{Context, Result};
use crate::export::{ExportCounts, ExportFormat};
use crate::hub::{Device, DeviceStatus, Enrollment, GridDay, Hub};
use gridsync_core::error::Result as CoreResult;

/// The admin socket's file name inside the data directory.
pub const SOCKET: &str = "admin.sock";

/// An administration request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum AdminRequest {
    /// Enroll a device.
    Add {
        /// Device name.
        name: String,
        /// Worker, roles and grid subtrees.
        grants: Grants,
    },
    /// Change a device's grid subtrees, by id or name.
    Rescope {
        /// Id or name.
        device: String,
        /// The new grid subtrees.
        scopes: Vec<GridPath>,
    },
    /// List devices.
    List,
    /// Revoke a device by id or name.
    Revoke {
        /// Id or name.
        device: String,
    },
    /// Ask for a device (by id or name) to erase itself at its next contact.
    Wipe {
        /// Id or name.
        device: String,
    },
    /// One device with its activity, by id or name.
    Show {
        /// Id or name.
        device: String,
    },
    /// Write a scope's households, visits and cases into a directory (`export`).
    Export {
        /// The grid subtree.
        scope: GridPath,
        /// CSV or JSONL.
        format: ExportFormat,
        /// The directory, absolute (the relay writes it).
        out: PathBuf,
    },
    /// Give an active device (by id or name) a new token; the old one logs in no more.
    RotateToken {
        /// Id or name.
        device: String,
    },
    /// Write a consistent backup of the relay to a file (`backup`).
    Backup {
        /// The file, absolute (the relay writes it).
        to: PathBuf,
    },
    /// Changes accepted per grid and UTC day over the last `days` days.
    Activity {
        /// How many days back, today included (1 to [`crate::hub::MAX_ACTIVITY_DAYS`]).
        days: u32,
    },
}

impl AdminRequest {
    /// The action's name, for the log.
    pub fn action(&self) -> &'static str {
        match self {
            AdminRequest::Add { .. } => "add",
            AdminRequest::Rescope { .. } => "rescope",
            AdminRequest::List => "list",
            AdminRequest::Revoke { .. } => "revoke",
            AdminRequest::Wipe { .. } => "wipe",
            AdminRequest::Show { .. } => "show",
            AdminRequest::RotateToken { .. } => "rotate_token",
            AdminRequest::Export { .. } => "export",
            AdminRequest::Activity { .. } => "activity",
            AdminRequest::Backup { .. } => "backup",
        }
    }

    /// The device the action names (its name for an enrolment).
    pub fn device(&self) -> Option<&str> {
        match self {
            AdminRequest::Add { name, .. } => Some(name),
            AdminRequest::List
            | AdminRequest::Activity { .. }
            | AdminRequest::Export { .. }
            | AdminRequest::Backup { .. } => None,
            AdminRequest::Rescope { device, .. }
            | AdminRequest::Revoke { device }
            | AdminRequest::Wipe { device }
            | AdminRequest::Show { device }
            | AdminRequest::RotateToken { device } => Some(device),
        }
    }

    /// Whether it changes anything (listing, showing and activity do not).
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            AdminRequest::List | AdminRequest::Show { .. } | AdminRequest::Activity { .. }
        )
    }
}

/// Where an admin request came from, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The admin socket (`gridsync-relay device …` while the relay runs).
    Socket,
    /// The HTTP admin API.
    Http,
    /// The command line on a stopped relay's store.
    Offline,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Socket => "socket",
            Via::Http => "http",
            Via::Offline => "offline",
        }
    }
}

/// How an admin request is carried out: from where, and what counts as stuck.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// Where the request came from.
    pub via: Via,
    /// An active device unseen this long is flagged stuck.
    pub stuck_after: Duration,
}

/// The answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "ok", rename_all = "snake_case")]
pub enum AdminResponse {
    /// A device was enrolled; the token is shown this once.
    Enrolled {
        /// The device.
        device: Device,
        /// Its one-time token.
        token: String,
    },
    /// The devices, with their activity.
    Devices {
        /// All of them.
        devices: Vec<DeviceStatus>,
    },
    /// One device, with its activity.
    Device {
        /// The device.
        device: DeviceStatus,
    },
    /// The export is written.
    Exported {
        /// Rows by file.
        counts: ExportCounts,
    },
    /// The device has a new token, shown this once; the old one no longer logs in.
    TokenRotated {
        /// The device.
        device: Device,
        /// Its new token.
        token: String,
    },
    /// The device was revoked.
    Revoked {
        /// The device.
        device: Device,
    },
    /// The device's grid subtrees changed.
    Rescoped {
        /// The device.
        device: Device,
    },
    /// The device will be told to erase itself.
    WipeRequested {
        /// The device.
        device: Device,
    },
    /// Changes accepted per grid and UTC day, by grid then day (days without any left out).
    Activity {
        /// One entry per grid and day.
        days: Vec<GridDay>,
    },
    /// The backup is written.
    BackedUp {
        /// What it holds.
        summary: BackupSummary,
    },
    /// The request failed.
    Error {
        /// Why.
        message: String,
    },
}

/// Carries out a request on a hub, logging it (target `gridsync_relay::admin`).
pub fn execute(hub: &Hub, req: AdminRequest, caller: Caller) -> AdminResponse {
    try_execute(hub, req, caller).unwrap_or_else(|e| AdminResponse::Error {
        message: e.to_string(),
    })
}

/// [`execute`], keeping the error typed (the HTTP API maps it to a status).
pub fn try_execute(hub: &Hub, req: AdminRequest, caller: Caller) -> CoreResult<AdminResponse> {
    let (action, device, writes) = (req.action(), req.device().map(str::to_string), req.writes());
    let result = run(hub, req, caller);
    let via = caller.via.as_str();
    match &result {
        Ok(_) if writes => {
            tracing::info!(target: "gridsync_relay::admin", via, action, device, "admin action")
        }
        Ok(_) => {
            tracing::debug!(target: "gridsync_relay::admin", via, action, device, "admin read")
        }
        Err(e) => {
            tracing::warn!(target: "gridsync_relay::admin", via, action, device, error = %e, "admin action failed")
        }
    }
    result
}

fn run(hub: &Hub, req: AdminRequest, caller: Caller) -> CoreResult<AdminResponse> {
    let stuck_after_ms = i64::try_from(caller.stuck_after.as_millis()).unwrap_or(i64::MAX);
    Ok(match req {
        AdminRequest::Add { name, grants } => {
            let Enrollment { device, token } = hub.add_device(&name, &grants)?;
            AdminResponse::Enrolled { device, token }
        }
        AdminRequest::List => AdminResponse::Devices {
            devices: hub.device_statuses(stuck_after_ms)?,
        },
        AdminRequest::Show { device } => AdminResponse::Device {
            device: hub.device_status(hub.find_device(&device)?, stuck_after_ms)?,
        },
        AdminRequest::Rescope { device, scopes } => AdminResponse::Rescoped {
            device: hub.rescope_device(&device, &scopes)?,
        },
        AdminRequest::Revoke { device } => AdminResponse::Revoked {
            device: hub.revoke_device(&device)?,
        },
        AdminRequest::Wipe { device } => AdminResponse::WipeRequested {
            device: hub.wipe_device(&device)?,
        },
        AdminRequest::Export { scope, format, out } => AdminResponse::Exported {
            counts: hub.export(&scope, format, &out, &|_| {})?,
        },
        AdminRequest::RotateToken { device } => {
            let Enrollment { device, token } = hub.rotate_token(&device)?;
            AdminResponse::TokenRotated { device, token }
        }
        AdminRequest::Activity { days } => AdminResponse::Activity {
            days: hub.grid_activity(days)?,
        },
        AdminRequest::Backup { to } => AdminResponse::BackedUp {
            summary: hub.backup(&to, &|_| {}).map_err(|e| match e {
                BackupError::Store(e) => e,
                other => gridsync_core::Error::Storage(other.to_string()),
            })?,
        },
    })
}

/// Path of the admin socket for a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Serves the admin socket until `shutdown` fires.
pub async fn serve(
    path: PathBuf,
    hub: Arc<Hub>,
    stuck_after: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let caller = Caller {
        via: Via::Socket,
        stuck_after,
    };
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("binding {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .context("admin socket permissions")?;
    }
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let hub = hub.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut lines = tokio::io::BufReader::new(r).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let resp = match serde_json::from_str::<AdminRequest>(&line) {
                            Ok(req) => tokio::task::block_in_place(|| execute(&hub, req, caller)),
                            Err(e) => AdminResponse::Error { message: format!("bad request: {e}") },
                        };
                        let mut out = serde_json::to_vec(&resp).unwrap_or_default();
                        out.push(b'\n');
                        if w.write_all(&out).await.is_err() { break; }
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Sends one request to a running relay. `Ok(None)` when no relay answers on the socket.
pub fn request(path: &Path, req: &AdminRequest) -> Result<Option<AdminResponse>> {
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(path) else {
        return Ok(None);
    };
    let mut line = serde_json::to_vec(req).context("encoding the request")?;
    line.push(b'\n');
    stream.write_all(&line).context("talking to the relay")?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .context("reading the relay's answer")?;
    Ok(Some(
        serde_json::from_str(&answer).context("the relay's answer")?,
    ))
}

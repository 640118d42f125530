//! Device administration while the relay runs. sled allows one process per store, so
//! `gridsync-relay device …` talks to a running relay over a Unix socket in the data
//! directory (owner-only), and opens the store itself only when no relay is running.
//! One JSON request per line, one JSON response per line.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gridsync_core::ids::GridPath;
use gridsync_core::model::Grants;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::error::{Context, Result};
use crate::hub::{Device, Enrollment, Hub};

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
    /// The devices.
    Devices {
        /// All of them.
        devices: Vec<Device>,
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
    /// The request failed.
    Error {
        /// Why.
        message: String,
    },
}

/// Carries out a request on a hub.
pub fn execute(hub: &Hub, req: AdminRequest) -> AdminResponse {
    let result = match req {
        AdminRequest::Add { name, grants } => hub
            .add_device(&name, &grants)
            .map(|Enrollment { device, token }| AdminResponse::Enrolled { device, token }),
        AdminRequest::List => hub
            .list_devices()
            .map(|devices| AdminResponse::Devices { devices }),
        AdminRequest::Rescope { device, scopes } => hub
            .rescope_device(&device, &scopes)
            .map(|device| AdminResponse::Rescoped { device }),
        AdminRequest::Revoke { device } => hub
            .revoke_device(&device)
            .map(|device| AdminResponse::Revoked { device }),
        AdminRequest::Wipe { device } => hub
            .wipe_device(&device)
            .map(|device| AdminResponse::WipeRequested { device }),
    };
    result.unwrap_or_else(|e| AdminResponse::Error {
        message: e.to_string(),
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
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
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
                            Ok(req) => tokio::task::block_in_place(|| execute(&hub, req)),
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

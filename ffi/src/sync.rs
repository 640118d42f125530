//! [`SyncSession`]: the core's QUIC sync client for one replica and one relay, with the
//! tokio runtime it runs on, and the records that describe sync to the app.
//!
//! All calls here are blocking: `syncOnce` waits for the whole exchange (seconds on a bad
//! link, up to the connect timeout of 20 s when the relay does not answer), so call it off
//! the main thread (a Kotlin `Dispatchers.IO` coroutine, a Swift `Task.detached`). Live
//! sync runs on the session's own two worker threads; `startLive` returns at once.

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use gridsync_core::DocId;
use gridsync_core::net::{RelayTarget, SyncClient};
use gridsync_core::replica::{ChangeObserver, ChangeOrigin};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::error::{GridsyncError, Result};
use crate::listener::Listeners;
use crate::replica::GridsyncReplica;

/// How often the status is checked for changes while a sync runs.
const STATUS_POLL: Duration = Duration::from_millis(250);

/// The state of the link to the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LinkState {
    /// Not connected.
    Offline,
    /// Connecting.
    Connecting,
    /// Connected, exchanging the backlog.
    Syncing,
    /// Connected and caught up; changes flow as they happen.
    Live,
}

/// What the sync bar shows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncStatus {
    /// Link state.
    pub state: LinkState,
    /// Local changes the relay has not acknowledged yet.
    pub pending_changes: u64,
    /// Their bytes.
    pub pending_bytes: u64,
    /// Local changes the relay refused: kept, never sent again (`refused()` lists their
    /// records).
    pub refused_changes: u64,
    /// When the relay last acknowledged or delivered something (ms).
    pub last_sync: Option<i64>,
    /// The last error, if the last attempt failed.
    pub last_error: Option<String>,
}

/// A local change the relay refused (for example outside the device's grids). It is kept
/// on the device, marked refused, and not sent again.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Refusal {
    /// The id of the record the change belongs to.
    pub record: String,
    /// The change hash (hex).
    pub change: String,
    /// What the relay has against it.
    pub reason: String,
}

/// What one `syncOnce` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// The connection resumed with 0-RTT.
    pub zero_rtt: bool,
    /// Local changes sent to the relay.
    pub pushed: u64,
    /// Local changes now durable on the relay.
    pub acknowledged: u64,
    /// Local changes refused in this sync (recorded as refused, not sent again).
    pub refused: Vec<Refusal>,
    /// Changes the relay had acknowledged before it was restored from an older backup,
    /// pushed again in this sync (0 unless the relay went back in time).
    pub resent_after_restore: u64,
    /// Records changed by what was received.
    pub documents_changed: u64,
    /// Entries received and applied.
    pub entries: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Flights of messages sent.
    pub round_trips: u64,
    /// Reached the point where nothing was outstanding.
    pub caught_up: bool,
    /// Wall time, connection included (ms).
    pub elapsed_ms: u64,
}

/// The outbox at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct PendingSummary {
    /// Local changes waiting for the relay (refused ones not included).
    pub changes: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Local changes the relay refused: kept, never sent again, until discarded.
    pub refused: u64,
}

/// Where one record stands with the relay.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RecordSyncState {
    /// Has local changes the relay has not acknowledged.
    Pending,
    /// Everything written here is durable on the relay.
    Acknowledged,
    /// The relay refused a change of the record: it stays on the device and is not sent
    /// again until the user discards it (`discardRefused`).
    Refused {
        /// What the relay has against the record's first refused change.
        reason: String,
    },
}

/// How the handset trusts the relay's certificate.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RelayTrust {
    /// Exactly this certificate: `sha256:<64 hex>` as the relay operator gave it.
    Pinned {
        /// The fingerprint.
        fingerprint: String,
    },
    /// Certificates signed by these CA roots (PEM text), for CA-signed relays.
    CaPem {
        /// PEM certificates.
        pem: String,
    },
}

/// Where the relay is, how to trust it, and this device's enrollment token; all three
/// come from the relay operator (`gridsync-relay device add`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RelayConfig {
    /// `host:port` of the relay (UDP), or of each of its nodes separated by commas
    /// (`10.0.0.1:4433, 10.0.0.2:4433`): the handset prefers one by a hash of its device id
    /// and fails over to the next. Host names are resolved once, when the session is made.
    pub address: String,
    /// TLS server name (any name works with a pinned fingerprint).
    #[uniffi(default = "gridsync-relay")]
    pub server_name: String,
    /// How to trust the relay.
    pub trust: RelayTrust,
    /// The device's enrollment token.
    pub token: String,
}

struct Live {
    stop: Arc<Notify>,
    task: JoinHandle<gridsync_core::Result<()>>,
}

/// Sync between one replica and one relay. Make one per process after opening the
/// replica; it owns a small runtime (two worker threads) for the network.
#[derive(uniffi::Object)]
pub struct SyncSession {
    runtime: Option<Runtime>,
    client: Arc<SyncClient>,
    listeners: Arc<Listeners>,
    live: Mutex<Option<Live>>,
}

/// Wakes a live session when the app writes, so the change is pushed at once.
struct PushOnWrite(Weak<SyncClient>);

impl ChangeObserver for PushOnWrite {
    fn changed(&self, _docs: &[DocId], origin: ChangeOrigin) {
        if origin == ChangeOrigin::Local
            && let Some(c) = self.0.upgrade()
        {
            c.local_change();
        }
    }
}

/// Runs `fut`, telling the listeners each time the sync status changes, and once at the end.
async fn watched<F: Future>(client: &SyncClient, listeners: &Listeners, fut: F) -> F::Output {
    tokio::pin!(fut);
    let mut tick = tokio::time::interval(STATUS_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<SyncStatus> = None;
    let out = loop {
        tokio::select! {
            out = &mut fut => break out,
            _ = tick.tick() => {
                let now: SyncStatus = client.status().into();
                if last.as_ref() != Some(&now) {
                    listeners.sync_status(&now);
                    last = Some(now);
                }
            }
        }
    };
    listeners.sync_status(&client.status().into());
    out
}

fn in_runtime() -> bool {
    Handle::try_current().is_ok()
}

impl SyncSession {
    fn runtime(&self) -> Result<&Runtime> {
        self.runtime.as_ref().ok_or_else(|| GridsyncError::Storage {
            reason: "the sync session is shut down".into(),
        })
    }
}

#[uniffi::export]
impl SyncSession {
    /// A session for `replica` with the relay `relay`. Does not connect yet. Fails with
    /// `InvalidInput` for a malformed address, fingerprint or empty token.
    #[uniffi::constructor]
    pub fn new(replica: Arc<GridsyncReplica>, relay: RelayConfig) -> Result<Arc<Self>> {
        let target = RelayTarget::try_from(relay)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gridsync-sync")
            .enable_all()
            .build()
            .map_err(|e| GridsyncError::Storage {
                reason: format!("cannot start the sync threads: {e}"),
            })?;
        let client = {
            let _in = runtime.enter();
            Arc::new(SyncClient::new(replica.core().clone(), target)?)
        };
        replica
            .core()
            .observe(Arc::new(PushOnWrite(Arc::downgrade(&client))));
        Ok(Arc::new(SyncSession {
            runtime: Some(runtime),
            client,
            listeners: replica.listeners().clone(),
            live: Mutex::new(None),
        }))
    }

    /// Connects, pushes every pending local change, pulls until caught up, disconnects.
    /// Blocks until done: call it off the main thread. Listeners hear the status as it
    /// changes and received records as they land. Refused with `NotAllowed` when called
    /// from a listener running on a sync thread.
    pub fn sync_once(&self) -> Result<SyncReport> {
        if in_runtime() {
            return Err(GridsyncError::NotAllowed {
                reason: "syncOnce was called from a sync thread (a listener); call it from an app thread".into(),
            });
        }
        let rt = self.runtime()?;
        let report = rt.block_on(watched(
            &self.client,
            &self.listeners,
            self.client.sync_once(),
        ))?;
        Ok(report.into())
    }

    /// Stays connected in the background: pushes local writes as they are made, receives
    /// other devices' changes as they happen, reconnects with backoff when the link drops.
    /// Returns at once; does nothing when live sync already runs.
    pub fn start_live(&self) -> Result<()> {
        let rt = self.runtime()?;
        let Ok(mut live) = self.live.lock() else {
            return Ok(());
        };
        if live.as_ref().is_some_and(|l| !l.task.is_finished()) {
            return Ok(());
        }
        let stop = Arc::new(Notify::new());
        let (client, listeners, s) = (self.client.clone(), self.listeners.clone(), stop.clone());
        let task = rt.spawn(async move { watched(&client, &listeners, client.run(s)).await });
        *live = Some(Live { stop, task });
        Ok(())
    }

    /// True while live sync runs. It ends by itself only when the relay refuses the
    /// device (then `stopLive` returns the `Denied` error).
    pub fn is_live(&self) -> bool {
        self.live
            .lock()
            .map(|l| l.as_ref().is_some_and(|l| !l.task.is_finished()))
            .unwrap_or(false)
    }

    /// Stops live sync and waits (up to 5 s) for the connection to close. Returns the error
    /// that ended live sync by itself, if one did (`Denied`). Does nothing when not live.
    pub fn stop_live(&self) -> Result<()> {
        let Some(live) = self.live.lock().ok().and_then(|mut l| l.take()) else {
            return Ok(());
        };
        live.stop.notify_one();
        if in_runtime() {
            return Ok(());
        }
        let rt = self.runtime()?;
        match rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), live.task).await }) {
            Ok(Ok(Err(e))) => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// The sync status now (pending counts read from the store).
    pub fn status(&self) -> SyncStatus {
        self.client.status().into()
    }

    /// Call when the OS reports that a network is available (Android's connectivity
    /// callback, iOS's `NWPathMonitor`): live sync retries at once instead of waiting out
    /// its backoff. Cheap and safe from any thread.
    pub fn network_available(&self) {
        self.client.network_available();
    }
}

impl Drop for SyncSession {
    fn drop(&mut self) {
        if let Ok(Some(live)) = self.live.get_mut().map(Option::take) {
            live.stop.notify_one();
        }
        if let Some(rt) = self.runtime.take() {
            if in_runtime() {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }
}

//! One handset connection: the relay's end ([`RelayPeer`]) for core's one connection
//! driver ([`gridsync_core::net::drive`]). It feeds messages to the sans-IO
//! [`RelaySession`] and wakes it when the log advances or a device is revoked. Storage
//! calls block, so they run under `block_in_place` on the multi-threaded runtime.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gridsync_core::Error;
use gridsync_core::ids::now;
use gridsync_core::net::{Peer, drive};
use gridsync_core::sync::frame::{FrameLimits, SNAPSHOT_LEVEL, STREAM_LEVEL};
use gridsync_core::sync::wire::{ClientMsg, Cursor, ErrorCode, RelayMsg};
use gridsync_core::sync::{RelaySession, SessionStats, Transmit};
use tokio::sync::watch;
use tracing::Instrument;

use crate::hub::{ContactEnd, Hub, cursor_seq};
use crate::login_limit::FailedLogins;

/// How long a closed session waits for its error frame to leave.
const GOODBYE: Duration = Duration::from_secs(2);

/// Why a connection task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The handset went away or the session closed.
    Done,
    /// The relay is shutting down.
    Shutdown,
}

/// What wakes the relay's end of a connection.
enum RelayWake {
    /// The durable log head moved: send live entries in the device's scopes.
    LogAdvanced,
    /// Some device was revoked: check that this one still may sync.
    Revocation,
    /// The relay is shutting down (or the hub's channels closed).
    Shutdown,
    /// The connection's deadline for Hello ran out.
    HelloOverdue,
}

/// The relay's end of one connection.
struct RelayPeer {
    session: RelaySession,
    hub: Arc<Hub>,
    heads: watch::Receiver<u64>,
    revocations: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    /// When the handset must have said Hello.
    hello_by: tokio::time::Instant,
    /// The session's counters as last added to the metrics.
    reported: SessionStats,
    /// The device, once its Hello was accepted (and its contact recorded).
    device: Option<String>,
    /// Where the connection comes from, and the failed logins by source.
    remote: std::net::IpAddr,
    failed_logins: Arc<FailedLogins>,
    /// The connection, whose pre-login transport limits are lifted at login.
    conn: quinn::Connection,
}

impl RelayPeer {
    /// Adds what the session did since the last call to the metrics and the device's
    /// contact record.
    fn report(&mut self) {
        let now = self.session.stats();
        self.hub.metrics().session_grew(&self.reported, &now);
        self.reported = now;
        if self.device.is_none()
            && let Some(grant) = self.session.grant()
            && !self.session.is_closed()
        {
            let device = grant.device_id.clone();
            self.hub.metrics().logins.inc();
            let agent = self.session.agent().unwrap_or_default();
            let began = tokio::task::block_in_place(|| self.hub.contact_began(&device, agent));
            if let Err(e) = began {
                tracing::warn!(error = %e, "cannot record the device's contact");
            }
            self.device = Some(device);
            // Before the Welcome leaves: a handset may open a bulk stream right after it.
            crate::tls::open_after_login(&self.conn);
        }
        if let Some(device) = &self.device {
            let cursor = self.session.client_cursor().and_then(cursor_seq);
            self.hub.contact_advanced(device, cursor);
        }
    }

    /// Records the end of the connection on the device's contact record.
    fn ended(&mut self) {
        self.report();
        let Some(device) = self.device.take() else {
            return;
        };
        let stats = self.session.stats();
        let refused = stats.refused_malformed
            + stats.refused_too_large
            + stats.refused_scope
            + stats.refused_admission;
        let error = self
            .session
            .close_reason()
            .map(|(code, why)| format!("{code:?}: {why}"));
        let end = ContactEnd {
            cursor: self.session.client_cursor().and_then(cursor_seq),
            refused,
            accepted: stats.changes_accepted,
            error,
        };
        if let Err(e) = self.hub.contact_ended(&device, end) {
            tracing::warn!(error = %e, "cannot record the end of the device's contact");
        }
    }
}

impl Peer for RelayPeer {
    type In = ClientMsg;
    type Out = RelayMsg;
    type Wake = RelayWake;
    type Output = Ended;

    fn poll_transmit(&mut self) -> Option<Transmit<RelayMsg>> {
        self.session.poll_transmit()
    }

    fn ends_run(&self, msg: &RelayMsg) -> bool {
        // A bootstrap's batches share one stream and one compression context; the run
        // (and its context) ends with the batch that leaves nothing more.
        !matches!(msg, RelayMsg::Batch { more: true, .. })
    }

    fn run_level(&self, msg: &RelayMsg, level: i32) -> i32 {
        // A bootstrap (once per new phone) gets the slower, tighter level; catching up on
        // the log, which a city's reconnect wave does for every phone at once, the cheaper
        // one (ADR 0015).
        match msg {
            RelayMsg::Batch {
                from: Cursor::Fresh | Cursor::Snapshot { .. },
                ..
            } => SNAPSHOT_LEVEL,
            _ => level,
        }
    }

    fn handle(&mut self, msg: ClientMsg) {
        let (session, hub) = (&mut self.session, self.hub.as_ref());
        let push = matches!(msg, ClientMsg::Push { .. });
        let arrived = std::time::Instant::now();
        tokio::task::block_in_place(|| session.handle(msg, now(), hub));
        if push {
            // `handle` returns once the push is durable and its PushAck queued.
            self.hub.metrics().push_acked(arrived.elapsed());
        }
        self.report();
    }

    fn frame_limits(&self) -> FrameLimits {
        // A stranger's first frame is small, never inflated far, never given a context.
        if self.session.awaiting_hello() {
            FrameLimits::BEFORE_LOGIN
        } else {
            FrameLimits::FULL
        }
    }

    fn accepts_bulk(&self) -> bool {
        // No stream beyond the control stream is read before the relay said Welcome.
        self.device.is_some()
    }

    fn malformed(&mut self, error: Error) {
        self.session.malformed(&error.to_string());
    }

    fn next_wake(&mut self) -> impl Future<Output = RelayWake> + Send {
        let (heads, revocations, shutdown) =
            (&mut self.heads, &mut self.revocations, &mut self.shutdown);
        let (awaiting_hello, hello_by) = (self.session.awaiting_hello(), self.hello_by);
        async move {
            tokio::select! {
                _ = tokio::time::sleep_until(hello_by), if awaiting_hello => RelayWake::HelloOverdue,
                changed = heads.changed() => match changed {
                    Ok(()) => RelayWake::LogAdvanced,
                    Err(_) => RelayWake::Shutdown,
                },
                changed = revocations.changed() => match changed {
                    Ok(()) => RelayWake::Revocation,
                    Err(_) => RelayWake::Shutdown,
                },
                _ = shutdown.changed() => RelayWake::Shutdown,
            }
        }
    }

    fn wake(&mut self, wake: RelayWake) -> Option<Ended> {
        let (session, hub) = (&mut self.session, self.hub.as_ref());
        match wake {
            RelayWake::LogAdvanced => {
                let live_before = session.stats().live_batches;
                tokio::task::block_in_place(|| session.log_advanced(hub));
                if session.stats().live_batches > live_before
                    && let Some(took) = hub.since_head_moved()
                {
                    hub.metrics().live_sent(took);
                }
            }
            RelayWake::Revocation => tokio::task::block_in_place(|| session.recheck(hub)),
            // Whatever the session was doing finished inside `handle` (a push is one
            // atomic commit), so nothing is half-written: the driver flushes, and `serve`
            // says goodbye.
            RelayWake::Shutdown => return Some(Ended::Shutdown),
            RelayWake::HelloOverdue => {
                tracing::info!("no Hello before the deadline: closing");
                session.hello_overdue();
            }
        }
        self.report();
        None
    }

    fn check(&mut self) -> Option<Ended> {
        if !self.session.is_closed() {
            return None;
        }
        if let Some((code, why)) = self.session.close_reason() {
            tracing::info!(?code, why, "session closed");
            if code == ErrorCode::Unauthorized {
                self.hub.metrics().login_failures.inc();
                if self.failed_logins.failed(self.remote) {
                    tracing::warn!(remote = %self.remote, "too many failed logins from this source: refusing it for a while");
                }
            }
        }
        Some(Ended::Done)
    }

    fn lost(&mut self, error: Error) -> Ended {
        match &error {
            // The relay failed to send (a batch over the frame limit): this device's sync
            // is stopped by something the relay holds, not by its link.
            Error::Protocol(_) | Error::Storage(_) | Error::Corrupt { .. } => {
                let device = self.session.grant().map(|g| g.name.clone());
                tracing::error!(%error, ?device, "the relay could not serve this device");
            }
            _ => tracing::debug!(%error, "connection lost"),
        }
        Ended::Done
    }
}

/// Serves one connection until the handset leaves, the session closes, or `shutdown` fires.
/// A connection that has not said Hello within `hello_deadline` is closed.
pub(crate) async fn serve(
    conn: quinn::Connection,
    hub: Arc<Hub>,
    shutdown: watch::Receiver<bool>,
    revocations: watch::Receiver<u64>,
    hello_deadline: Duration,
    failed_logins: Arc<FailedLogins>,
) -> Ended {
    let span = tracing::info_span!("conn", remote = %conn.remote_address());
    let hello_by = tokio::time::Instant::now() + hello_deadline;
    serve_inner(conn, hub, shutdown, revocations, hello_by, failed_logins)
        .instrument(span)
        .await
}

async fn serve_inner(
    conn: quinn::Connection,
    hub: Arc<Hub>,
    mut shutdown: watch::Receiver<bool>,
    revocations: watch::Receiver<u64>,
    hello_by: tokio::time::Instant,
    failed_logins: Arc<FailedLogins>,
) -> Ended {
    let mut streams = match tokio::select! {
        s = conn.accept_bi() => s,
        _ = shutdown.changed() => return Ended::Shutdown,
        _ = tokio::time::sleep_until(hello_by) => {
            tracing::info!("no stream before the Hello deadline: closing");
            conn.close(2u32.into(), b"no Hello before the deadline");
            return Ended::Done;
        }
    } {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, "connection ended before a stream opened");
            return Ended::Done;
        }
    };
    let mut peer = RelayPeer {
        session: RelaySession::new(now()),
        heads: hub.subscribe(),
        hub,
        revocations,
        shutdown,
        hello_by,
        reported: SessionStats::default(),
        device: None,
        remote: conn.remote_address().ip(),
        failed_logins,
        conn: conn.clone(),
    };
    let ended = drive(&conn, &mut streams, STREAM_LEVEL, &mut peer).await;
    tokio::task::block_in_place(|| peer.ended());
    match ended {
        Ended::Shutdown => conn.close(1u32.into(), b"relay shutting down"),
        // Give the error frame of a closed session a moment to leave.
        Ended::Done if peer.session.is_closed() => {
            let _ = tokio::time::timeout(GOODBYE, conn.closed()).await;
        }
        Ended::Done => {}
    }
    drop(streams);
    ended
}

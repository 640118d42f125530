//! The relay side of one connection, sans-IO: [`RelaySession`].
//!
//! States: `AwaitHello` → (Hello accepted) → `Active` → (error, revocation) → `Closed`;
//! a device the operator asked to wipe goes `AwaitHello` (or `Active`) → `Wiping` →
//! (Wiped, recorded) → `Closed`, and nothing it pushes is accepted.
//! The session checks the protocol order, authenticates, re-checks revocation on every
//! message, checks every pushed change ([`CheckedChange::check`](super::CheckedChange::check): parsed, in the grant's
//! scopes) before the backend sees it, holds every batch to the scopes, and answers pulls.
//! While the handset is caught up it sends new log entries unasked ([`RelaySession::log_advanced`]).
//!
//! Echo suppression is the session's alone: it remembers what this connection pushed and
//! leaves those changes out of its batches (the backend's pulls leave nothing out).

use std::collections::{HashSet, VecDeque};

use tracing::{debug, info, warn};

use super::backend::{DeviceGrant, RelayBackend};

use super::wire::{ClientMsg, Cursor, ErrorCode, PROTOCOL_VERSION, RelayMsg};
mod traffic;

use self::traffic::narrow;
use super::{Lane, SessionStats, Transmit, client_msg_kind};
use crate::error::{Denial, Error};
use crate::ids::{GridPath, Timestamp};

/// Smallest batch size a handset may ask for.
pub const MIN_PULL_BYTES: u32 = 4 * 1024;
/// Largest batch size a handset may ask for.
pub const MAX_PULL_BYTES: u32 = 1024 * 1024;
/// Batch size for live batches before the handset has pulled.
const DEFAULT_LIVE_BYTES: u32 = 256 * 1024;
/// Longest agent string kept from a Hello (the rest is cut off).
pub const MAX_AGENT_CHARS: usize = 64;
/// Most pushed changes remembered per connection to avoid echoing them back.
const MAX_ECHO_MEMORY: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitHello,
    Active,
    /// Told to erase itself; waiting for `Wiped`.
    Wiping,
    Closed,
}

/// The relay's state machine for one handset connection.
#[derive(Debug)]
pub struct RelaySession {
    state: State,
    grant: Option<DeviceGrant>,
    out: VecDeque<Transmit<RelayMsg>>,
    /// The cursor the handset reaches once it has applied every batch sent.
    client_cursor: Option<Cursor>,
    /// The last batch sent had `more == false`.
    caught_up: bool,
    /// The scopes the handset's last pull narrowed itself to, if it did (a bootstrap of
    /// newly granted grids); `None` for every granted scope.
    narrowed: Option<Vec<GridPath>>,
    live_bytes: u32,
    /// SHA-256 of every change this handset got accepted on this connection: it has
    /// them, so batches do not echo them back.
    pushed: HashSet<[u8; 32]>,
    close_reason: Option<(ErrorCode, String)>,
    /// What the handset's Hello said it runs (at most [`MAX_AGENT_CHARS`]).
    agent: Option<String>,
    stats: SessionStats,
    span: tracing::Span,
}

impl RelaySession {
    /// A session for a connection accepted at `now`, waiting for Hello. (`now` is not
    /// used yet: the driver keeps idle time.)
    pub fn new(_now: Timestamp) -> Self {
        RelaySession {
            state: State::AwaitHello,
            grant: None,
            out: VecDeque::new(),
            client_cursor: None,
            caught_up: false,
            narrowed: None,
            live_bytes: DEFAULT_LIVE_BYTES,
            pushed: HashSet::new(),
            close_reason: None,
            agent: None,
            stats: SessionStats::default(),
            span: tracing::info_span!("relay_session", device = tracing::field::Empty),
        }
    }

    /// Handles one message from the handset, arrived at `now` (not used yet). Failures are
    /// answered with [`RelayMsg::Error`] and close the session; messages after closing are
    /// ignored.
    pub fn handle(&mut self, msg: ClientMsg, _now: Timestamp, backend: &dyn RelayBackend) {
        let span = self.span.clone();
        let _entered = span.enter();
        if self.state == State::Closed {
            debug!(kind = client_msg_kind(&msg), "message after close ignored");
            return;
        }
        self.stats.messages_received += 1;
        let msg = match (self.state, msg) {
            (
                State::AwaitHello,
                ClientMsg::Hello {
                    version,
                    token,
                    agent,
                },
            ) => {
                return self.hello(version, &token, &agent, backend);
            }
            (State::Wiping, msg) => return self.on_wiping(msg, backend),
            (State::Active, ClientMsg::Hello { .. }) => {
                return self.close(ErrorCode::Malformed, "second Hello on one connection");
            }
            (State::AwaitHello, other) => {
                let kind = client_msg_kind(&other);
                return self.close(
                    ErrorCode::Malformed,
                    format!("expected Hello first, got {kind}"),
                );
            }
            (_, msg) => msg,
        };
        let Some(grant) = self.active_grant(backend) else {
            return;
        };
        match msg {
            ClientMsg::Push { id, changes } => self.push(&grant, id, changes, backend),
            ClientMsg::Pull {
                cursor,
                max_bytes,
                scopes,
            } => {
                self.live_bytes = max_bytes.clamp(MIN_PULL_BYTES, MAX_PULL_BYTES);
                self.narrowed = narrow(&grant, scopes);
                self.pull(&grant, cursor, false, backend);
            }
            ClientMsg::Pending { changes, bytes } => {
                if let Err(e) = backend.pending_reported(&grant.device_id, changes, bytes) {
                    self.fail(e);
                }
            }
            ClientMsg::Hello { .. } => {}
            ClientMsg::Wiped => self.close(ErrorCode::Malformed, "Wiped without a Wipe"),
        }
    }

    /// Tells the handset to erase itself; from now on only its `Wiped` counts.
    fn start_wipe(&mut self, grant: DeviceGrant) {
        warn!(name = %grant.name, "telling the device to erase itself (wipe requested)");
        self.state = State::Wiping;
        self.caught_up = false;
        self.send(
            RelayMsg::Wipe {
                device: grant.name.clone(),
            },
            Lane::Control,
        );
        self.grant = Some(grant);
    }

    /// A message from a handset told to erase itself: `Wiped` is recorded and ends the
    /// session; its pushes and pulls are not served.
    fn on_wiping(&mut self, msg: ClientMsg, backend: &dyn RelayBackend) {
        let Some(grant) = self.grant.clone() else {
            return self.close(ErrorCode::Internal, "wiping without a device");
        };
        match msg {
            ClientMsg::Wiped => match backend.wiped(&grant.device_id) {
                Ok(()) => {
                    info!(name = %grant.name, "the device erased its store");
                    let msg = format!("device {:?} was wiped", grant.name);
                    self.close(ErrorCode::Revoked, msg);
                }
                Err(e) => self.fail(e),
            },
            other => debug!(
                kind = client_msg_kind(&other),
                "ignored from a device being wiped"
            ),
        }
    }

    /// The driver could not decode a frame from the handset: close with `Malformed`.
    pub fn malformed(&mut self, detail: &str) {
        if self.state != State::Closed {
            self.close(ErrorCode::Malformed, format!("undecodable frame: {detail}"));
        }
    }

    /// Called by the driver when the relay's log head moved. Sends a live batch if, and
    /// only if, the handset is caught up (its last pull was answered with `more == false`).
    pub fn log_advanced(&mut self, backend: &dyn RelayBackend) {
        let span = self.span.clone();
        let _entered = span.enter();
        if self.state != State::Active || !self.caught_up {
            return;
        }
        let Some(cursor) = self.client_cursor.clone() else {
            return;
        };
        if self.narrowed.is_some() {
            return; // live batches follow only a cursor over every granted scope
        }
        let Some(grant) = self.active_grant(backend) else {
            return;
        };
        self.pull(&grant, cursor, true, backend);
    }

    /// Called by the driver when a device was revoked somewhere: re-checks this session's
    /// device and closes with `Revoked` at once if it was the one.
    pub fn recheck(&mut self, backend: &dyn RelayBackend) {
        if self.state == State::Active {
            let _ = self.active_grant(backend);
        }
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit<RelayMsg>> {
        let t = self.out.pop_front()?;
        self.stats.messages_sent += 1;
        Some(t)
    }

    /// True once the session has ended; the driver closes the connection after sending
    /// what `poll_transmit` still returns.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Why the session closed, if it did.
    pub fn close_reason(&self) -> Option<(ErrorCode, &str)> {
        self.close_reason
            .as_ref()
            .map(|(code, msg)| (*code, msg.as_str()))
    }

    /// Whether the session still waits for the handset's Hello.
    pub fn awaiting_hello(&self) -> bool {
        matches!(self.state, State::AwaitHello)
    }

    /// Closes a session whose handset has not said Hello by the connection's deadline (a
    /// stranger holding a connection slot); a session past Hello is left alone.
    pub fn hello_overdue(&mut self) {
        if self.awaiting_hello() {
            self.close(ErrorCode::Malformed, "no Hello before the deadline");
        }
    }

    /// The authenticated device, once Hello was accepted.
    pub fn grant(&self) -> Option<&DeviceGrant> {
        self.grant.as_ref()
    }

    /// True when the handset's last pull was answered with `more == false`.
    pub fn is_caught_up(&self) -> bool {
        self.state == State::Active && self.caught_up
    }

    /// The cursor the handset reaches once it has applied every batch sent, if it pulled.
    pub fn client_cursor(&self) -> Option<&Cursor> {
        self.client_cursor.as_ref()
    }

    /// What the handset's Hello said it runs (`gridsync-cli 0.1`, the app's version).
    pub fn agent(&self) -> Option<&str> {
        self.agent.as_deref()
    }

    /// Message and entry counters.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    fn hello(&mut self, version: u16, token: &str, agent: &str, backend: &dyn RelayBackend) {
        if version != PROTOCOL_VERSION {
            let msg = format!(
                "this relay speaks protocol version {PROTOCOL_VERSION}, the handset {version}: update the app"
            );
            return self.close(ErrorCode::UnsupportedVersion, msg);
        }
        let grant = match backend.authenticate(token) {
            Ok(grant) => grant,
            Err(e) => return self.fail(e),
        };
        let (head, lineage) = match backend.head().and_then(|h| Ok((h, backend.lineage()?))) {
            Ok(found) => found,
            Err(e) => return self.fail(e),
        };
        self.span.record("device", grant.device_id.as_str());
        match backend.wipe_requested(&grant.device_id) {
            Ok(false) => {}
            Ok(true) => return self.start_wipe(grant),
            Err(e) => return self.fail(e),
        }
        self.agent = Some(agent.chars().take(MAX_AGENT_CHARS).collect());
        info!(agent, name = %grant.name, worker = %grant.grants.worker, scopes = grant.scopes().len(), "handset connected");
        self.state = State::Active;
        self.send(
            RelayMsg::Welcome {
                device: grant.name.clone(),
                grants: grant.grants.clone(),
                head,
                lineage,
            },
            Lane::Control,
        );
        self.grant = Some(grant);
    }

    /// The grant, if the device is still active; otherwise closes the session.
    fn active_grant(&mut self, backend: &dyn RelayBackend) -> Option<DeviceGrant> {
        let grant = self.grant.clone()?;
        match backend.still_active(&grant.device_id) {
            Ok(true) => Some(grant),
            Ok(false) if backend.wipe_requested(&grant.device_id).unwrap_or(false) => {
                self.start_wipe(grant);
                None
            }
            Ok(false) => {
                let msg = format!("device {:?} has been revoked", grant.name);
                self.close(ErrorCode::Revoked, msg);
                None
            }
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    fn send(&mut self, msg: RelayMsg, lane: Lane) {
        self.out.push_back(Transmit { msg, lane });
    }

    /// Closes the session after a backend failure, with the code the error calls for.
    fn fail(&mut self, error: Error) {
        let (code, message) = match &error {
            // The handset rebuilds the typed denial from the code; the detail is the text.
            Error::Denied { denial, detail } => {
                let code = match denial {
                    Denial::Revoked => ErrorCode::Revoked,
                    Denial::UnknownToken => ErrorCode::Unauthorized,
                };
                (code, detail.clone())
            }
            Error::Invalid { .. } | Error::Corrupt { .. } | Error::Protocol(_) => {
                (ErrorCode::Malformed, error.to_string())
            }
            _ => {
                tracing::error!(%error, "relay backend failed");
                (
                    ErrorCode::Internal,
                    "the relay failed internally; retry later".to_string(),
                )
            }
        };
        self.close(code, message);
    }

    fn close(&mut self, code: ErrorCode, message: impl Into<String>) {
        let message = message.into();
        warn!(?code, %message, "closing session");
        self.state = State::Closed;
        self.caught_up = false;
        self.send(
            RelayMsg::Error {
                code,
                message: message.clone(),
            },
            Lane::Control,
        );
        self.close_reason = Some((code, message));
    }
}

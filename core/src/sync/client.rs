//! The handset side of one connection, sans-IO: [`ClientSession`].
//!
//! States: `Idle` → `start` → `AwaitWelcome` → Welcome → `Connected` → (error) → `Closed`;
//! a Wipe (instead of Welcome, or on a live connection) erases the store, answers Wiped
//! and waits in `Wiped` for the relay's goodbye, which ends it with [`Error::Wiped`].
//! `start` sends Hello, the outbox's size, the first outbox chunk and a Pull in one
//! flight, so a reconnect costs one round trip. Welcome's lineage is handled first: a relay
//! restored from a backup gets the handset's acknowledged work again (ADR 0012). One push is in flight at a time (so pushes stay in outbox order
//! even on bulk streams); each acknowledgement releases the next chunk. Pulls follow the
//! persisted cursor: every batch is applied together with its `next` cursor. Grids newly
//! granted since that cursor began are then pulled from their start, narrowed to them,
//! before the session counts as caught up (`client/pull.rs`).

mod ack;
mod pull;
mod push;
mod wipe;

use std::collections::VecDeque;

use tracing::{debug, info, warn};

use self::push::Pushes;
use super::backend::{Bootstrap, HandsetBackend, RefusedChange};
use super::wire::{ClientMsg, Cursor, ErrorCode, PROTOCOL_VERSION, RelayMsg};
use super::{BULK_THRESHOLD, Lane, SessionStats, Transmit, relay_msg_kind};
use crate::error::{Denial, Error, Result};
use crate::ids::{DocId, Timestamp};
use crate::model::Grants;

/// Smallest push chunk a session builds.
const MIN_PUSH_BYTES: usize = 1024;
/// Largest push chunk a session builds (well under the frame limit).
const MAX_PUSH_BYTES: usize = 4 * 1024 * 1024;

/// How a handset connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The device's enrollment token.
    pub token: String,
    /// Free text identifying the app for the relay's logs.
    pub agent: String,
    /// Change bytes per push (clamped to 1 KiB..=4 MiB; a single bigger change still goes).
    pub max_push_bytes: usize,
    /// Entry bytes per pulled batch (the relay clamps it to 4 KiB..=1 MiB).
    pub max_pull_bytes: u32,
}

impl ClientConfig {
    /// A configuration with 256 KiB pushes and pulls.
    pub fn new(token: impl Into<String>) -> Self {
        ClientConfig {
            token: token.into(),
            agent: concat!("gridsync-core/", env!("CARGO_PKG_VERSION")).to_string(),
            max_push_bytes: 256 * 1024,
            max_pull_bytes: 256 * 1024,
        }
    }
}

/// What happened on the connection, for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The relay accepted the token.
    Connected {
        /// The device's enrolled name.
        device: String,
        /// Who the device writes as, in which roles and grids (now stored by the backend).
        grants: Grants,
    },
    /// A batch changed these documents; `cursor` is now persisted.
    Applied {
        /// Documents that changed.
        docs: Vec<DocId>,
        /// The new persisted cursor.
        cursor: Cursor,
    },
    /// This many local changes are durable on the relay and left the outbox.
    Acknowledged {
        /// Number of changes.
        count: usize,
    },
    /// The relay refused a local change. The backend has recorded it as refused: it left
    /// the pending outbox and is never pushed again; the record keeps it until the user
    /// discards it.
    Refused(RefusedChange),
    /// The relay was restored from a backup older than what this handset held: the cursor
    /// moved back, and `requeued` changes it had acknowledged are pushed again.
    RelayRestored {
        /// Acknowledged changes put back into the outbox.
        requeued: u64,
    },
    /// Nothing is outstanding: the last batch said no more, and every pushed change was
    /// acknowledged or refused.
    CaughtUp,
    /// The session ended; the error says why (typed, so the app can act on it).
    Failed(Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    AwaitWelcome,
    Connected,
    /// Erased at the relay's word; waiting for its goodbye.
    Wiped,
    Closed,
}

/// The handset's state machine for one connection to the relay.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    phase: Phase,
    out: VecDeque<Transmit<ClientMsg>>,
    events: VecDeque<ClientEvent>,
    cursor: Cursor,
    /// The cursor of the outstanding pull.
    pulling: Option<Cursor>,
    /// A batch was ignored (or more is waiting): pull once no pull is outstanding.
    repull: bool,
    /// The last applied batch said `more == false`.
    synced: bool,
    /// The pull of newly granted grids still to run on this connection, if any.
    boot: Option<Bootstrap>,
    /// The outstanding pull is the bootstrap's.
    boot_pulling: bool,
    pushes: Pushes,
    /// The push queued last took everything the outbox held.
    push_drained: bool,
    caught_up: bool,
    stats: SessionStats,
    span: tracing::Span,
}

impl ClientSession {
    /// A session that has not started yet.
    pub fn new(config: ClientConfig) -> Self {
        let span = tracing::info_span!("client_session", agent = %config.agent);
        ClientSession {
            config,
            phase: Phase::Idle,
            out: VecDeque::new(),
            events: VecDeque::new(),
            cursor: Cursor::Fresh,
            pulling: None,
            repull: false,
            synced: false,
            boot: None,
            boot_pulling: false,
            pushes: Pushes::new(),
            push_drained: false,
            caught_up: false,
            stats: SessionStats::default(),
            span,
        }
    }

    /// Queues the first flight: Hello, the first outbox chunk (if any) and a Pull from
    /// the persisted cursor. Fails if already started or the backend cannot be read.
    pub fn start(&mut self, backend: &dyn HandsetBackend, _now: Timestamp) -> Result<()> {
        let span = self.span.clone();
        let _entered = span.enter();
        if self.phase != Phase::Idle {
            return Err(Error::Protocol("the session was already started".into()));
        }
        self.cursor = backend.cursor()?;
        let hello = ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            token: self.config.token.clone(),
            agent: self.config.agent.clone(),
        };
        self.queue(hello, Lane::Control);
        let (changes, bytes) = backend.pending_outbox()?;
        self.queue(ClientMsg::Pending { changes, bytes }, Lane::Control);
        self.phase = Phase::AwaitWelcome;
        if let Err(e) = self.push_next(backend) {
            self.fail(&e);
            return Err(e);
        }
        self.send_pull();
        debug!(cursor = ?self.cursor, "session started");
        Ok(())
    }

    /// Handles one message from the relay. On `Err` the session is closed and a
    /// [`ClientEvent::Failed`] with the same error is queued; messages after closing are
    /// ignored. Time is passed in, as everywhere in the protocol (no timer uses it yet).
    pub fn handle(
        &mut self,
        msg: RelayMsg,
        _now: Timestamp,
        backend: &mut dyn HandsetBackend,
    ) -> Result<()> {
        let span = self.span.clone();
        let _entered = span.enter();
        match self.phase {
            Phase::Closed => return Ok(()),
            Phase::Idle => {
                let e = Error::Protocol(format!(
                    "{} before the session started",
                    relay_msg_kind(&msg)
                ));
                self.fail(&e);
                return Err(e);
            }
            Phase::Wiped => return self.after_wipe(msg),
            Phase::AwaitWelcome | Phase::Connected => {}
        }
        self.stats.messages_received += 1;
        let result = match msg {
            RelayMsg::Welcome {
                device,
                grants,
                head,
                lineage,
            } => {
                if self.phase == Phase::AwaitWelcome {
                    info!(%device, worker = %grants.worker, head, "connected");
                    self.phase = Phase::Connected;
                    self.rejoin(&lineage, backend)?;
                    backend.set_grants(&grants)?;
                    self.boot = backend.bootstrap()?;
                    self.events
                        .push_back(ClientEvent::Connected { device, grants });
                    Ok(())
                } else {
                    Err(Error::Protocol("second Welcome on one connection".into()))
                }
            }
            RelayMsg::PushAck {
                id,
                head,
                refused,
                deferred,
            } => self.on_ack(id, head, refused, &deferred, backend),
            RelayMsg::Batch {
                from,
                next,
                entries,
                more,
                live,
            } => self.on_batch(from, next, &entries, more, live, backend),
            RelayMsg::Error { code, message } => Err(relay_error(code, message)),
            RelayMsg::Wipe { device } => return self.wipe(&device, backend),
        };
        match result {
            Ok(()) => {
                self.note_caught_up();
                Ok(())
            }
            Err(e) => {
                self.fail(&e);
                Err(e)
            }
        }
    }

    /// The app committed local changes while connected: push them (after the push in
    /// flight, if any). A failure to read the outbox is returned and changes nothing.
    pub fn local_changes(&mut self, backend: &dyn HandsetBackend) -> Result<()> {
        let span = self.span.clone();
        let _entered = span.enter();
        if matches!(self.phase, Phase::AwaitWelcome | Phase::Connected) {
            self.push_next(backend)?;
            self.caught_up = self.caught_up && !self.pushes.in_flight();
        }
        Ok(())
    }

    /// Ends the session from the driver's side (undecodable frame, lost connection).
    pub fn fail(&mut self, error: &Error) {
        if self.phase == Phase::Closed {
            return;
        }
        warn!(%error, "session failed");
        self.phase = Phase::Closed;
        self.caught_up = false;
        self.out.clear();
        self.events.push_back(ClientEvent::Failed(error.clone()));
    }

    /// The next message to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit<ClientMsg>> {
        let t = self.out.pop_front()?;
        self.stats.messages_sent += 1;
        Some(t)
    }

    /// The next event for the app, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Whether the push queued last took everything the outbox held, so that its bulk
    /// run can end after it: an idle live handset then holds no compression context, and
    /// the relay no decompression context for it (issue 16).
    pub fn push_drained_outbox(&self) -> bool {
        self.push_drained
    }

    /// True when connected with nothing outstanding in either direction.
    pub fn is_caught_up(&self) -> bool {
        self.caught_up
    }

    /// True once the store was erased at the relay's word (a remote wipe).
    pub fn is_wiped(&self) -> bool {
        self.phase == Phase::Wiped
    }

    /// True once the session has failed or was ended.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The cursor the handset stands at (as persisted by the backend).
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// Message, entry and change counters.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Sends the next outbox chunk unless a push is in flight.
    fn push_next(&mut self, backend: &dyn HandsetBackend) -> Result<()> {
        let max = self
            .config
            .max_push_bytes
            .clamp(MIN_PUSH_BYTES, MAX_PUSH_BYTES);
        let Some((id, changes)) = self.pushes.next_chunk(backend, max)? else {
            return Ok(());
        };
        let bytes: usize = changes.iter().map(|c| c.bytes.len()).sum();
        // Nothing after this chunk in the outbox: the run can end with it.
        self.push_drained = backend
            .outbox_after(self.pushes.sent_through(), 1)?
            .is_empty();
        self.stats.changes += changes.len() as u64;
        // Before Welcome everything goes in order behind Hello on the control stream.
        let lane = if self.phase == Phase::Connected && bytes > BULK_THRESHOLD {
            Lane::Bulk
        } else {
            Lane::Control
        };
        debug!(id, changes = changes.len(), bytes, "push");
        self.queue(ClientMsg::Push { id, changes }, lane);
        Ok(())
    }

    fn queue(&mut self, msg: ClientMsg, lane: Lane) {
        self.out.push_back(Transmit { msg, lane });
    }

    /// Emits [`ClientEvent::CaughtUp`] when the session becomes caught up.
    fn note_caught_up(&mut self) {
        let now = self.phase == Phase::Connected
            && self.pulling.is_none()
            && !self.repull
            && self.synced
            && self.boot.is_none()
            && !self.pushes.in_flight();
        if now && !self.caught_up {
            debug!("caught up");
            self.events.push_back(ClientEvent::CaughtUp);
        }
        self.caught_up = now;
    }
}

/// The typed error for the relay's closing [`RelayMsg::Error`]: the code decides the kind,
/// so the app can act on it without reading the text.
fn relay_error(code: ErrorCode, message: String) -> Error {
    match code {
        ErrorCode::Unauthorized => Error::denied(Denial::UnknownToken, message),
        ErrorCode::Revoked => Error::denied(Denial::Revoked, message),
        ErrorCode::UnsupportedVersion => Error::VersionMismatch {
            ours: PROTOCOL_VERSION,
            detail: message,
        },
        ErrorCode::Malformed | ErrorCode::Internal => {
            Error::Protocol(format!("relay closed the connection ({code:?}): {message}"))
        }
    }
}

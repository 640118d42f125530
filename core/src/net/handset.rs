//! The handset's end of a connection for the [`driver`](super::driver): a
//! [`ClientSession`] over the [`Replica`], reporting to the [`SyncClient`]'s status and
//! counters, woken by local writes and by the app's stop.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use super::client::SyncClient;
use super::driver::Peer;
use super::status::{LinkState, SyncReport};
use crate::error::{Error, Result};
use crate::ids::now;
use crate::replica::Replica;
use crate::sync::wire::{ClientMsg, RelayMsg};
use crate::sync::{ClientEvent, ClientSession, Transmit};

/// What wakes the handset's end.
pub(super) enum HandsetWake {
    /// The app committed local changes: push them.
    LocalChange,
    /// The app asked the live session to stop.
    Stop,
}

/// One connection's handset end.
pub(super) struct HandsetPeer<'a> {
    /// The session.
    pub session: ClientSession,
    /// What the connection did so far.
    pub report: SyncReport,
    client: &'a SyncClient,
    replica: &'a Replica,
    until_caught_up: bool,
    stop: Option<Arc<Notify>>,
}

impl<'a> HandsetPeer<'a> {
    /// A started session for `client`. `until_caught_up` ends the connection's work once
    /// nothing is outstanding; otherwise it stays live until `stop`.
    pub fn start(
        client: &'a SyncClient,
        replica: &'a Replica,
        until_caught_up: bool,
        stop: Option<Arc<Notify>>,
    ) -> Result<Self> {
        let mut session = ClientSession::new(client.session_config().clone());
        session.start(&replica, now())?;
        Ok(HandsetPeer {
            session,
            report: SyncReport::default(),
            client,
            replica,
            until_caught_up,
            stop,
        })
    }
}

impl Peer for HandsetPeer<'_> {
    type In = RelayMsg;
    type Out = ClientMsg;
    type Wake = HandsetWake;
    type Output = Result<()>;

    fn poll_transmit(&mut self) -> Option<Transmit<ClientMsg>> {
        self.session.poll_transmit()
    }

    fn ends_run(&self, msg: &ClientMsg) -> bool {
        // A backlog's pushes share one bulk run (and compression context); the run ends
        // with the push that drained the outbox, so an idle live handset holds none.
        matches!(msg, ClientMsg::Push { .. }) && self.session.push_drained_outbox()
    }

    fn handle(&mut self, msg: RelayMsg) {
        self.report.messages_received += 1;
        self.client.count_received(0, 1);
        let mut backend: &Replica = self.replica;
        let batch = matches!(msg, RelayMsg::Batch { .. });
        let started = Instant::now();
        // An error closes the session and queues `Failed`, which `check` returns.
        let _ = self.session.handle(msg, now(), &mut backend);
        if batch {
            self.report.apply_time += started.elapsed();
        }
    }

    fn malformed(&mut self, error: Error) {
        self.session.fail(&error);
    }

    fn next_wake(&mut self) -> impl Future<Output = HandsetWake> + Send {
        let local = self.client.local_change_signal();
        let stop = self.stop.clone();
        async move {
            let stopped = async {
                match &stop {
                    Some(s) => s.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = local.notified() => HandsetWake::LocalChange,
                _ = stopped => HandsetWake::Stop,
            }
        }
    }

    fn wake(&mut self, wake: HandsetWake) -> Option<Result<()>> {
        match wake {
            HandsetWake::LocalChange => self.session.local_changes(&self.replica).err().map(Err),
            HandsetWake::Stop => Some(Ok(())),
        }
    }

    fn check(&mut self) -> Option<Result<()>> {
        let mut failed = None;
        while let Some(ev) = self.session.poll_event() {
            match ev {
                ClientEvent::Connected { .. } => self.client.set_state(LinkState::Syncing, None),
                ClientEvent::Applied { docs, .. } => {
                    self.report.documents_changed += docs.len() as u64
                }
                ClientEvent::Acknowledged { count } => self.report.acknowledged += count as u64,
                ClientEvent::Refused(r) => self.report.refused.push(r),
                ClientEvent::RelayRestored { requeued } => {
                    self.report.resent_after_restore += requeued
                }
                ClientEvent::CaughtUp => {
                    self.report.caught_up = true;
                    self.client.set_ok(LinkState::Live);
                }
                ClientEvent::Failed(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            return Some(Err(e));
        }
        if self.session.is_closed() {
            return Some(Err(Error::Protocol("the session closed".into())));
        }
        (self.until_caught_up && self.session.is_caught_up()).then_some(Ok(()))
    }

    fn lost(&mut self, error: Error) -> Result<()> {
        if self.session.is_wiped() {
            // The store is gone whether or not the relay heard the answer.
            return Err(Error::Wiped);
        }
        Err(error)
    }

    fn sent(&mut self, messages: usize, bytes: usize) {
        self.report.bytes_sent += bytes as u64;
        self.report.messages_sent += messages as u64;
        self.report.round_trips += 1;
        self.client.count_sent(bytes as u64, messages as u64);
    }

    fn received(&mut self, bytes: usize) {
        self.report.bytes_received += bytes as u64;
        self.client.count_received(bytes as u64, 0);
    }
}

//! The one connection driver, for both ends: it runs a sans-IO session (the handset's
//! [`ClientSession`](crate::sync::ClientSession) or the relay's
//! [`RelaySession`](crate::sync::RelaySession)) over one quinn connection, the way quinn's
//! async layer drives quinn-proto.
//!
//! One bidirectional stream carries control messages in order; bulk messages travel on
//! unidirectional streams ([`super::lanes`]). Each turn of the loop writes everything the
//! session queued, asks the end whether it is done, then waits for the first of: bytes on
//! the control stream, a new bulk stream, a message from a bulk stream, or a wake-up of the
//! end's own (a local write on the handset; the log advancing, a revocation or shutdown on
//! the relay). What differs between the ends lives behind [`Peer`]; bulk streams are
//! accepted only while [`Peer::accepts_bulk`] says so (the relay: once it said Welcome).

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::lanes::{BulkRead, BulkReceiver, BulkSender};
use crate::error::{Error, Result};
use crate::sync::frame::{FrameDecoder, FrameEncoder, FrameLimits};
use crate::sync::{Lane, Transmit};

/// Size of the control stream's read buffer.
const READ_BUFFER: usize = 64 * 1024;

/// One end of a sync connection as the driver sees it: a session plus what that end does
/// around it (blocking storage calls, status, counters, its own wake-ups).
pub trait Peer {
    /// Messages this end receives.
    type In: DeserializeOwned + Send + 'static;
    /// Messages this end sends.
    type Out: Serialize;
    /// What wakes this end besides the other end's messages.
    type Wake;
    /// What the driver returns when the connection's work ends.
    type Output;

    /// The next message the session queued, if any.
    fn poll_transmit(&mut self) -> Option<Transmit<Self::Out>>;
    /// Whether a bulk message is the last of its run (the run's stream, and its shared
    /// compression context, end after it).
    fn ends_run(&self, msg: &Self::Out) -> bool;
    /// The zstd level of a run that `msg` opens; `level` is the driver's (`drive`'s
    /// `bulk_level`), which this end may raise or lower for the kind of run.
    fn run_level(&self, _msg: &Self::Out, level: i32) -> i32 {
        level
    }
    /// Feeds one decoded message to the session.
    fn handle(&mut self, msg: Self::In);
    /// Input from the other end could not be decoded; the session decides what follows.
    fn malformed(&mut self, error: Error);
    /// Waits for this end's next wake-up. Dropped and made again every turn, so it must
    /// not lose a wake-up that happens in between (`Notify` keeps a permit, `watch` a
    /// version).
    fn next_wake(&mut self) -> impl Future<Output = Self::Wake> + Send;
    /// Acts on a wake-up; `Some` ends the connection's work (after a last flush).
    fn wake(&mut self, wake: Self::Wake) -> Option<Self::Output>;
    /// Called after every flush: `Some` ends the connection's work.
    fn check(&mut self) -> Option<Self::Output>;
    /// The connection or one of its streams failed; what the driver returns.
    fn lost(&mut self, error: Error) -> Self::Output;
    /// What the next control-stream frames may be (the relay reads a stranger's first
    /// frame under [`FrameLimits::BEFORE_LOGIN`]).
    fn frame_limits(&self) -> FrameLimits {
        FrameLimits::FULL
    }
    /// Whether the other end's bulk streams are accepted and read now. While `false` the
    /// driver leaves them to QUIC (the relay advertises no bulk streams before a Welcome,
    /// so a stranger has none to open, and keeps its receive window small).
    fn accepts_bulk(&self) -> bool {
        true
    }
    /// A flush wrote `messages` messages in `bytes` frame bytes (called only when > 0).
    fn sent(&mut self, _messages: usize, _bytes: usize) {}
    /// `bytes` frame bytes arrived.
    fn received(&mut self, _bytes: usize) {}
}

/// Runs `peer` over `conn` until it says it is done or the connection fails. `streams` is
/// the control stream; `bulk_level` the zstd level of this end's bulk runs. The control
/// stream's sending side is finished and any open bulk run ended before it returns. The
/// caller keeps the streams: dropping the receiving side tells the other end to stop
/// sending, so a relay keeps it while its closing error frame leaves (else the handset's
/// next write fails with "stopped by peer" before it reads why).
pub async fn drive<P: Peer>(
    conn: &quinn::Connection,
    streams: &mut (quinn::SendStream, quinn::RecvStream),
    bulk_level: i32,
    peer: &mut P,
) -> P::Output {
    let (send, recv) = streams;
    let mut out = Outgoing {
        encoder: FrameEncoder::default(),
        bulk: BulkSender::with_level(bulk_level),
    };
    let mut decoder: FrameDecoder<P::In> = FrameDecoder::new();
    let mut bulk_in: BulkReceiver<P::In> = BulkReceiver::new();
    let mut buf = vec![0u8; READ_BUFFER];
    let output = loop {
        if let Err(e) = out.flush(peer, send, conn).await {
            break peer.lost(e);
        }
        if let Some(done) = peer.check() {
            break done;
        }
        tokio::select! {
            read = recv.read(&mut buf) => match read {
                Ok(Some(n)) => {
                    peer.received(n);
                    feed(peer, &mut decoder, &buf[..n]);
                }
                Ok(None) => break peer.lost(Error::network("the other end closed the stream")),
                Err(e) => break peer.lost(Error::network(format!("connection lost: {e}"))),
            },
            uni = conn.accept_uni(), if peer.accepts_bulk() => match uni {
                Ok(s) => bulk_in.add(s),
                Err(e) => break peer.lost(Error::network(format!("connection lost: {e}"))),
            },
            read = bulk_in.next() => match read {
                BulkRead::Bytes(n) => peer.received(n),
                BulkRead::Message(msg) => peer.handle(msg),
                BulkRead::Failed(e @ Error::Network(_)) => break peer.lost(e),
                BulkRead::Failed(e) => peer.malformed(e),
            },
            wake = peer.next_wake() => {
                if let Some(done) = peer.wake(wake) {
                    // Whatever the wake-up queued (the relay's goodbye) still goes out.
                    let _ = out.flush(peer, send, conn).await;
                    break done;
                }
            }
        }
    };
    out.bulk.end();
    let _ = send.finish();
    output
}

/// The writing half: the control stream's encoder and the bulk lane.
struct Outgoing {
    encoder: FrameEncoder,
    bulk: BulkSender,
}

impl Outgoing {
    /// Writes everything the session queued, each message on its lane.
    async fn flush<P: Peer>(
        &mut self,
        peer: &mut P,
        send: &mut quinn::SendStream,
        conn: &quinn::Connection,
    ) -> Result<()> {
        let (mut messages, mut bytes) = (0, 0);
        while let Some(Transmit { msg, lane }) = peer.poll_transmit() {
            bytes += match lane {
                Lane::Control => {
                    let frame = self.encoder.encode::<P::Out>(&msg)?;
                    send.write_all(&frame).await.map_err(Error::network)?;
                    frame.len()
                }
                Lane::Bulk => {
                    let last = peer.ends_run(&msg);
                    let level = peer.run_level(&msg, self.bulk.level());
                    self.bulk.send(conn, &msg, last, level).await?
                }
            };
            messages += 1;
        }
        if messages > 0 {
            peer.sent(messages, bytes);
        }
        Ok(())
    }
}

/// Decodes the control stream's bytes and hands each whole message to the session; an
/// undecodable frame goes to [`Peer::malformed`] and the rest of the read is dropped.
fn feed<P: Peer>(peer: &mut P, decoder: &mut FrameDecoder<P::In>, bytes: &[u8]) {
    decoder.set_limits(peer.frame_limits());
    if let Err(e) = decoder.push(bytes) {
        peer.malformed(e);
        return;
    }
    loop {
        // Each message may change what the next may be (a Hello accepted).
        decoder.set_limits(peer.frame_limits());
        match decoder.pop() {
            Ok(Some(msg)) => peer.handle(msg),
            Ok(None) => return,
            Err(e) => {
                peer.malformed(e);
                return;
            }
        }
    }
}

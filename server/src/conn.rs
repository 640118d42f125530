//! One handset connection: decodes frames from the control stream and from unidirectional
//! streams, feeds them to the sans-IO [`RelaySession`], writes what it queues, and wakes
//! it when the log advances or a device is revoked. Storage calls block, so they run under
//! `block_in_place` on the multi-threaded runtime.

use std::sync::Arc;

use gridsync_core::net::lanes::{BulkRead, BulkReceiver, BulkSender};
use gridsync_core::sync::frame::{FrameDecoder, FrameEncoder};
use gridsync_core::sync::wire::{ClientMsg, RelayMsg};
use gridsync_core::sync::{Lane, RelaySession};
use tokio::sync::watch;

use crate::hub::Hub;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Why a connection task ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The handset went away or the session closed.
    Done,
    /// The relay is shutting down.
    Shutdown,
}

async fn flush(
    session: &mut RelaySession,
    send: &mut quinn::SendStream,
    encoder: &FrameEncoder,
    bulk: &mut BulkSender,
    conn: &quinn::Connection,
) -> Result<(), String> {
    while let Some(t) = session.poll_transmit() {
        match t.lane {
            Lane::Control => {
                let bytes = encoder
                    .encode::<RelayMsg>(&t.msg)
                    .map_err(|e| e.to_string())?;
                send.write_all(&bytes).await.map_err(|e| e.to_string())?;
            }
            Lane::Bulk => {
                // A bootstrap's batches share one stream and one compression context;
                // the run (and its context) ends with the batch that leaves nothing more.
                let last = !matches!(t.msg, RelayMsg::Batch { more: true, .. });
                bulk.send(conn, &t.msg, last)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

fn feed(
    session: &mut RelaySession,
    decoder: &mut FrameDecoder<ClientMsg>,
    bytes: &[u8],
    hub: &Hub,
) {
    if let Err(e) = decoder.push(bytes) {
        session.malformed(&e.to_string());
        return;
    }
    loop {
        match decoder.pop() {
            Ok(Some(msg)) => tokio::task::block_in_place(|| session.handle(msg, now(), hub)),
            Ok(None) => return,
            Err(e) => {
                session.malformed(&e.to_string());
                return;
            }
        }
    }
}

/// Serves one connection until the handset leaves, the session closes, or `shutdown` fires.
pub(crate) async fn serve(
    conn: quinn::Connection,
    hub: Arc<Hub>,
    mut shutdown: watch::Receiver<bool>,
    mut revocations: watch::Receiver<u64>,
) -> Ended {
    let remote = conn.remote_address();
    let span = tracing::info_span!("conn", %remote);
    let _e = span.enter();
    let (mut send, mut recv) = match tokio::select! {
        s = conn.accept_bi() => s,
        _ = shutdown.changed() => return Ended::Shutdown,
    } {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, "connection ended before a stream opened");
            return Ended::Done;
        }
    };
    let mut session = RelaySession::new(now());
    let encoder = FrameEncoder::default();
    let mut decoder: FrameDecoder<ClientMsg> = FrameDecoder::new();
    let mut bulk_out = BulkSender::default();
    let mut bulk_in: BulkReceiver<ClientMsg> = BulkReceiver::new();
    let mut heads = hub.subscribe();
    let mut buf = vec![0u8; 64 * 1024];
    let ended = loop {
        if let Err(e) = flush(&mut session, &mut send, &encoder, &mut bulk_out, &conn).await {
            tracing::debug!(error = %e, "write failed");
            break Ended::Done;
        }
        if session.is_closed() {
            if let Some((code, why)) = session.close_reason() {
                tracing::info!(?code, why, "session closed");
            }
            bulk_out.end();
            let _ = send.finish();
            // Give the error frame a moment to leave before the connection closes.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), conn.closed()).await;
            break Ended::Done;
        }
        tokio::select! {
            read = recv.read(&mut buf) => match read {
                Ok(Some(n)) => feed(&mut session, &mut decoder, &buf[..n], &hub),
                Ok(None) | Err(_) => break Ended::Done,
            },
            uni = conn.accept_uni() => match uni {
                Ok(s) => bulk_in.add(s),
                Err(_) => break Ended::Done,
            },
            read = bulk_in.next() => match read {
                BulkRead::Bytes(_) => {}
                BulkRead::Message(msg) => {
                    tokio::task::block_in_place(|| session.handle(msg, now(), hub.as_ref()))
                }
                BulkRead::Failed(gridsync_core::Error::Network(e)) => {
                    tracing::debug!(error = %e, "bulk stream lost");
                    break Ended::Done;
                }
                BulkRead::Failed(e) => session.malformed(&e.to_string()),
            },
            changed = heads.changed() => {
                if changed.is_err() { break Ended::Shutdown; }
                tokio::task::block_in_place(|| session.log_advanced(hub.as_ref()));
            }
            changed = revocations.changed() => {
                if changed.is_err() { break Ended::Shutdown; }
                tokio::task::block_in_place(|| session.recheck(hub.as_ref()));
            }
            _ = shutdown.changed() => {
                // Whatever the session was doing finished inside `handle` (a push is one
                // atomic commit), so nothing is half-written: say goodbye and go.
                let _ = flush(&mut session, &mut send, &encoder, &mut bulk_out, &conn).await;
                conn.close(1u32.into(), b"relay shutting down");
                break Ended::Shutdown;
            }
        }
    };
    drop(_e);
    ended
}

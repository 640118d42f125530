//! One handset connection: decodes frames from the control stream and from unidirectional
//! streams, feeds them to the sans-IO [`RelaySession`], writes what it queues, and wakes
//! it when the log advances or a device is revoked. Storage calls block, so they run under
//! `block_in_place` on the multi-threaded runtime.

use std::sync::Arc;

use gridsync_core::sync::frame::{FrameDecoder, FrameEncoder, MAX_FRAME};
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
    conn: &quinn::Connection,
    send: &mut quinn::SendStream,
    encoder: &FrameEncoder,
) -> Result<(), String> {
    while let Some(t) = session.poll_transmit() {
        let bytes = encoder
            .encode::<RelayMsg>(&t.msg)
            .map_err(|e| e.to_string())?;
        match t.lane {
            Lane::Control => send.write_all(&bytes).await.map_err(|e| e.to_string())?,
            Lane::Bulk => {
                let mut s = conn.open_uni().await.map_err(|e| e.to_string())?;
                s.write_all(&bytes).await.map_err(|e| e.to_string())?;
                s.finish().map_err(|e| e.to_string())?;
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
    let mut heads = hub.subscribe();
    let mut buf = vec![0u8; 64 * 1024];
    let ended = loop {
        if let Err(e) = flush(&mut session, &conn, &mut send, &encoder).await {
            tracing::debug!(error = %e, "write failed");
            break Ended::Done;
        }
        if session.is_closed() {
            if let Some((code, why)) = session.close_reason() {
                tracing::info!(?code, why, "session closed");
            }
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
                Ok(mut s) => match s.read_to_end(MAX_FRAME + 8).await {
                    Ok(bytes) => {
                        let mut d: FrameDecoder<ClientMsg> = FrameDecoder::new();
                        feed(&mut session, &mut d, &bytes, &hub);
                        if let Err(e) = d.finish() {
                            session.malformed(&e.to_string());
                        }
                    }
                    Err(e) => session.malformed(&format!("bulk stream: {e}")),
                },
                Err(_) => break Ended::Done,
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
                let _ = flush(&mut session, &conn, &mut send, &encoder).await;
                conn.close(1u32.into(), b"relay shutting down");
                break Ended::Shutdown;
            }
        }
    };
    drop(_e);
    ended
}

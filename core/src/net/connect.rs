//! Opening the handset's QUIC connection, with 0-RTT when a session ticket allows it, and
//! the watchdog that tells a rejected 0-RTT handshake from a relay that never answers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};

/// How long a handshake may take before the relay counts as unreachable.
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a failed session waits for the watchdog's verdict.
const SETTLE: Duration = Duration::from_secs(2);

const FINE: u8 = 0;
const ZERO_RTT_REJECTED: u8 = 1;
const NO_ANSWER: u8 = 2;

/// What the 0-RTT watchdog found about the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The handshake finished (or no 0-RTT was tried).
    Fine,
    /// The relay refused the early data (it restarted and lost its ticket keys): retry
    /// with a full handshake.
    Rejected,
    /// The handshake never finished: the relay is unreachable.
    NoAnswer,
}

/// An open connection and, when it went out in 0-RTT, its watchdog.
pub(super) struct Connected {
    /// The connection.
    pub conn: quinn::Connection,
    /// It used 0-RTT resumption.
    pub zero_rtt: bool,
    flag: Arc<AtomicU8>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Connected {
    /// The watchdog's verdict. After a failure, waits a moment for it to settle: a dead
    /// link closes the connection (no answer), a rejection leaves it up with the
    /// handshake done.
    pub async fn verdict(&mut self, failed: bool) -> Verdict {
        if failed && let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(SETTLE, task).await;
        }
        match self.flag.load(Ordering::SeqCst) {
            ZERO_RTT_REJECTED => Verdict::Rejected,
            NO_ANSWER => Verdict::NoAnswer,
            _ => Verdict::Fine,
        }
    }
}

/// Connects to `addr`. With `allow_0rtt` and a ticket, the connection is usable at once and
/// a watchdog closes it if the relay rejects the early data or never answers.
pub(super) async fn connect(
    endpoint: &quinn::Endpoint,
    addr: SocketAddr,
    server_name: &str,
    allow_0rtt: bool,
) -> Result<Connected> {
    let flag = Arc::new(AtomicU8::new(FINE));
    let connecting = endpoint
        .connect(addr, server_name)
        .map_err(|e| Error::Network(format!("cannot connect to {addr}: {e}")))?;
    let connecting = if allow_0rtt {
        match connecting.into_0rtt() {
            Ok((conn, accepted)) => {
                let task = tokio::spawn(watch(conn.clone(), accepted, flag.clone()));
                return Ok(Connected {
                    conn,
                    zero_rtt: true,
                    flag,
                    task: Some(task),
                });
            }
            Err(connecting) => connecting,
        }
    } else {
        connecting
    };
    let conn = tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting)
        .await
        .map_err(|_| Error::Network(format!("no answer from the relay at {addr}")))?
        .map_err(|e| Error::Network(format!("cannot reach the relay at {addr}: {e}")))?;
    Ok(Connected {
        conn,
        zero_rtt: false,
        flag,
        task: None,
    })
}

/// Waits for a 0-RTT handshake to finish and records what happened in `flag`.
async fn watch(conn: quinn::Connection, accepted: quinn::ZeroRttAccepted, flag: Arc<AtomicU8>) {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, accepted).await {
        Ok(true) => {}
        // `false` also means the connection died before the handshake finished: that is
        // no answer, not a rejection.
        Ok(false) if conn.close_reason().is_some() || conn.handshake_data().is_none() => {
            flag.store(NO_ANSWER, Ordering::SeqCst);
        }
        Ok(false) => {
            flag.store(ZERO_RTT_REJECTED, Ordering::SeqCst);
            conn.close(0u32.into(), b"0-RTT rejected; reconnecting");
        }
        Err(_) => {
            flag.store(NO_ANSWER, Ordering::SeqCst);
            conn.close(0u32.into(), b"no answer");
        }
    }
}

//! A hostile or buggy handset speaking the wire protocol directly over real QUIC: the
//! product's client pushes only changes its own replica made and admitted, and pulls only
//! what it was granted, so tests of the relay's own checks go around it. Control stream
//! only: pulls ask for small batches, which the relay sends there (bulk batches would come
//! on a stream of their own).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use gridsync_core::GridPath;
use gridsync_core::net::Trust;
use gridsync_core::net::tls::client_config;
use gridsync_core::sync::frame::{FrameDecoder, encode_client};
use gridsync_core::sync::relay::MIN_PULL_BYTES;
use gridsync_core::sync::wire::{
    ClientMsg, Cursor, Entry, PROTOCOL_VERSION, PushedChange, Refusal, RelayMsg,
};

/// How long the client waits for the relay's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// One connection, Hello sent.
pub struct RawClient {
    _endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    decoder: FrameDecoder<RelayMsg>,
    buf: Vec<u8>,
    next_id: u64,
}

impl RawClient {
    /// Connects to the relay at `addr` (pinned to `fingerprint`) and says Hello with
    /// `token`; the relay's Welcome (or Error) is the first message [`RawClient::next`]
    /// returns.
    pub async fn connect(addr: SocketAddr, fingerprint: &str, token: &str) -> Result<Self> {
        let mut endpoint = quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        endpoint.set_default_client_config(client_config(&Trust::Pinned(fingerprint.into()))?);
        let conn = endpoint.connect(addr, "gridsync-relay")?.await?;
        let (send, recv) = conn.open_bi().await?;
        let mut client = RawClient {
            _endpoint: endpoint,
            conn,
            send,
            recv,
            decoder: FrameDecoder::new(),
            buf: vec![0u8; 65_536],
            next_id: 1,
        };
        let hello = ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            token: token.into(),
            agent: "hostile/1".into(),
        };
        client.send(&hello).await?;
        Ok(client)
    }

    /// Sends one message.
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<()> {
        self.send.write_all(&encode_client(msg)?).await?;
        Ok(())
    }

    /// Writes `bytes` on the control stream as they are (garbage, a frame cut short).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.send.write_all(bytes).await?;
        Ok(())
    }

    /// Finishes the control stream's sending side (the relay reads its end).
    pub fn finish(&mut self) {
        let _ = self.send.finish();
    }

    /// The relay's next message; `None` once the stream ends, a frame does not decode, or
    /// nothing came for 10 s.
    pub async fn next(&mut self) -> Option<RelayMsg> {
        let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
        loop {
            if let Ok(Some(msg)) = self.decoder.pop() {
                return Some(msg);
            }
            let read = tokio::time::timeout_at(deadline, self.recv.read(&mut self.buf)).await;
            let Ok(Ok(Some(n))) = read else { return None };
            if self.decoder.push(&self.buf[..n]).is_err() {
                return None;
            }
        }
    }

    /// The relay's messages up to and including the first for which `done` holds (or
    /// until the session ends).
    pub async fn until(&mut self, done: impl Fn(&RelayMsg) -> bool) -> Vec<RelayMsg> {
        let mut got = Vec::new();
        while let Some(msg) = self.next().await {
            let last = done(&msg) || matches!(msg, RelayMsg::Error { .. });
            got.push(msg);
            if last {
                break;
            }
        }
        got
    }

    /// Pushes `changes` and returns what the relay refused (every other change is durable
    /// on the relay, unless deferred for a missing dependency: an error here).
    pub async fn push(&mut self, changes: Vec<PushedChange>) -> Result<Vec<Refusal>> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&ClientMsg::Push { id, changes }).await?;
        let answers = self.until(|m| matches!(m, RelayMsg::PushAck { .. })).await;
        for msg in answers {
            match msg {
                RelayMsg::PushAck {
                    id: got,
                    refused,
                    deferred,
                    ..
                } if got == id => {
                    anyhow::ensure!(deferred.is_empty(), "{} changes deferred", deferred.len());
                    return Ok(refused);
                }
                RelayMsg::Error { code, message } => bail!("relay error {code:?}: {message}"),
                _ => {}
            }
        }
        bail!("the relay did not answer push {id}")
    }

    /// Pulls from a fresh cursor until the relay has nothing more, asking for `scopes`
    /// (empty: every granted scope), in small batches; returns every entry received.
    pub async fn pull_all(&mut self, scopes: &[GridPath]) -> Result<Vec<Entry>> {
        let mut cursor = Cursor::Fresh;
        let mut entries = Vec::new();
        loop {
            let pull = ClientMsg::Pull {
                cursor: cursor.clone(),
                max_bytes: MIN_PULL_BYTES,
                scopes: scopes.to_vec(),
            };
            self.send(&pull).await?;
            let answers = self
                .until(|m| matches!(m, RelayMsg::Batch { live: false, .. }))
                .await;
            let mut batch = None;
            for msg in answers {
                match msg {
                    RelayMsg::Batch {
                        next,
                        entries,
                        more,
                        live: false,
                        ..
                    } => batch = Some((next, entries, more)),
                    RelayMsg::Error { code, message } => bail!("relay error {code:?}: {message}"),
                    _ => {}
                }
            }
            let Some((next, got, more)) = batch else {
                bail!("the relay did not answer a pull from {cursor:?}");
            };
            entries.extend(got);
            if !more {
                return Ok(entries);
            }
            cursor = next;
        }
    }

    /// The QUIC connection (to open bulk streams of one's own).
    pub fn connection(&self) -> &quinn::Connection {
        &self.conn
    }

    /// Closes the connection.
    pub fn close(self) {
        self.conn.close(0u32.into(), b"done");
    }
}

/// Hello, then one Push of `changes`, without waiting between them. Returns the relay's
/// answers until the push is answered, the session ends, or 10 s pass.
pub async fn raw_push(
    addr: SocketAddr,
    fingerprint: &str,
    token: &str,
    changes: Vec<PushedChange>,
) -> Result<Vec<RelayMsg>> {
    let mut client = RawClient::connect(addr, fingerprint, token)
        .await
        .context("connecting the raw client")?;
    client.send(&ClientMsg::Push { id: 1, changes }).await?;
    let got = client
        .until(|m| matches!(m, RelayMsg::PushAck { .. }))
        .await;
    client.close();
    Ok(got)
}

//! The bulk lane over QUIC, for both ends: big messages (bootstrap batches, big pushes)
//! travel on one unidirectional stream per run, apart from the control stream, so they
//! never hold up acknowledgements or live changes. A run's frames share one zstd context
//! ([`StreamFrameEncoder`]); the reader decodes each stream in order in a task of its
//! own and hands the messages to the connection's loop.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::error::{Error, Result};
use crate::sync::frame::{FrameDecoder, STREAM_LEVEL, StreamFrameEncoder};

/// The sending half of the bulk lane: a stream opened at the first bulk message of a run
/// and finished at its end.
#[derive(Debug)]
pub struct BulkSender {
    open: Option<(quinn::SendStream, StreamFrameEncoder)>,
    level: i32,
}

impl Default for BulkSender {
    /// The relay's sender: [`STREAM_LEVEL`], where a bootstrap's later batches pay back.
    fn default() -> Self {
        Self::with_level(STREAM_LEVEL)
    }
}

impl BulkSender {
    /// A sender compressing its runs at zstd `level`. Handsets push with
    /// [`crate::sync::frame::DEFAULT_BULK_LEVEL`]: a push is usually one frame, with nothing earlier to refer
    /// to, and a phone's CPU is better spent elsewhere.
    pub fn with_level(level: i32) -> Self {
        BulkSender { open: None, level }
    }

    /// The level runs compress at unless [`BulkSender::send`] is told otherwise.
    pub fn level(&self) -> i32 {
        self.level
    }

    /// Sends `msg` on the run's stream (opening it, with a fresh context at `level`, if
    /// none is open); ends the run after it when `last`. Returns the frame's size in bytes.
    pub async fn send<T: Serialize>(
        &mut self,
        conn: &quinn::Connection,
        msg: &T,
        last: bool,
        level: i32,
    ) -> Result<usize> {
        if self.open.is_none() {
            let stream = conn.open_uni().await.map_err(Error::network)?;
            self.open = Some((stream, StreamFrameEncoder::with_level(level)?));
        }
        let Some((stream, encoder)) = self.open.as_mut() else {
            return Err(Error::Protocol("bulk stream vanished".into()));
        };
        let bytes = match encoder.encode(msg) {
            Ok(b) => b,
            Err(e) => {
                // The context may be out of step with the receiver's: this run is over.
                self.end();
                return Err(e);
            }
        };
        stream.write_all(&bytes).await.map_err(Error::network)?;
        if last {
            self.end();
        }
        Ok(bytes.len())
    }

    /// Finishes the open stream, if any, and frees its context.
    pub fn end(&mut self) {
        if let Some((mut stream, _)) = self.open.take() {
            let _ = stream.finish();
        }
    }
}

/// What a bulk stream's reader hands the connection's loop.
#[derive(Debug)]
pub enum BulkRead<T> {
    /// Bytes read from the stream (for traffic counters).
    Bytes(usize),
    /// A decoded message.
    Message(T),
    /// The stream broke the framing ([`Error::Corrupt`]) or the connection failed under
    /// it ([`Error::Network`]).
    Failed(Error),
}

/// The receiving half of the bulk lane: one reader task per incoming stream, all feeding
/// one channel. Dropping it stops the readers.
#[derive(Debug)]
pub struct BulkReceiver<T> {
    tx: mpsc::Sender<BulkRead<T>>,
    rx: mpsc::Receiver<BulkRead<T>>,
    readers: JoinSet<()>,
}

impl<T: DeserializeOwned + Send + 'static> Default for BulkReceiver<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: DeserializeOwned + Send + 'static> BulkReceiver<T> {
    /// No streams yet.
    pub fn new() -> Self {
        // A few messages of slack: a reader waits (and QUIC's flow control slows the
        // sender) while the loop is busy applying a batch.
        let (tx, rx) = mpsc::channel(4);
        BulkReceiver {
            tx,
            rx,
            readers: JoinSet::new(),
        }
    }

    /// Reads `stream` to its end in a task of its own, frames decoded in order.
    pub fn add(&mut self, mut stream: quinn::RecvStream) {
        let tx = self.tx.clone();
        self.readers.spawn(async move {
            let mut decoder: FrameDecoder<T> = FrameDecoder::new();
            let mut buf = vec![0u8; 64 * 1024];
            let failed = loop {
                match stream.read(&mut buf).await {
                    Ok(Some(n)) => {
                        if tx.send(BulkRead::Bytes(n)).await.is_err() {
                            return;
                        }
                        if let Err(e) = decoder.push(&buf[..n]) {
                            break e;
                        }
                        loop {
                            match decoder.pop() {
                                Ok(Some(msg)) => {
                                    if tx.send(BulkRead::Message(msg)).await.is_err() {
                                        return;
                                    }
                                }
                                Ok(None) => break,
                                Err(e) => {
                                    let _ = tx.send(BulkRead::Failed(e)).await;
                                    return;
                                }
                            }
                        }
                    }
                    Ok(None) => match decoder.finish() {
                        Ok(()) => return,
                        Err(e) => break e,
                    },
                    Err(e) => break Error::Network(format!("bulk stream: {e}")),
                }
            };
            let _ = tx.send(BulkRead::Failed(failed)).await;
        });
    }

    /// The next thing a reader found; waits forever when no stream is open.
    pub async fn next(&mut self) -> BulkRead<T> {
        match self.rx.recv().await {
            Some(r) => r,
            // Unreachable while `self.tx` lives; wait rather than spin.
            None => std::future::pending().await,
        }
    }
}

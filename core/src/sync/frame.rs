//! The wire codec: length-prefixed, optionally zstd-compressed postcard frames.
//!
//! A frame is `[u32 big-endian length of the rest][u8 flags][body]`. Flag bit 0 means the
//! body is a zstd frame of its own; bit 1 means the body continues the stream's zstd
//! context (the next flushed segment of one zstd stream, [`super::zstream`]); at most one
//! of them is set and every other bit must be zero. The (decompressed) body is one
//! postcard-encoded [`ClientMsg`] or [`RelayMsg`] with no trailing bytes.
//!
//! Limits: the length prefix may announce at most [`MAX_FRAME`] bytes (checked before the
//! frame is buffered), and a compressed body may inflate to at most [`MAX_BODY`] bytes
//! (decompression stops there, so a zip bomb cannot allocate more).

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use self::decode::{decode_body, decode_plain, stream_segment};

use super::wire::{ClientMsg, RelayMsg};
use super::zstream::{StreamCompressor, StreamDecompressor};
use crate::error::{Error, Result};

/// Bytes before the body: the length prefix and the flags byte.
pub const HEADER_LEN: usize = 5;
/// Largest value the length prefix may hold (flags byte plus body on the wire): 8 MiB.
pub const MAX_FRAME: usize = 8 * 1024 * 1024;
/// Largest body after decompression: 16 MiB.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Bodies longer than this are compressed (when that makes them smaller).
pub const COMPRESS_OVER: usize = 256;
/// zstd level used unless the encoder is configured otherwise.
pub const DEFAULT_LEVEL: i32 = 3;
/// Flags bit 0: the body is zstd-compressed.
pub const FLAG_ZSTD: u8 = 0b0000_0001;

/// Flags bit 1: the body is the next segment of the stream's zstd context.
pub const FLAG_ZSTD_STREAM: u8 = 0b0000_0010;
/// zstd level of a stream context (bulk streams: catching up on the log, big pushes).
/// With context takeover a higher level pays (ADR 0005), up to 15: level 16 switches zstd
/// to its optimal parser, about 4x the CPU for 2-3% fewer bytes, which a city's reconnect
/// waves cannot afford on the relay (ADR 0015).
pub const STREAM_LEVEL: i32 = 15;
/// zstd level of a relay run that starts a bootstrap (a snapshot): worth the optimal
/// parser's CPU once per new phone, which then downloads 2-3% less (ADRs 0005, 0015).
pub const SNAPSHOT_LEVEL: i32 = 16;

/// Every flag bit this version understands.
const KNOWN_FLAGS: u8 = FLAG_ZSTD | FLAG_ZSTD_STREAM;
/// Largest zstd window the decoder accepts (2^24 = 16 MiB = [`MAX_BODY`]), so a frame
/// header cannot make the decoder allocate a bigger window.
const WINDOW_LOG_MAX: u32 = 24;

/// Encodes messages into frames, compressing bodies over [`COMPRESS_OVER`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameEncoder {
    level: i32,
    bulk_level: i32,
}

/// zstd level for bodies of at least [`BULK_BODY`] bytes (snapshots and big batches),
/// where a stronger level buys the most bytes on a slow link.
pub const DEFAULT_BULK_LEVEL: i32 = 9;
/// Bodies this large are compressed at the bulk level.
pub const BULK_BODY: usize = 16 * 1024;

impl Default for FrameEncoder {
    fn default() -> Self {
        FrameEncoder {
            level: DEFAULT_LEVEL,
            bulk_level: DEFAULT_BULK_LEVEL,
        }
    }
}

impl FrameEncoder {
    /// An encoder compressing every body at `level`, clamped to the levels zstd supports.
    /// The default encoder uses [`DEFAULT_LEVEL`] for small bodies and
    /// [`DEFAULT_BULK_LEVEL`] for bodies of [`BULK_BODY`] bytes or more.
    pub fn new(level: i32) -> Self {
        let range = zstd::compression_level_range();
        let level = level.clamp(*range.start(), *range.end());
        FrameEncoder {
            level,
            bulk_level: level,
        }
    }

    /// The zstd level in use.
    pub fn level(&self) -> i32 {
        self.level
    }

    /// Encodes one message as a complete frame.
    ///
    /// Fails with [`Error::Protocol`] when the message cannot fit the limits (a body over
    /// [`MAX_BODY`], or a frame over [`MAX_FRAME`] even after compression).
    pub fn encode<T: Serialize>(&self, msg: &T) -> Result<Vec<u8>> {
        let body = body_of(msg)?;
        let (flags, payload) = if body.len() > COMPRESS_OVER {
            let level = if body.len() >= BULK_BODY {
                self.bulk_level
            } else {
                self.level
            };
            match zstd::block::compress(&body, level) {
                Ok(packed) if packed.len() < body.len() => (FLAG_ZSTD, packed),
                Ok(_) => (0, body),
                Err(e) => {
                    tracing::warn!(error = %e, "zstd compression failed; sending the frame raw");
                    (0, body)
                }
            }
        } else {
            (0, body)
        };
        assemble(flags, &payload)
    }
}

/// Postcard body of `msg`, checked against [`MAX_BODY`].
fn body_of<T: Serialize>(msg: &T) -> Result<Vec<u8>> {
    let body = postcard::to_stdvec(msg)
        .map_err(|e| Error::Protocol(format!("cannot encode message: {e}")))?;
    if body.len() > MAX_BODY {
        return Err(Error::Protocol(format!(
            "message of {} bytes exceeds the {MAX_BODY}-byte limit; send it in smaller parts",
            body.len()
        )));
    }
    Ok(body)
}

/// Prefixes `payload` with its length and `flags`, checked against [`MAX_FRAME`].
fn assemble(flags: u8, payload: &[u8]) -> Result<Vec<u8>> {
    let rest = payload.len() + 1;
    let announced = u32::try_from(rest)
        .ok()
        .filter(|_| rest <= MAX_FRAME)
        .ok_or_else(|| {
            Error::Protocol(format!(
                "frame of {rest} bytes exceeds the {MAX_FRAME}-byte limit; send it in smaller parts"
            ))
        })?;
    let mut frame = Vec::with_capacity(4 + rest);
    frame.extend_from_slice(&announced.to_be_bytes());
    frame.push(flags);
    frame.extend_from_slice(payload);
    Ok(frame)
}

/// Encodes the frames of one long-lived stream with context takeover: every body is the
/// next flushed segment of one zstd stream ([`FLAG_ZSTD_STREAM`]), so later frames refer
/// back to earlier ones. The receiver must decode the stream's frames in order with one
/// [`FrameDecoder`], which QUIC's in-order stream delivery gives.
#[derive(Debug)]
pub struct StreamFrameEncoder {
    context: StreamCompressor,
}

impl StreamFrameEncoder {
    /// A fresh stream compressing at [`STREAM_LEVEL`].
    pub fn new() -> Result<Self> {
        Self::with_level(STREAM_LEVEL)
    }

    /// A fresh stream compressing at `level`.
    pub fn with_level(level: i32) -> Result<Self> {
        Ok(StreamFrameEncoder {
            context: StreamCompressor::new(level).map_err(Error::Protocol)?,
        })
    }

    /// Encodes the stream's next message as a complete frame. Once this fails the stream
    /// cannot continue (the receiver's context would no longer match): end it.
    pub fn encode<T: Serialize>(&mut self, msg: &T) -> Result<Vec<u8>> {
        let body = body_of(msg)?;
        let segment = self
            .context
            .compress(&body)
            .map_err(|e| Error::Protocol(format!("zstd stream compression failed: {e}")))?;
        assemble(FLAG_ZSTD_STREAM, &segment)
    }

    /// Memory the compression context holds, in bytes.
    pub fn memory(&self) -> usize {
        self.context.memory()
    }
}

/// Encodes a handset message with the default encoder.
pub fn encode_client(msg: &ClientMsg) -> Result<Vec<u8>> {
    FrameEncoder::default().encode(msg)
}

/// Encodes a relay message with the default encoder.
pub fn encode_relay(msg: &RelayMsg) -> Result<Vec<u8>> {
    FrameEncoder::default().encode(msg)
}

/// Reassembles frames from a byte stream and decodes them into messages of type `T`.
///
/// Push bytes as they arrive (any split), then pop messages until `Ok(None)`. The first
/// bad frame (announced length of 0 or over [`MAX_FRAME`], unknown flags, bad zstd data,
/// a body over [`MAX_BODY`], bad postcard, trailing bytes) is an [`Error::Corrupt`] with
/// `what = "frame"`, and poisons the decoder: every later call fails the same way.
#[derive(Debug)]
pub struct FrameDecoder<T> {
    buf: Vec<u8>,
    start: usize,
    poisoned: Option<String>,
    /// The stream's zstd context, made at its first [`FLAG_ZSTD_STREAM`] frame.
    context: Option<StreamDecompressor>,
    limits: FrameLimits,
    _msg: PhantomData<fn() -> T>,
}

/// Decoder for the relay side of a stream (it reads handset messages).
pub type ClientMsgDecoder = FrameDecoder<ClientMsg>;
/// Decoder for the handset side of a stream (it reads relay messages).
pub type RelayMsgDecoder = FrameDecoder<RelayMsg>;

impl<T: DeserializeOwned> Default for FrameDecoder<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: DeserializeOwned> FrameDecoder<T> {
    /// An empty decoder.
    pub fn new() -> Self {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            poisoned: None,
            context: None,
            limits: FrameLimits::FULL,
            _msg: PhantomData,
        }
    }

    /// Sets what the next frames may be (each capped at the protocol's own limits).
    pub fn set_limits(&mut self, limits: FrameLimits) {
        self.limits = FrameLimits {
            max_frame: limits.max_frame.min(MAX_FRAME),
            max_body: limits.max_body.min(MAX_BODY),
            stream_context: limits.stream_context,
        };
    }

    /// Appends bytes read from the stream. Fails (and poisons) as soon as a frame header
    /// announces more than [`MAX_FRAME`] bytes, before the frame is buffered.
    pub fn push(&mut self, bytes: &[u8]) -> Result<()> {
        self.check()?;
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
        self.announced().map(|_| ())
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    pub fn pop(&mut self) -> Result<Option<T>> {
        self.check()?;
        let Some(len) = self.announced()? else {
            return Ok(None);
        };
        let pending = &self.buf[self.start..];
        if pending.len() < 4 + len {
            return Ok(None);
        }
        let flags = pending[4];
        let body = &pending[HEADER_LEN..4 + len];
        let max_body = self.limits.max_body;
        let decoded = if flags == FLAG_ZSTD_STREAM && !self.limits.stream_context {
            Err("a stream-context frame before login".to_string())
        } else if flags == FLAG_ZSTD_STREAM {
            stream_segment(&mut self.context, body, max_body).and_then(|plain| decode_plain(&plain))
        } else {
            decode_body::<T>(flags, body, max_body)
        };
        self.start += 4 + len;
        match decoded {
            Ok(msg) => Ok(Some(msg)),
            Err(detail) => Err(self.poison(detail)),
        }
    }

    /// Call at the end of a stream: fails when a partial frame is left over.
    pub fn finish(&mut self) -> Result<()> {
        self.check()?;
        match self.buffered() {
            0 => Ok(()),
            n => Err(self.poison(format!("stream ended inside a frame ({n} bytes left over)"))),
        }
    }

    /// Bytes received and not yet consumed by `pop`.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True after a bad frame: the stream cannot be trusted any more.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    /// Length announced by the pending frame header, if a whole header is buffered.
    fn announced(&mut self) -> Result<Option<usize>> {
        let pending = &self.buf[self.start..];
        let Some(prefix) = pending.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(*prefix) as usize;
        if len == 0 {
            return Err(self.poison("frame announces 0 bytes (no flags byte)".to_string()));
        }
        let max = self.limits.max_frame;
        if len > max {
            return Err(self.poison(format!(
                "frame announces {len} bytes, more than the {max}-byte limit"
            )));
        }
        Ok(Some(len))
    }

    fn check(&self) -> Result<()> {
        match &self.poisoned {
            Some(detail) => Err(Error::corrupt(
                "frame",
                format!("stream already failed: {detail}"),
            )),
            None => Ok(()),
        }
    }

    fn poison(&mut self, detail: String) -> Error {
        tracing::warn!(%detail, "bad frame; the stream is poisoned");
        self.buf = Vec::new();
        self.start = 0;
        let err = Error::corrupt("frame", &detail);
        self.poisoned = Some(detail);
        err
    }
}

mod decode;
mod limits;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use limits::FrameLimits;

//! One frame's body: inflated within a limit, then read as exactly one message.

use std::borrow::Cow;
use std::io::Read;

use serde::de::DeserializeOwned;

use super::{FLAG_ZSTD, KNOWN_FLAGS, WINDOW_LOG_MAX};
use crate::sync::zstream::StreamDecompressor;

/// Inflates a stream's next segment with its context (made at the first segment).
pub(super) fn stream_segment(
    context: &mut Option<StreamDecompressor>,
    segment: &[u8],
    max_body: usize,
) -> std::result::Result<Vec<u8>, String> {
    let context = match context {
        Some(c) => c,
        None => context.insert(StreamDecompressor::new(WINDOW_LOG_MAX)?),
    };
    context
        .decompress(segment, max_body)
        .map_err(|e| format!("bad zstd stream data: {e}"))
}

/// Decodes one frame body (after the flags byte).
pub(super) fn decode_body<T: DeserializeOwned>(
    flags: u8,
    body: &[u8],
    max_body: usize,
) -> std::result::Result<T, String> {
    if flags & !KNOWN_FLAGS != 0 || flags == KNOWN_FLAGS {
        return Err(format!("unknown flags {flags:#04x}"));
    }
    let plain: Cow<'_, [u8]> = if flags & FLAG_ZSTD != 0 {
        Cow::Owned(decompress(body, max_body)?)
    } else {
        Cow::Borrowed(body)
    };
    decode_plain(&plain)
}

/// Decodes one uncompressed body: exactly one message, nothing after it.
pub(super) fn decode_plain<T: DeserializeOwned>(plain: &[u8]) -> std::result::Result<T, String> {
    let (msg, rest) =
        postcard::take_from_bytes::<T>(plain).map_err(|e| format!("undecodable message: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} trailing bytes after the message", rest.len()));
    }
    Ok(msg)
}

/// Inflates a zstd body, refusing to produce more than `max_body` bytes.
fn decompress(body: &[u8], max_body: usize) -> std::result::Result<Vec<u8>, String> {
    let mut decoder = zstd::stream::read::Decoder::with_buffer(body)
        .map_err(|e| format!("cannot start zstd decoder: {e}"))?;
    decoder
        .window_log_max(WINDOW_LOG_MAX)
        .map_err(|e| format!("zstd window limit: {e}"))?;
    let mut out = Vec::new();
    let limit = max_body as u64 + 1;
    decoder
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| format!("bad zstd data: {e}"))?;
    if out.len() > max_body {
        return Err(format!(
            "compressed body inflates past the {max_body}-byte limit"
        ));
    }
    Ok(out)
}

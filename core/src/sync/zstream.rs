//! zstd with context takeover: one compression context per stream, flushed (not ended) at
//! each frame, so a frame can refer back to what earlier frames on the same stream carried.
//!
//! A bootstrap arrives as a dozen batches of about 256 KiB. Compressed one by one, each
//! batch relearns the grid's vocabulary (names, villages, the phrases of visit notes, the
//! handsets' actor ids); compressed as one stream, later batches point back into earlier
//! ones. The batches stay small, so an up-window of a mountain link still completes some
//! (ADR 0005). The receiver keeps the matching decompression context; both are per stream
//! and die with it, and QUIC delivers a stream's bytes in order.

use zstd::zstd_safe::{CCtx, CParameter, DCtx, DParameter, InBuffer, OutBuffer, zstd_sys};

/// Window of a stream context: how far back a frame may refer (2^20 = 1 MiB). Bigger
/// windows gained nothing measurable on a grid's bootstrap and cost memory per connection.
pub const STREAM_WINDOW_LOG: u32 = 20;
/// Hash and chain table sizes (2^19 entries each), fixed so a context's memory does not
/// grow with the level: about 6 MiB per compressing stream at level 15.
const TABLE_LOG: u32 = 19;

/// The compressing end of a stream.
pub struct StreamCompressor {
    cctx: CCtx<'static>,
}

impl std::fmt::Debug for StreamCompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamCompressor")
            .field("bytes", &self.cctx.sizeof())
            .finish()
    }
}

fn zerr(code: usize) -> String {
    zstd::zstd_safe::get_error_name(code).to_string()
}

impl StreamCompressor {
    /// A fresh context compressing at `level`, with the window and tables above.
    pub fn new(level: i32) -> Result<Self, String> {
        Self::tuned(level, STREAM_WINDOW_LOG, TABLE_LOG)
    }

    /// A fresh context with an explicit window and table size (2^`window_log`,
    /// 2^`table_log`), for measuring what they buy.
    pub fn tuned(level: i32, window_log: u32, table_log: u32) -> Result<Self, String> {
        let mut cctx = CCtx::create();
        for p in [
            CParameter::CompressionLevel(level),
            CParameter::WindowLog(window_log),
            CParameter::HashLog(table_log),
            CParameter::ChainLog(table_log),
            CParameter::ChecksumFlag(false),
            CParameter::ContentSizeFlag(false),
        ] {
            cctx.set_parameter(p).map_err(zerr)?;
        }
        Ok(StreamCompressor { cctx })
    }

    /// Compresses `body` as the next segment of the stream and flushes it, so the segment
    /// decodes completely once the receiver has it and every segment before it.
    pub fn compress(&mut self, body: &[u8]) -> Result<Vec<u8>, String> {
        let mut out: Vec<u8> = Vec::with_capacity(zstd::zstd_safe::compress_bound(body.len()) + 64);
        let mut input = InBuffer::around(body);
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let pos = out.len();
            let mut output = OutBuffer::around_pos(&mut out, pos);
            let left = self
                .cctx
                .compress_stream2(
                    &mut output,
                    &mut input,
                    zstd_sys::ZSTD_EndDirective::ZSTD_e_flush,
                )
                .map_err(zerr)?;
            if left == 0 && input.pos() == body.len() {
                return Ok(out);
            }
        }
    }

    /// Memory the context holds, in bytes.
    pub fn memory(&self) -> usize {
        self.cctx.sizeof()
    }
}

/// The decompressing end of a stream.
pub struct StreamDecompressor {
    dctx: DCtx<'static>,
}

impl std::fmt::Debug for StreamDecompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDecompressor").finish_non_exhaustive()
    }
}

impl StreamDecompressor {
    /// A fresh context accepting windows up to 2^`window_log_max` bytes.
    pub fn new(window_log_max: u32) -> Result<Self, String> {
        let mut dctx = DCtx::create();
        dctx.set_parameter(DParameter::WindowLogMax(window_log_max))
            .map_err(zerr)?;
        Ok(StreamDecompressor { dctx })
    }

    /// Decompresses the next segment, which must be whole (the sender flushed after it).
    /// Fails when the output would exceed `max` bytes or the segment leaves output pending.
    pub fn decompress(&mut self, segment: &[u8], max: usize) -> Result<Vec<u8>, String> {
        let mut out: Vec<u8> = Vec::with_capacity((segment.len() * 4).clamp(1024, max.max(1)));
        let mut input = InBuffer::around(segment);
        loop {
            let (pos, capacity) = (out.len(), out.capacity());
            let full = {
                let mut output = OutBuffer::around_pos(&mut out, pos);
                self.dctx
                    .decompress_stream(&mut output, &mut input)
                    .map_err(zerr)?;
                output.pos() == capacity
            };
            if out.len() > max {
                return Err(format!("body inflates past the {max}-byte limit"));
            }
            if input.pos() == segment.len() && !full {
                return Ok(out);
            }
            if full {
                if out.len() >= max {
                    return Err(format!("body inflates past the {max}-byte limit"));
                }
                let grow = out.capacity().min(max - out.len()).max(1);
                out.reserve(grow);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Text with the repetition of a grid's records: the same phrases in every batch.
    fn batch(i: usize) -> Vec<u8> {
        (0..400)
            .map(|j| {
                format!(
                    "visit {i}-{j}: 留守老人 独居 村民小组 {} 网格员将持续跟进。\n",
                    j * 7919 % 1000
                )
            })
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn segments_decode_in_order_and_later_ones_refer_back() {
        let mut c = StreamCompressor::new(9).unwrap();
        let mut d = StreamDecompressor::new(24).unwrap();
        let mut sizes = Vec::new();
        for i in 0..4 {
            let b = batch(i);
            let seg = c.compress(&b).unwrap();
            sizes.push(seg.len());
            assert_eq!(d.decompress(&seg, 1 << 24).unwrap(), b);
        }
        // Alone, the fourth batch costs about what the first did; in the stream, less.
        let alone = zstd::block::compress(&batch(3), 9).unwrap().len();
        assert!(sizes[3] < alone, "{sizes:?} vs {alone} alone");
    }

    #[test]
    fn a_segment_without_its_predecessors_is_an_error() {
        let mut c = StreamCompressor::new(9).unwrap();
        let _first = c.compress(&batch(0)).unwrap();
        let second = c.compress(&batch(1)).unwrap();
        let mut d = StreamDecompressor::new(24).unwrap();
        assert!(d.decompress(&second, 1 << 24).is_err());
    }

    #[test]
    fn output_past_the_limit_is_refused() {
        let mut c = StreamCompressor::new(3).unwrap();
        let zeros = vec![0u8; 1 << 20];
        let seg = c.compress(&zeros).unwrap();
        assert!(seg.len() < 1024);
        let mut d = StreamDecompressor::new(24).unwrap();
        let err = d.decompress(&seg, 64 * 1024).unwrap_err();
        assert!(err.contains("limit"), "{err}");
    }

    #[test]
    fn empty_bodies_and_small_ones_round_trip() {
        let mut c = StreamCompressor::new(16).unwrap();
        let mut d = StreamDecompressor::new(24).unwrap();
        for b in [&b""[..], b"x", b"hello hello hello"] {
            let seg = c.compress(b).unwrap();
            assert_eq!(d.decompress(&seg, 1024).unwrap(), b);
        }
    }
}

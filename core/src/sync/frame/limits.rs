//! [`FrameLimits`]: what a decoder takes, tighter before login.

use super::{MAX_BODY, MAX_FRAME};

/// What a [`super::FrameDecoder`] accepts. The relay reads a stranger's first frame under
/// [`FrameLimits::BEFORE_LOGIN`]: a Hello is a few hundred bytes, so nothing larger is
/// buffered, inflated or given a stream context before the token is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest announced frame length (at most [`MAX_FRAME`]).
    pub max_frame: usize,
    /// Largest body after decompression (at most [`MAX_BODY`]).
    pub max_body: usize,
    /// Whether frames of a stream's zstd context ([`super::FLAG_ZSTD_STREAM`]) are taken.
    pub stream_context: bool,
}

impl FrameLimits {
    /// Everything the protocol allows.
    pub const FULL: FrameLimits = FrameLimits {
        max_frame: MAX_FRAME,
        max_body: MAX_BODY,
        stream_context: true,
    };
    /// Before the relay has accepted a Hello: 4 KiB frames and bodies, no stream context.
    pub const BEFORE_LOGIN: FrameLimits = FrameLimits {
        max_frame: 4096,
        max_body: 4096,
        stream_context: false,
    };
}

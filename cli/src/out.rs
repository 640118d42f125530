//! Writing to stdout without panicking when the reader goes away.
//!
//! `println!` panics ("failed printing to stdout: Broken pipe") when stdout is a pipe whose
//! reader has exited, as in `gridsync household list | head -1`. Everything a command
//! prints goes through [`write`] (the [`outln!`](crate::outln) macro) instead, which turns a
//! closed stdout into the error [`StdoutClosed`]; `main` ends the command quietly with exit
//! status 0 on it, as `head`'s writer expects.

use std::io::{ErrorKind, Write};

use anyhow::Result;

/// The reader of stdout went away: the command stops here, quietly and successfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes to stdout; a closed pipe is [`StdoutClosed`], any other failure an I/O error.
pub fn write(args: std::fmt::Arguments<'_>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("writing to stdout")),
    }
}

/// True when `e` is (or was caused by) a closed stdout.
pub fn is_closed(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<StdoutClosed>().is_some())
}

/// `println!` that returns `Result` ([`StdoutClosed`] for a closed pipe) instead of
/// panicking: `outln!("{x}")?`.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

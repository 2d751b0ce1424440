//! Reads and writes shared by the byte-stream sockets (TCP and Unix).

use std::io::{self, Read, Write};

use mio::event::Source;
use weft_runtime::Registration;

use crate::timeouts::{std_kind, Timeouts};

/// Reads into `buf`, parking until bytes arrive or the read deadline passes
/// (then `WouldBlock`, as std).
///
/// A short read on a byte stream means the receive buffer was emptied, so
/// the reactor is told: the next read waits for readiness instead of first
/// asking the kernel for bytes that are not there.
#[inline]
pub(crate) fn read<S>(
    io: &Registration<S>,
    timeouts: &Timeouts,
    buf: &mut [u8],
) -> io::Result<usize>
where
    S: Source,
    for<'a> &'a S: Read,
{
    let n = std_kind(io.read_with_deadline(timeouts.read_deadline(), |mut s| s.read(buf)))?;
    if n < buf.len() {
        io.read_drained();
    }
    Ok(n)
}

/// Writes from `buf`, parking until the socket takes some or the write
/// deadline passes. A short write means the send buffer is full, and the
/// reactor is told so.
#[inline]
pub(crate) fn write<S>(io: &Registration<S>, timeouts: &Timeouts, buf: &[u8]) -> io::Result<usize>
where
    S: Source,
    for<'a> &'a S: Write,
{
    let n = std_kind(io.write_with_deadline(timeouts.write_deadline(), |mut s| s.write(buf)))?;
    if n < buf.len() {
        io.write_filled();
    }
    Ok(n)
}

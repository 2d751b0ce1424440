//! Reads and writes shared by the byte-stream sockets (TCP and Unix).
//!
//! They go to the kernel through [`weft_runtime::io::recv`] and
//! [`send`](weft_runtime::io::send), std's socket calls without the C
//! library's cancellation bookkeeping (about 60 instructions a round trip
//! once the process has a second thread, such as the stall watchdog).

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use mio::event::Source;
use weft_runtime::io::{recv, send};
use weft_runtime::Registration;

use crate::timeouts::{std_kind, SocketTimeouts};

/// Reads into `buf`, parking until bytes arrive or the read deadline passes
/// (then `WouldBlock`, as std).
#[inline]
pub(crate) fn read<S: Source + AsFd + AsRawFd>(
    io: &Registration<S>,
    timeouts: &SocketTimeouts,
    buf: &mut [u8],
) -> io::Result<usize> {
    let n = std_kind(io.read_with_deadline(timeouts.read_deadline(), |s| recv(s, buf)))?;
    drained_if_short(io, n, buf.len());
    Ok(n)
}

/// Writes from `buf`, parking until the socket takes some or the write
/// deadline passes (then `WouldBlock`).
#[inline]
pub(crate) fn write<S: Source + AsFd + AsRawFd>(
    io: &Registration<S>,
    timeouts: &SocketTimeouts,
    buf: &[u8],
) -> io::Result<usize> {
    let n = std_kind(io.write_with_deadline(timeouts.write_deadline(), |s| send(s, buf)))?;
    filled_if_short(io, n, buf.len());
    Ok(n)
}

/// Reads what is there without parking: `WouldBlock` when nothing is.
#[inline]
pub(crate) fn try_read<S: Source + AsFd + AsRawFd>(
    io: &Registration<S>,
    buf: &mut [u8],
) -> io::Result<usize> {
    let n = io.try_read_with(|s| recv(s, buf))?;
    drained_if_short(io, n, buf.len());
    Ok(n)
}

/// Writes what the socket takes now without parking: `WouldBlock` when it
/// takes nothing.
#[inline]
pub(crate) fn try_write<S: Source + AsFd + AsRawFd>(
    io: &Registration<S>,
    buf: &[u8],
) -> io::Result<usize> {
    let n = io.try_write_with(|s| send(s, buf))?;
    filled_if_short(io, n, buf.len());
    Ok(n)
}

/// A short read on a byte stream means the receive buffer was emptied, so
/// the reactor is told: the next read waits for readiness instead of first
/// asking the kernel for bytes that are not there.
#[inline]
fn drained_if_short<S: Source>(io: &Registration<S>, n: usize, asked: usize) {
    if n < asked {
        io.read_drained();
    }
}

/// A short write means the send buffer is full: the next write waits for
/// readiness.
#[inline]
fn filled_if_short<S: Source>(io: &Registration<S>, n: usize, offered: usize) {
    if n < offered {
        io.write_filled();
    }
}

//! Socket reads and writes made straight to the kernel, without the C
//! library's cancellation bookkeeping.
//!
//! std's `TcpStream::read` and `write` call glibc's `recv` and `send`. Those
//! are POSIX cancellation points: once a process has a second thread (the
//! stall watchdog, a `spawn_blocking` worker, a `Handle` user), glibc wraps
//! every such call in `__pthread_enable_asynccancel` and
//! `__pthread_disable_asynccancel`, two atomic read-modify-writes of the
//! thread's cancellation word, so that `pthread_cancel` could end a thread
//! blocked in it. A weft socket never blocks (it is non-blocking, and a
//! green thread that must wait parks instead) and weft never cancels its
//! loop thread, so on the hot path that bookkeeping buys nothing; it cost
//! about 60 of the ~720 user-space instructions of an echo round trip.
//!
//! [`recv`] and [`send`] make the same system calls (`recvfrom` and `sendto`
//! with no address, as glibc does) through `syscall(2)`, which is not a
//! cancellation point, on Linux; elsewhere they are the C library's `recv`
//! and `send`. `send` passes `MSG_NOSIGNAL`, as std does: a write to a
//! closed peer is `EPIPE`, never `SIGPIPE`. Errors are `io::Error`s from
//! `errno`, `EINTR` included (a non-blocking socket call is not restarted;
//! callers retry as for std's).
//!
//! This file holds the only `unsafe` of the I/O layer.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Reads what `fd`'s receive buffer holds into `buf`, as `Read::read` on a
/// std socket does: `Ok(0)` at end of file, `WouldBlock` when a
/// non-blocking socket has nothing.
///
/// # Errors
///
/// The OS error of the call (`WouldBlock`, `ConnectionReset`, ...).
///
/// # Examples
///
/// ```
/// use std::io::ErrorKind;
/// use std::os::fd::AsFd;
/// use weft::io::{recv, send};
///
/// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let mut buf = [0; 8];
/// assert_eq!(recv(a.as_fd(), &mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
/// assert_eq!(send(b.as_fd(), b"hi").unwrap(), 2);
/// assert_eq!(recv(a.as_fd(), &mut buf).unwrap(), 2);
/// drop(b);
/// assert_eq!(recv(a.as_fd(), &mut buf).unwrap(), 0); // end of file
/// assert_eq!(send(a.as_fd(), b"hi").unwrap_err().kind(), ErrorKind::BrokenPipe);
/// ```
#[inline]
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    // SAFETY: `recvfrom` writes at most `buf.len()` bytes into `buf`, which
    // is valid and exclusively borrowed for the call; the address arguments
    // are null, which asks for no peer address. `fd` is a live descriptor,
    // borrowed for the call.
    let n = unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
            0,
            std::ptr::null_mut::<libc::sockaddr>(),
            std::ptr::null_mut::<libc::socklen_t>(),
        )
    };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: as above: `buf` is valid for `buf.len()` bytes of writes.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    result(n as isize)
}

/// Writes what `fd`'s send buffer takes of `buf`, as `Write::write` on a
/// std socket does: `WouldBlock` when a non-blocking socket takes nothing.
/// Never raises `SIGPIPE`.
///
/// # Errors
///
/// The OS error of the call (`WouldBlock`, `BrokenPipe`, ...).
#[inline]
pub fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    // SAFETY: `sendto` reads at most `buf.len()` bytes from `buf`, which is
    // valid for the call; a null address with length 0 sends to the
    // connected peer. `fd` is a live descriptor, borrowed for the call.
    let n = unsafe {
        libc::syscall(
            libc::SYS_sendto,
            fd.as_raw_fd(),
            buf.as_ptr(),
            buf.len(),
            libc::MSG_NOSIGNAL,
            std::ptr::null::<libc::sockaddr>(),
            0 as libc::socklen_t,
        )
    };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: as above: `buf` is valid for `buf.len()` bytes of reads.
    let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), NO_SIGPIPE) };
    result(n as isize)
}

/// `MSG_NOSIGNAL` where it exists; elsewhere (macOS) std sets `SO_NOSIGPIPE`
/// on the socket instead.
#[cfg(not(target_os = "linux"))]
const NO_SIGPIPE: libc::c_int = {
    #[cfg(any(
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd"
    ))]
    {
        libc::MSG_NOSIGNAL
    }
    #[cfg(not(any(
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd"
    )))]
    {
        0
    }
};

/// A byte count, or the call's `errno` when it returned -1.
#[inline]
fn result(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

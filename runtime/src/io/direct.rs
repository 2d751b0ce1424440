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
//! with no address, as glibc does) themselves on Linux: on x86_64 and
//! aarch64 with the `syscall`/`svc` instruction inline (the kernel hands an
//! error back as `-errno` in the result register, so `errno` is never
//! touched), on other Linux targets through `syscall(2)`, which is not a
//! cancellation point either; elsewhere they are the C library's `recv`
//! and `send`. Inline, a call costs the ~10 instructions of glibc's
//! `syscall` wrapper and its argument shuffle less, on each side of every
//! round trip. `send` passes `MSG_NOSIGNAL`, as std does: a write to a
//! closed peer is `EPIPE`, never `SIGPIPE`. Errors are `io::Error`s of the
//! call's error number, `EINTR` included (a non-blocking socket call is not
//! restarted; callers retry as for std's).
//!
//! They take the socket itself, not a `BorrowedFd`: its `AsFd` vouches
//! that the descriptor stays open while it is borrowed, and the number is
//! read through `AsRawFd`, which std and mio inline down to a field load.
//! std's `AsFd` for its sockets is a chain of out-of-line calls, about 8
//! instructions per round trip.
//!
//! This file holds the I/O layer's system calls and their `unsafe`; the
//! layer's only other is the waiter records' (`waiters.rs`) and the
//! registration's `ManuallyDrop` of its source.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// Reads what `socket`'s receive buffer holds into `buf`, as `Read::read` on a
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
/// use weft::io::{recv, send};
///
/// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let mut buf = [0; 8];
/// assert_eq!(recv(&a, &mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
/// assert_eq!(send(&b, b"hi").unwrap(), 2);
/// assert_eq!(recv(&a, &mut buf).unwrap(), 2);
/// drop(b);
/// assert_eq!(recv(&a, &mut buf).unwrap(), 0); // end of file
/// assert_eq!(send(&a, b"hi").unwrap_err().kind(), ErrorKind::BrokenPipe);
/// ```
#[inline]
pub fn recv<S: AsFd + AsRawFd>(socket: &S, buf: &mut [u8]) -> io::Result<usize> {
    let fd = socket.as_raw_fd();
    #[cfg(target_os = "linux")]
    // SAFETY: `recvfrom` writes at most `buf.len()` bytes into `buf`, which
    // is valid and exclusively borrowed for the call; the address arguments
    // are null, which asks for no peer address. `fd` is `socket`'s, live
    // while it is borrowed (`AsFd`).
    let n = unsafe {
        raw::syscall6(
            libc::SYS_recvfrom,
            fd as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
            0,
            0, // no peer address wanted
            0,
        )
    };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: as above: `buf` is valid for `buf.len()` bytes of writes.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) } as isize;
    result(n)
}

/// Writes what `socket`'s send buffer takes of `buf`, as `Write::write` on a
/// std socket does: `WouldBlock` when a non-blocking socket takes nothing.
/// Never raises `SIGPIPE`.
///
/// # Errors
///
/// The OS error of the call (`WouldBlock`, `BrokenPipe`, ...).
#[inline]
pub fn send<S: AsFd + AsRawFd>(socket: &S, buf: &[u8]) -> io::Result<usize> {
    let fd = socket.as_raw_fd();
    #[cfg(target_os = "linux")]
    // SAFETY: `sendto` reads at most `buf.len()` bytes from `buf`, which is
    // valid for the call; a null address with length 0 sends to the
    // connected peer. `fd` is `socket`'s, live while it is borrowed.
    let n = unsafe {
        raw::syscall6(
            libc::SYS_sendto,
            fd as usize,
            buf.as_ptr() as usize,
            buf.len(),
            libc::MSG_NOSIGNAL as usize,
            0, // to the connected peer
            0,
        )
    };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: as above: `buf` is valid for `buf.len()` bytes of reads.
    let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), NO_SIGPIPE) } as isize;
    result(n)
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

/// A byte count, or the call's error: `-errno` from [`raw::syscall6`].
#[cfg(target_os = "linux")]
#[inline(always)]
fn result(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(kernel_error(n))
    } else {
        Ok(n as usize)
    }
}

/// Out of line: the error (mostly `WouldBlock`) is built only when there is one.
#[cfg(target_os = "linux")]
#[cold]
#[inline(never)]
fn kernel_error(n: isize) -> io::Error {
    io::Error::from_raw_os_error(-n as i32)
}

/// A byte count, or the call's `errno` when it returned -1.
#[cfg(not(target_os = "linux"))]
#[inline]
fn result(n: isize) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// System calls made by weft itself on Linux. They return what the kernel
/// does: the result, or `-errno` (-4095..=-1) for an error.
#[cfg(target_os = "linux")]
mod raw {
    /// Makes system call `nr` with six arguments (unused ones 0): with the
    /// instruction itself on x86_64 and aarch64, elsewhere through the C
    /// library's `syscall(2)` (not a cancellation point), its -1 and `errno`
    /// turned into the kernel's `-errno`.
    ///
    /// # Safety
    ///
    /// As for the system call itself: every pointer among the arguments must
    /// be valid for what call `nr` does with it.
    #[inline(always)]
    pub(super) unsafe fn syscall6(
        nr: libc::c_long,
        a1: usize,
        a2: usize,
        a3: usize,
        a4: usize,
        a5: usize,
        a6: usize,
    ) -> isize {
        #[cfg(target_arch = "x86_64")]
        {
            let ret: isize;
            // SAFETY: the x86_64 Linux system call convention: number in
            // rax, arguments in rdi, rsi, rdx, r10, r8, r9, result in rax;
            // the instruction clobbers rcx (return address) and r11 (flags,
            // which `sysret` restores), nothing else, and uses no stack.
            // What the call does with memory is the caller's contract.
            unsafe {
                std::arch::asm!(
                    "syscall",
                    inlateout("rax") nr as isize => ret,
                    in("rdi") a1,
                    in("rsi") a2,
                    in("rdx") a3,
                    in("r10") a4,
                    in("r8") a5,
                    in("r9") a6,
                    lateout("rcx") _,
                    lateout("r11") _,
                    options(nostack, preserves_flags),
                );
            }
            ret
        }
        #[cfg(target_arch = "aarch64")]
        {
            let ret: isize;
            // SAFETY: the aarch64 Linux system call convention: number in
            // x8, arguments in x0-x5, result in x0; `svc 0` clobbers nothing
            // else and uses no stack. What the call does with memory is the
            // caller's contract.
            unsafe {
                std::arch::asm!(
                    "svc 0",
                    in("x8") nr,
                    inlateout("x0") a1 as isize => ret,
                    in("x1") a2,
                    in("x2") a3,
                    in("x3") a4,
                    in("x4") a5,
                    in("x5") a6,
                    options(nostack),
                );
            }
            ret
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            // SAFETY: the caller's contract, as for the inline versions.
            let n = unsafe { libc::syscall(nr, a1, a2, a3, a4, a5, a6) };
            if n < 0 {
                -(std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO) as isize)
            } else {
                n as isize
            }
        }
    }
}

//! Per-socket read and write timeouts, as std sockets keep them, and the
//! error std reports when one passes.

use std::cell::{Cell, OnceCell};
use std::io;
use std::ops::Deref;
use std::os::fd::AsFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use socket2::SockRef;

/// A socket's read and write timeouts. A timeout becomes a deadline once per
/// call, so spurious wakes inside that call never stretch it.
#[derive(Debug, Default)]
pub(crate) struct Timeouts {
    /// Longest a single read may park; `None` waits forever.
    read: Cell<Option<Duration>>,
    /// Longest a single write may park; `None` waits forever.
    write: Cell<Option<Duration>>,
}

impl Timeouts {
    /// The timeouts a std socket carries (`SO_RCVTIMEO`/`SO_SNDTIMEO`), so
    /// an adopted socket keeps them: the kernel ignores them once the socket
    /// is non-blocking, and weft applies them instead.
    pub(crate) fn of(socket: &impl AsFd) -> io::Result<Timeouts> {
        let socket = SockRef::from(socket);
        Ok(Timeouts {
            read: Cell::new(socket.read_timeout()?),
            write: Cell::new(socket.write_timeout()?),
        })
    }

    /// Hands these timeouts to the kernel, for a socket going back to std.
    pub(crate) fn apply(&self, socket: &impl AsFd) -> io::Result<()> {
        let socket = SockRef::from(socket);
        socket.set_read_timeout(self.read.get())?;
        socket.set_write_timeout(self.write.get())
    }

    pub(crate) fn set_read(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.read.set(check(timeout)?);
        Ok(())
    }

    pub(crate) fn set_write(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.write.set(check(timeout)?);
        Ok(())
    }

    pub(crate) fn read(&self) -> Option<Duration> {
        self.read.get()
    }

    pub(crate) fn write(&self) -> Option<Duration> {
        self.write.get()
    }
}

/// A socket's timeouts as each of its handles holds them: in the handle
/// until the socket is first cloned, then in one record every clone shares
/// (std's clones share `SO_RCVTIMEO`/`SO_SNDTIMEO`, which belong to the
/// socket, not the descriptor). Most sockets are never cloned: theirs sit
/// next to the registration they are read with, at no allocation and no
/// cache line of their own per operation.
#[derive(Debug, Default)]
pub(crate) struct SocketTimeouts {
    /// This handle's own, while `shared` is unset.
    own: Timeouts,
    /// The record all clones use, once there are clones.
    shared: OnceCell<Rc<Timeouts>>,
}

impl SocketTimeouts {
    pub(crate) fn new(timeouts: Timeouts) -> Self {
        SocketTimeouts {
            own: timeouts,
            shared: OnceCell::new(),
        }
    }

    /// The timeouts for a clone of this socket's handle: from now on both
    /// read and set the same record.
    pub(crate) fn share(&self) -> SocketTimeouts {
        let shared = self.shared.get_or_init(|| {
            Rc::new(Timeouts {
                read: Cell::new(self.own.read()),
                write: Cell::new(self.own.write()),
            })
        });
        SocketTimeouts {
            own: Timeouts::default(),
            shared: OnceCell::from(shared.clone()),
        }
    }
}

impl SocketTimeouts {
    /// The deadline for a read starting now. A socket that was never
    /// cloned and has no read timeout (most of them) is told by one look
    /// at its own record, before any choice between own and shared.
    #[inline]
    pub(crate) fn read_deadline(&self) -> Option<Instant> {
        if self.own.read.get().is_none() && self.shared.get().is_none() {
            return None;
        }
        deadline(self.read())
    }

    /// The deadline for a write starting now (see `read_deadline`).
    #[inline]
    pub(crate) fn write_deadline(&self) -> Option<Instant> {
        if self.own.write.get().is_none() && self.shared.get().is_none() {
            return None;
        }
        deadline(self.write())
    }
}

impl Deref for SocketTimeouts {
    type Target = Timeouts;

    #[inline]
    fn deref(&self) -> &Timeouts {
        match self.shared.get() {
            Some(shared) => shared,
            None => &self.own,
        }
    }
}

/// A deadline `timeout` from now; `None` (wait forever) when there is no
/// timeout or it lies beyond what `Instant` can hold.
#[inline]
pub(crate) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// std rejects a zero timeout, since it cannot mean "wait forever"; so do we.
pub(crate) fn nonzero(timeout: Duration) -> io::Result<Duration> {
    if timeout == Duration::ZERO {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    Ok(timeout)
}

/// A socket timeout as given to a setter: `None` or a nonzero duration.
fn check(timeout: Option<Duration>) -> io::Result<Option<Duration>> {
    timeout.map(nonzero).transpose()
}

/// Turns a passed read or write deadline into the error std returns on Linux
/// when `SO_RCVTIMEO`/`SO_SNDTIMEO` expires: `EAGAIN`, whose kind is
/// `WouldBlock` (see the note on `std::net::TcpStream::set_read_timeout`).
/// Code written against `std::net` then handles weft's timeouts unchanged.
///
/// Only the deadline's own error is mapped (it carries no OS error code): a
/// `TimedOut` from the kernel itself (`ETIMEDOUT`, say a keepalive that gave
/// up) stays as std reports it too.
#[inline]
pub(crate) fn std_kind<T>(result: io::Result<T>) -> io::Result<T> {
    result.map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() {
            io::Error::from_raw_os_error(libc::EAGAIN)
        } else {
            e
        }
    })
}

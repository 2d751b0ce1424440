//! Per-socket read and write timeouts, as std sockets keep them.

use std::cell::Cell;
use std::io;
use std::time::{Duration, Instant};

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

    /// The deadline for a read starting now.
    #[inline]
    pub(crate) fn read_deadline(&self) -> Option<Instant> {
        deadline(self.read.get())
    }

    /// The deadline for a write starting now.
    #[inline]
    pub(crate) fn write_deadline(&self) -> Option<Instant> {
        deadline(self.write.get())
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

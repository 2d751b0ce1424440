//! `UnixStream`: a Unix-domain stream whose blocking calls park the green thread.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use weft_runtime::Registration;

use crate::stream_io;
use crate::timeouts::Timeouts;

/// A Unix-domain stream socket, shaped like `std::os::unix::net::UnixStream`.
///
/// `Read` and `Write` are implemented for `UnixStream` and `&UnixStream`.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use weft_net::UnixStream;
///
/// weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let (mut a, mut b) = UnixStream::pair().unwrap();
///     let echo = weft_runtime::spawn(move || {
///         let mut buf = [0; 4];
///         b.read_exact(&mut buf).unwrap(); // parks until `a` writes
///         b.write_all(&buf).unwrap();
///     });
///     a.write_all(b"ping").unwrap();
///     let mut back = [0; 4];
///     a.read_exact(&mut back).unwrap();
///     assert_eq!(&back, b"ping");
///     echo.join().unwrap();
/// }).unwrap();
/// ```
pub struct UnixStream {
    /// The non-blocking socket, registered with the reactor.
    io: Registration<mio::net::UnixStream>,
    /// `set_read_timeout`/`set_write_timeout`, applied per call.
    timeouts: Timeouts,
}

impl UnixStream {
    pub(crate) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Registration::new(stream)?,
            timeouts: Timeouts::default(),
        })
    }

    /// Connects to the socket at `path`.
    ///
    /// A Unix-domain connect finishes at once or fails at once; while the
    /// listener's backlog is full (`WouldBlock`) the green thread sleeps a
    /// little and tries again, without blocking the loop.
    ///
    /// # Errors
    ///
    /// `NotFound` when nothing is at `path`, `ConnectionRefused` when
    /// nothing listens there; any other connect error.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let mut pause = Duration::from_millis(1);
        loop {
            match mio::net::UnixStream::connect(path.as_ref()) {
                Ok(stream) => return UnixStream::from_mio(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    weft_runtime::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A connected pair of streams.
    ///
    /// # Errors
    ///
    /// Any error creating the sockets.
    ///
    /// # Panics
    ///
    /// Panics outside a weft runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the read side, the write side or both.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Sets how long one read may park before failing with
    /// `ErrorKind::TimedOut`; `None` waits forever (the default).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_read(timeout)
    }

    /// Sets how long one write may park before failing with
    /// `ErrorKind::TimedOut`; `None` waits forever (the default).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_write(timeout)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl Read for &UnixStream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::read(&self.io, &self.timeouts, buf)
    }
}

impl Write for &UnixStream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        stream_io::write(&self.io, &self.timeouts, buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for UnixStream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for UnixStream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

/// For socket options this type does not wrap (e.g. through `socket2::SockRef`).
impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

//! `UnixStream`: a Unix-domain stream whose blocking calls park the green thread.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use weft_runtime::Registration;

use crate::adopt::{self, Kind};
use crate::stream_io;
use crate::timeouts::{SocketTimeouts, Timeouts};

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
    /// `set_read_timeout`/`set_write_timeout`, applied per call; shared with
    /// the handles `try_clone` makes, as std's belong to the socket.
    timeouts: SocketTimeouts,
}

impl UnixStream {
    pub(crate) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Registration::new(stream)?,
            timeouts: SocketTimeouts::default(),
        })
    }

    /// Adopts a `std::os::unix::net::UnixStream` into the runtime of the
    /// calling green thread: it is made non-blocking and registered, and its
    /// read and write timeouts carry over.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use weft_net::UnixStream;
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let mut a = UnixStream::from_std(a).unwrap();
    ///     b.write_all(b"hi").unwrap();
    ///     let mut buf = [0; 2];
    ///     a.read_exact(&mut buf).unwrap();
    ///     assert_eq!(&buf, b"hi");
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `Other` when called outside a green thread; `InvalidInput` when the
    /// descriptor is not a Unix-domain stream socket; any error registering
    /// it. The socket is closed on every error.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        let io = adopt::adopt("UnixStream::from_std", Kind::UnixStream, stream.into())?;
        let timeouts = SocketTimeouts::new(Timeouts::of(io.get_ref())?);
        Ok(UnixStream { io, timeouts })
    }

    /// Deregisters the stream and gives it back as a blocking
    /// `std::os::unix::net::UnixStream`, with this stream's timeouts set on
    /// it.
    ///
    /// # Errors
    ///
    /// Any error deregistering it or setting it blocking; the socket is then
    /// closed.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        let fd = adopt::release(self.io)?;
        self.timeouts.apply(&fd)?;
        Ok(fd.into())
    }

    /// A second handle on the same stream, as std's `try_clone`; see
    /// [`TcpStream::try_clone`](crate::TcpStream::try_clone).
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of descriptors, or any error registering
    /// the duplicate; nothing is left open or registered then. `Other`
    /// outside a green thread.
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: adopt::try_clone("UnixStream::try_clone", &self.io)?,
            timeouts: self.timeouts.share(),
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

    /// Sets how long one read may park; `None` waits forever (the default).
    /// A read that times out fails with `ErrorKind::WouldBlock` (`EAGAIN`),
    /// as std's does on Linux; see
    /// [`TcpStream::set_read_timeout`](crate::TcpStream::set_read_timeout).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_read(timeout)
    }

    /// Sets how long one write may park; `None` waits forever (the default).
    /// A write that times out fails with `ErrorKind::WouldBlock`, as std's.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_write(timeout)
    }

    /// The read timeout.
    ///
    /// # Errors
    ///
    /// Never; `io::Result` for std's signature.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.read())
    }

    /// The write timeout.
    ///
    /// # Errors
    ///
    /// Never; `io::Result` for std's signature.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.write())
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

/// Adopts a std stream as [`UnixStream::from_std`] does.
///
/// # Panics
///
/// Panics, with `from_std`'s message, outside a green thread or when the
/// descriptor is not a Unix-domain stream; use `from_std` to get the error.
impl From<std::os::unix::net::UnixStream> for UnixStream {
    fn from(stream: std::os::unix::net::UnixStream) -> UnixStream {
        UnixStream::from_std(stream).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Adopts a Unix-domain stream descriptor as [`UnixStream::from_std`] does.
///
/// # Panics
///
/// As for `From<std::os::unix::net::UnixStream>`.
impl From<OwnedFd> for UnixStream {
    fn from(fd: OwnedFd) -> UnixStream {
        UnixStream::from(std::os::unix::net::UnixStream::from(fd))
    }
}

/// Gives the descriptor back, deregistered and blocking, as
/// [`UnixStream::into_std`] does.
///
/// # Panics
///
/// Only if the poller refuses to deregister the socket or `fcntl` fails on
/// it, which Linux does not do for an open socket.
impl From<UnixStream> for OwnedFd {
    fn from(stream: UnixStream) -> OwnedFd {
        stream
            .into_std()
            .unwrap_or_else(|e| panic!("UnixStream into OwnedFd: {e}"))
            .into()
    }
}

impl IntoRawFd for UnixStream {
    fn into_raw_fd(self) -> RawFd {
        OwnedFd::from(self).into_raw_fd()
    }
}

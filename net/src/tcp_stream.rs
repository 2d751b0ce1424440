//! `TcpStream`: a TCP connection whose blocking calls park the green thread.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use weft_runtime::Registration;

use crate::addr::{each_addr, ToSocketAddrs};
use crate::stream_io;
use crate::timeouts::{self, Timeouts};

/// A TCP connection, shaped like `std::net::TcpStream`.
///
/// Reads and writes look blocking but park only the calling green thread;
/// the others run meanwhile. `Read` and `Write` are implemented for both
/// `TcpStream` and `&TcpStream`, so one green thread can read while another
/// writes (share it with `Rc`); several readers (or writers) queue oldest
/// first. `BufReader::read_line` and `write_all` work
/// as usual.
///
/// # Examples
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use weft_net::{TcpListener, TcpStream};
///
/// weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let server = weft_runtime::spawn(move || {
///         let (mut conn, _) = listener.accept().unwrap();
///         conn.write_all(b"hello\n").unwrap();
///     });
///     let mut line = String::new();
///     BufReader::new(TcpStream::connect(addr).unwrap()).read_line(&mut line).unwrap();
///     assert_eq!(line, "hello\n");
///     server.join().unwrap();
/// }).unwrap();
/// ```
pub struct TcpStream {
    /// The non-blocking socket, registered with the running runtime's reactor.
    io: Registration<mio::net::TcpStream>,
    /// `set_read_timeout`/`set_write_timeout`, applied per call.
    timeouts: Timeouts,
}

impl TcpStream {
    /// Wraps an accepted or freshly connected mio stream.
    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Registration::new(stream)?,
            timeouts: Timeouts::default(),
        })
    }

    /// Opens a connection to `addr`, trying each address it names in turn.
    ///
    /// The connect itself is non-blocking: the green thread parks until the
    /// handshake ends. A host name is resolved first (see [`ToSocketAddrs`]).
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` when nothing listens there; any other connect or
    /// resolution error (the last one if several addresses were tried).
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| TcpStream::connect_deadline(a, None))
    }

    /// Opens a connection to `addr`, giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// `TimedOut` when the handshake does not finish in time;
    /// `InvalidInput` for a zero timeout (as std); otherwise as [`connect`](Self::connect).
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let timeout = timeouts::nonzero(timeout)?;
        TcpStream::connect_deadline(*addr, timeouts::deadline(Some(timeout)))
    }

    fn connect_deadline(addr: SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        // The handshake is over when the socket turns writable: then either
        // `take_error` holds the failure or the peer address is known.
        stream.io.write_with_deadline(deadline, |s| {
            if let Some(e) = s.take_error()? {
                return Err(e);
            }
            match s.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        })?;
        Ok(stream)
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// `NotConnected` once the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Shuts down the read side, the write side or both. After
    /// `Shutdown::Write` the peer reads end-of-file while this side can
    /// still read its answer.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
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

    /// Reads without removing the bytes from the socket, parking until some
    /// arrive.
    ///
    /// # Errors
    ///
    /// As for `read`.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .read_with_deadline(self.timeouts.read_deadline(), |s| s.peek(buf))
    }

    /// Parks until a read may succeed; returns at once when the socket has
    /// not reported `WouldBlock` since it last became readable. With
    /// [`try_read`](Self::try_read) it lets a green thread wait for data
    /// without holding a buffer (for instance to share one buffer among
    /// many connections: the read and the write that follows then happen
    /// between two suspension points).
    ///
    /// # Errors
    ///
    /// `TimedOut` when a read timeout is set and passes.
    pub fn readable(&self) -> io::Result<()> {
        self.io.readable(self.timeouts.read_deadline())
    }

    /// Parks until a write may succeed; see [`readable`](Self::readable).
    ///
    /// # Errors
    ///
    /// `TimedOut` when a write timeout is set and passes.
    pub fn writable(&self) -> io::Result<()> {
        self.io.writable(self.timeouts.write_deadline())
    }

    /// Reads what is there without ever parking: `WouldBlock` when nothing is.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as for `read`.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.io.try_read_with(|mut s| s.read(buf))?;
        if n < buf.len() {
            self.io.read_drained();
        }
        Ok(n)
    }

    /// Writes what the socket takes now without ever parking: `WouldBlock`
    /// when it takes nothing.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as for `write`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let n = self.io.try_write_with(|mut s| s.write(buf))?;
        if n < buf.len() {
            self.io.write_filled();
        }
        Ok(n)
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

impl Read for &TcpStream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::read(&self.io, &self.timeouts, buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io
            .read_with_deadline(self.timeouts.read_deadline(), |mut s| s.read_vectored(bufs))
    }
}

impl Write for &TcpStream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        stream_io::write(&self.io, &self.timeouts, buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io
            .write_with_deadline(self.timeouts.write_deadline(), |mut s| {
                s.write_vectored(bufs)
            })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TcpStream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Write for TcpStream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        if let Ok(peer) = self.peer_addr() {
            d.field("peer", &peer);
        }
        d.finish()
    }
}

/// For socket options this type does not wrap (e.g. through `socket2::SockRef`).
impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

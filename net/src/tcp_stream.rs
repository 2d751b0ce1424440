//! `TcpStream`: a TCP connection whose blocking calls park the green thread.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use socket2::SockRef;
use weft_runtime::Registration;

use crate::addr::{each_addr, ToSocketAddrs};
use crate::adopt::{self, Kind};
use crate::stream_io;
use crate::timeouts::{self, std_kind, SocketTimeouts, Timeouts};

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
    /// `set_read_timeout`/`set_write_timeout`, applied per call; shared with
    /// the handles `try_clone` makes, as std's belong to the socket.
    timeouts: SocketTimeouts,
}

impl TcpStream {
    /// Wraps an accepted or freshly connected mio stream.
    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Registration::new(stream)?,
            timeouts: SocketTimeouts::default(),
        })
    }

    /// Adopts a `std::net::TcpStream` into the runtime of the calling green
    /// thread: the socket is made non-blocking and registered, and its read
    /// and write timeouts carry over. Use it for a connection made by code
    /// that knows only std, or for a socket inherited from another process.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use weft_net::{TcpListener, TcpStream};
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     // A connect to a local listener does not wait.
    ///     let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     let mut client = TcpStream::from_std(std_stream).unwrap();
    ///     let (mut conn, _) = listener.accept().unwrap();
    ///     client.write_all(b"hi").unwrap();
    ///     let mut buf = [0; 2];
    ///     conn.read_exact(&mut buf).unwrap();
    ///     assert_eq!(&buf, b"hi");
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `Other` when called outside a green thread (there is no loop to
    /// register with); `InvalidInput` when the descriptor is not a TCP
    /// stream (a listening or UDP socket, say); any error registering it.
    /// The socket is closed on every error.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let io = adopt::adopt("TcpStream::from_std", Kind::TcpStream, stream.into())?;
        let timeouts = SocketTimeouts::new(Timeouts::of(io.get_ref())?);
        Ok(TcpStream { io, timeouts })
    }

    /// Deregisters the stream and gives it back as a blocking
    /// `std::net::TcpStream`, with this stream's read and write timeouts set
    /// on the socket for std to honour. Handles made by
    /// [`try_clone`](Self::try_clone) stay registered and usable.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use weft_net::{TcpListener, TcpStream};
    ///
    /// let rt = weft_runtime::Runtime::new().unwrap();
    /// let (mut std_client, mut conn) = rt.block_on(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     let (conn, _) = listener.accept().unwrap();
    ///     (client.into_std().unwrap(), conn.into_std().unwrap())
    /// }).unwrap();
    /// // Plain blocking std sockets now, usable with no runtime at all.
    /// std_client.write_all(b"bye").unwrap();
    /// let mut buf = [0; 3];
    /// conn.read_exact(&mut buf).unwrap();
    /// assert_eq!(&buf, b"bye");
    /// ```
    ///
    /// # Errors
    ///
    /// Any error deregistering the socket or setting it blocking; the socket
    /// is then closed.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        let fd = adopt::release(self.io)?;
        self.timeouts.apply(&fd)?;
        Ok(fd.into())
    }

    /// A second handle on the same connection, as std's `try_clone`: the
    /// descriptor is duplicated and the duplicate registered on its own, so
    /// one green thread can read from one handle while another writes
    /// through the other, and either may be dropped first (the connection
    /// closes with the last one). Both share the read and write timeouts,
    /// as std's handles do.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use weft_net::{TcpListener, TcpStream};
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     let (conn, _) = listener.accept().unwrap();
    ///     let (mut reader, mut writer) = (conn.try_clone().unwrap(), conn);
    ///     let echo = weft_runtime::spawn(move || {
    ///         let mut buf = [0; 4];
    ///         reader.read_exact(&mut buf).unwrap(); // parks on its own handle
    ///         buf
    ///     });
    ///     client.write_all(b"ping").unwrap();
    ///     writer.write_all(&echo.join().unwrap()).unwrap();
    ///     let mut back = [0; 4];
    ///     client.read_exact(&mut back).unwrap();
    ///     assert_eq!(&back, b"ping");
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of descriptors, or any error registering
    /// the duplicate; nothing is left open or registered then. `Other`
    /// outside a green thread.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: adopt::try_clone("TcpStream::try_clone", &self.io)?,
            timeouts: self.timeouts.share(),
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

    /// Sets how long one read may park; `None` waits forever (the default).
    ///
    /// A read that times out fails with `ErrorKind::WouldBlock` (`EAGAIN`),
    /// the error std returns on Linux, so code written against `std::net`
    /// handles it unchanged. std's own note on `set_read_timeout` says:
    /// "Platforms may return a different error code whenever a read times
    /// out as a result of setting this option. For example Unix typically
    /// returns an error of the kind `WouldBlock`, but Windows may return
    /// `TimedOut`."
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    /// use weft_net::{TcpListener, TcpStream};
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     client.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    ///     let err = client.read(&mut [0; 8]).unwrap_err(); // nobody writes
    ///     assert_eq!(err.kind(), ErrorKind::WouldBlock);
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_read(timeout)
    }

    /// Sets how long one write may park; `None` waits forever (the default).
    /// A write that times out fails with `ErrorKind::WouldBlock`, as std's
    /// does on Linux (see [`set_read_timeout`](Self::set_read_timeout)).
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
        std_kind(
            self.io
                .read_with_deadline(self.timeouts.read_deadline(), |s| s.peek(buf)),
        )
    }

    /// Sets the IP time-to-live (`IP_TTL`) of outgoing packets.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_net::{TcpListener, TcpStream};
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let s = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     s.set_ttl(42).unwrap();
    ///     assert_eq!(s.ttl().unwrap(), 42);
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a TTL the OS rejects (0 or above 255 on Linux).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets `SO_LINGER`: with `Some(d)`, closing the stream waits (up to
    /// `d`, blocking the thread) for unsent data to go out, and
    /// `Some(Duration::ZERO)` resets the connection on close; `None` (the
    /// default) closes in the background.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_net::{TcpListener, TcpStream};
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let s = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     assert_eq!(s.linger().unwrap(), None);
    ///     s.set_linger(Some(Duration::ZERO)).unwrap(); // reset on close
    ///     assert_eq!(s.linger().unwrap(), Some(Duration::ZERO));
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self).linger()
    }

    /// Sets the size of the kernel's send buffer (`SO_SNDBUF`; Linux doubles
    /// the value for its bookkeeping and reports the doubled size back).
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        SockRef::from(self).set_send_buffer_size(size)
    }

    /// The size of the kernel's send buffer (`SO_SNDBUF`).
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        SockRef::from(self).send_buffer_size()
    }

    /// Sets the size of the kernel's receive buffer (`SO_RCVBUF`; doubled by
    /// Linux as for [`set_send_buffer_size`](Self::set_send_buffer_size)).
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        SockRef::from(self).set_recv_buffer_size(size)
    }

    /// The size of the kernel's receive buffer (`SO_RCVBUF`).
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        SockRef::from(self).recv_buffer_size()
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
    /// `WouldBlock` when a read timeout is set and passes, as for a read.
    #[inline(always)]
    pub fn readable(&self) -> io::Result<()> {
        std_kind(self.io.readable(self.timeouts.read_deadline()))
    }

    /// Parks until a write may succeed; see [`readable`](Self::readable).
    ///
    /// # Errors
    ///
    /// `WouldBlock` when a write timeout is set and passes, as for a write.
    #[inline(always)]
    pub fn writable(&self) -> io::Result<()> {
        std_kind(self.io.writable(self.timeouts.write_deadline()))
    }

    /// Reads what is there without ever parking: `WouldBlock` when nothing is.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as for `read`.
    #[inline]
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::try_read(&self.io, buf)
    }

    /// Writes what the socket takes now without ever parking: `WouldBlock`
    /// when it takes nothing.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as for `write`.
    #[inline]
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        stream_io::try_write(&self.io, buf)
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
        std_kind(
            self.io
                .read_with_deadline(self.timeouts.read_deadline(), |mut s| s.read_vectored(bufs)),
        )
    }
}

impl Write for &TcpStream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        stream_io::write(&self.io, &self.timeouts, buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        std_kind(
            self.io
                .write_with_deadline(self.timeouts.write_deadline(), |mut s| {
                    s.write_vectored(bufs)
                }),
        )
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

/// Adopts a std stream as [`TcpStream::from_std`] does.
///
/// # Panics
///
/// Panics, with `from_std`'s message, outside a green thread or when the
/// descriptor is not a TCP stream; use `from_std` to get the error instead.
impl From<std::net::TcpStream> for TcpStream {
    fn from(stream: std::net::TcpStream) -> TcpStream {
        TcpStream::from_std(stream).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Adopts a TCP stream descriptor as [`TcpStream::from_std`] does.
///
/// # Panics
///
/// As for `From<std::net::TcpStream>`.
impl From<OwnedFd> for TcpStream {
    fn from(fd: OwnedFd) -> TcpStream {
        TcpStream::from(std::net::TcpStream::from(fd))
    }
}

/// Gives the descriptor back, deregistered and blocking, as
/// [`TcpStream::into_std`] does.
///
/// # Panics
///
/// Only if the poller refuses to deregister the socket or `fcntl` fails on
/// it, which Linux does not do for an open socket.
impl From<TcpStream> for OwnedFd {
    fn from(stream: TcpStream) -> OwnedFd {
        stream
            .into_std()
            .unwrap_or_else(|e| panic!("TcpStream into OwnedFd: {e}"))
            .into()
    }
}

impl IntoRawFd for TcpStream {
    fn into_raw_fd(self) -> RawFd {
        OwnedFd::from(self).into_raw_fd()
    }
}

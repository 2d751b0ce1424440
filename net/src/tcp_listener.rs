//! `TcpListener`: accepts connections by parking, never by blocking.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

use socket2::SockRef;
use weft_runtime::Registration;

use crate::addr::ToSocketAddrs;
use crate::adopt::{self, Kind};
use crate::backoff::AcceptBackoff;
use crate::listen_options::ListenOptions;
use crate::tcp_stream::TcpStream;

/// A TCP socket server, shaped like `std::net::TcpListener`.
///
/// Built with `SO_REUSEADDR` and a backlog of 1024; use [`ListenOptions`]
/// for another backlog or `SO_REUSEPORT`. [`accept`](Self::accept) parks
/// the calling green thread until a client arrives. When the process is out
/// of file descriptors, `accept` backs off on a timer and retries instead of
/// spinning or failing, so the connections already open keep being served.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use weft_net::{TcpListener, TcpStream};
///
/// weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = weft_runtime::spawn(move || {
///         let mut s = TcpStream::connect(addr).unwrap();
///         s.write_all(b"ping").unwrap();
///     });
///     let (mut conn, peer) = listener.accept().unwrap();
///     assert!(peer.ip().is_loopback());
///     let mut buf = String::new();
///     conn.read_to_string(&mut buf).unwrap();
///     assert_eq!(buf, "ping");
///     client.join().unwrap();
/// }).unwrap();
/// ```
pub struct TcpListener {
    /// The non-blocking listening socket, registered with the reactor.
    io: Registration<mio::net::TcpListener>,
    /// Pacing of retries while descriptors are exhausted.
    backoff: AcceptBackoff,
}

impl TcpListener {
    /// Binds a listener to `addr` (`SO_REUSEADDR` on, backlog 1024), trying
    /// each address it names in turn. Port 0 picks a free port.
    ///
    /// # Errors
    ///
    /// `AddrInUse` when another socket holds the address; any other bind or
    /// resolution error (the last one if several addresses were tried).
    ///
    /// # Panics
    ///
    /// Panics outside a weft runtime.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        ListenOptions::new().bind(addr)
    }

    pub(crate) fn from_mio(listener: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Registration::new(listener)?,
            backoff: AcceptBackoff::default(),
        })
    }

    /// Adopts a listening `std::net::TcpListener` (for instance one passed
    /// in by systemd socket activation) into the runtime of the calling
    /// green thread: it is made non-blocking and registered, and keeps the
    /// backlog and options it was created with.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use weft_net::{TcpListener, TcpStream};
    ///
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = std_listener.local_addr().unwrap();
    /// weft_runtime::Runtime::new().unwrap().block_on(move || {
    ///     let listener = TcpListener::from_std(std_listener).unwrap();
    ///     let client = weft_runtime::spawn(move || {
    ///         TcpStream::connect(addr).unwrap().write_all(b"hi").unwrap();
    ///     });
    ///     let (mut conn, _) = listener.accept().unwrap(); // parks, never blocks
    ///     let mut got = String::new();
    ///     conn.read_to_string(&mut got).unwrap();
    ///     assert_eq!(got, "hi");
    ///     client.join().unwrap();
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `Other` when called outside a green thread; `InvalidInput` when the
    /// descriptor is not a listening TCP socket (bound but never `listen`ed,
    /// a stream, a UDP socket...); any error registering it. The socket is
    /// closed on every error.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: adopt::adopt("TcpListener::from_std", Kind::TcpListener, listener.into())?,
            backoff: AcceptBackoff::default(),
        })
    }

    /// Deregisters the listener and gives it back as a blocking
    /// `std::net::TcpListener`, still bound and listening: connections
    /// waiting in its backlog stay there for the new owner.
    ///
    /// # Errors
    ///
    /// Any error deregistering it or setting it blocking; the socket is then
    /// closed.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        adopt::release(self.io).map(Into::into)
    }

    /// A second handle on the same listening socket, as std's `try_clone`:
    /// a duplicated descriptor registered on its own, so green threads can
    /// accept through either handle, and the socket keeps listening until
    /// the last one is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_net::{TcpListener, TcpStream};
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let clone = listener.try_clone().unwrap();
    ///     drop(listener);
    ///     let _client = TcpStream::connect(addr).unwrap();
    ///     let (_conn, peer) = clone.accept().unwrap();
    ///     assert!(peer.ip().is_loopback());
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of descriptors, or any error registering
    /// the duplicate; nothing is left open or registered then. `Other`
    /// outside a green thread.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: adopt::try_clone("TcpListener::try_clone", &self.io)?,
            backoff: AcceptBackoff::default(),
        })
    }

    /// Waits for a connection and returns it with the client's address.
    ///
    /// Accepts until the queue is empty before parking, retries
    /// `ECONNABORTED` silently and waits out descriptor exhaustion
    /// (EMFILE/ENFILE) on a growing timer, logging it at most every few
    /// seconds through `tracing`.
    ///
    /// # Errors
    ///
    /// Any other error from `accept(2)` or from registering the new socket.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = self.backoff.accept(&self.io, |l| l.accept())?;
        Ok((TcpStream::from_mio(stream)?, addr))
    }

    /// An endless iterator over incoming connections, each from
    /// [`accept`](Self::accept).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address the listener is bound to (with the real port after binding port 0).
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets the IP time-to-live (`IP_TTL`) of the connections it accepts.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a TTL the OS rejects.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live set with [`set_ttl`](Self::set_ttl).
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets `IPV6_V6ONLY` on an IPv6 listener. Linux accepts it only before
    /// `bind`, so on a bound listener this reports the OS's refusal; bind
    /// with socket2 and adopt the socket with [`from_std`](Self::from_std)
    /// to choose it.
    ///
    /// # Errors
    ///
    /// `InvalidInput` once bound, or on an IPv4 socket.
    pub fn set_only_v6(&self, only_v6: bool) -> io::Result<()> {
        SockRef::from(self).set_only_v6(only_v6)
    }

    /// Whether an IPv6 listener accepts only IPv6 connections
    /// (`IPV6_V6ONLY`), rather than IPv4 ones too.
    ///
    /// # Examples
    ///
    /// ```
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let Ok(listener) = weft_net::TcpListener::bind("[::1]:0") else {
    ///         return; // no IPv6 on this machine
    ///     };
    ///     // Linux marks a socket bound to one IPv6 address (not `::`) v6-only.
    ///     assert!(listener.only_v6().unwrap());
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` (`ENOPROTOOPT`) on an IPv4 listener.
    pub fn only_v6(&self) -> io::Result<bool> {
        SockRef::from(self).only_v6()
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

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.finish()
    }
}

/// The connections arriving at a [`TcpListener`], from
/// [`TcpListener::incoming`]. Never returns `None`.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }
}

/// For socket options this type does not wrap (e.g. through `socket2::SockRef`).
impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

/// Adopts a std listener as [`TcpListener::from_std`] does.
///
/// # Panics
///
/// Panics, with `from_std`'s message, outside a green thread or when the
/// socket is not a listening TCP socket; use `from_std` to get the error.
impl From<std::net::TcpListener> for TcpListener {
    fn from(listener: std::net::TcpListener) -> TcpListener {
        TcpListener::from_std(listener).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Adopts a listening TCP descriptor as [`TcpListener::from_std`] does.
///
/// # Panics
///
/// As for `From<std::net::TcpListener>`.
impl From<OwnedFd> for TcpListener {
    fn from(fd: OwnedFd) -> TcpListener {
        TcpListener::from(std::net::TcpListener::from(fd))
    }
}

/// Gives the descriptor back, deregistered and blocking, as
/// [`TcpListener::into_std`] does.
///
/// # Panics
///
/// Only if the poller refuses to deregister the socket or `fcntl` fails on
/// it, which Linux does not do for an open socket.
impl From<TcpListener> for OwnedFd {
    fn from(listener: TcpListener) -> OwnedFd {
        adopt::release(listener.io).unwrap_or_else(|e| panic!("TcpListener into OwnedFd: {e}"))
    }
}

impl IntoRawFd for TcpListener {
    fn into_raw_fd(self) -> RawFd {
        OwnedFd::from(self).into_raw_fd()
    }
}

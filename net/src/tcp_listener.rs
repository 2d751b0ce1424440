//! `TcpListener`: accepts connections by parking, never by blocking.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use weft_runtime::Registration;

use crate::addr::ToSocketAddrs;
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

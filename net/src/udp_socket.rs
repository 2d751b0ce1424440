//! `UdpSocket`: datagrams whose blocking calls park the green thread.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use weft_runtime::Registration;

use crate::addr::{each_addr, resolve, ToSocketAddrs};
use crate::timeouts::Timeouts;

/// A UDP socket, shaped like `std::net::UdpSocket`.
///
/// # Examples
///
/// ```
/// use weft_net::UdpSocket;
///
/// weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"hi", b.local_addr().unwrap()).unwrap();
///     let mut buf = [0; 8];
///     let (n, from) = b.recv_from(&mut buf).unwrap();
///     assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr().unwrap()));
/// }).unwrap();
/// ```
pub struct UdpSocket {
    /// The non-blocking socket, registered with the reactor.
    io: Registration<mio::net::UdpSocket>,
    /// `set_read_timeout`/`set_write_timeout`, applied per call.
    timeouts: Timeouts,
}

impl UdpSocket {
    /// Binds a socket to `addr`, trying each address it names in turn.
    ///
    /// # Errors
    ///
    /// `AddrInUse` when the address is taken; any other bind or resolution error.
    ///
    /// # Panics
    ///
    /// Panics outside a weft runtime.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| {
            Ok(UdpSocket {
                io: Registration::new(mio::net::UdpSocket::bind(a)?)?,
                timeouts: Timeouts::default(),
            })
        })
    }

    /// Sets the default peer for [`send`](Self::send) and the only source
    /// [`recv`](Self::recv) accepts.
    ///
    /// # Errors
    ///
    /// Any resolution or connect error.
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(&addr, |a| self.io.get_ref().connect(a))
    }

    /// Sends one datagram to `target` (its first address), parking while
    /// the send buffer is full.
    ///
    /// # Errors
    ///
    /// `TimedOut` past the write timeout; any resolution or send error.
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let Some(&to) = resolve(&target)?.first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            ));
        };
        self.io
            .write_with_deadline(self.timeouts.write_deadline(), |s| s.send_to(buf, to))
    }

    /// Receives one datagram, parking until it arrives; returns its length
    /// and sender. Bytes beyond `buf` are discarded, as std does.
    ///
    /// # Errors
    ///
    /// `TimedOut` past the read timeout; any receive error.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .read_with_deadline(self.timeouts.read_deadline(), |s| s.recv_from(buf))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` without [`connect`](Self::connect); `TimedOut` past
    /// the write timeout; any send error.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io
            .write_with_deadline(self.timeouts.write_deadline(), |s| s.send(buf))
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// `TimedOut` past the read timeout; any receive error.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .read_with_deadline(self.timeouts.read_deadline(), |s| s.recv(buf))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` without [`connect`](Self::connect).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets how long one receive may park before failing with
    /// `ErrorKind::TimedOut`; `None` waits forever (the default).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_read(timeout)
    }

    /// Sets how long one send may park before failing with
    /// `ErrorKind::TimedOut`; `None` waits forever (the default).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_write(timeout)
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
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

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UdpSocket");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        d.finish()
    }
}

/// For socket options this type does not wrap (e.g. through `socket2::SockRef`).
impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

//! `UdpSocket`: datagrams whose blocking calls park the green thread.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use socket2::SockRef;
use weft_runtime::Registration;

use crate::addr::{each_addr, resolve, ToSocketAddrs};
use crate::adopt::{self, Kind};
use crate::timeouts::{std_kind, SocketTimeouts, Timeouts};

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
    /// `set_read_timeout`/`set_write_timeout`, applied per call; shared with
    /// the handles `try_clone` makes, as std's belong to the socket.
    timeouts: SocketTimeouts,
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
                timeouts: SocketTimeouts::default(),
            })
        })
    }

    /// Adopts a `std::net::UdpSocket` into the runtime of the calling green
    /// thread: it is made non-blocking and registered, and its read and
    /// write timeouts carry over.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_net::UdpSocket;
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let a = UdpSocket::from_std(std_socket).unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     b.send_to(b"hi", a.local_addr().unwrap()).unwrap();
    ///     let mut buf = [0; 2];
    ///     assert_eq!(a.recv(&mut buf).unwrap(), 2);
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `Other` when called outside a green thread; `InvalidInput` when the
    /// descriptor is not a UDP socket; any error registering it. The socket
    /// is closed on every error.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        let io = adopt::adopt("UdpSocket::from_std", Kind::UdpSocket, socket.into())?;
        let timeouts = SocketTimeouts::new(Timeouts::of(io.get_ref())?);
        Ok(UdpSocket { io, timeouts })
    }

    /// Deregisters the socket and gives it back as a blocking
    /// `std::net::UdpSocket`, with this socket's timeouts set on it.
    ///
    /// # Errors
    ///
    /// Any error deregistering it or setting it blocking; the socket is then
    /// closed.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        let fd = adopt::release(self.io)?;
        self.timeouts.apply(&fd)?;
        Ok(fd.into())
    }

    /// A second handle on the same socket, as std's `try_clone`: a
    /// duplicated descriptor registered on its own, so one green thread can
    /// receive on one handle while another sends through the other. Both
    /// share the timeouts, as std's handles do.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_net::UdpSocket;
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let receiver = a.try_clone().unwrap();
    ///     let waiting = weft_runtime::spawn(move || {
    ///         let mut buf = [0; 8];
    ///         let n = receiver.recv(&mut buf).unwrap(); // parks on the clone
    ///         buf[..n].to_vec()
    ///     });
    ///     weft_runtime::yield_now();
    ///     a.send_to(b"self", a.local_addr().unwrap()).unwrap();
    ///     assert_eq!(waiting.join().unwrap(), b"self");
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of descriptors, or any error registering
    /// the duplicate; nothing is left open or registered then. `Other`
    /// outside a green thread.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: adopt::try_clone("UdpSocket::try_clone", &self.io)?,
            timeouts: self.timeouts.share(),
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
    /// `WouldBlock` past the write timeout (as std); any resolution or send
    /// error.
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let Some(&to) = resolve(&target)?.first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            ));
        };
        std_kind(
            self.io
                .write_with_deadline(self.timeouts.write_deadline(), |s| s.send_to(buf, to)),
        )
    }

    /// Receives one datagram, parking until it arrives; returns its length
    /// and sender. Bytes beyond `buf` are discarded, as std does.
    ///
    /// # Errors
    ///
    /// `WouldBlock` past the read timeout (as std); any receive error.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std_kind(
            self.io
                .read_with_deadline(self.timeouts.read_deadline(), |s| s.recv_from(buf)),
        )
    }

    /// Receives one datagram like [`recv_from`](Self::recv_from) but leaves
    /// it queued, so the next receive returns it again.
    ///
    /// # Examples
    ///
    /// ```
    /// use weft_net::UdpSocket;
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.send_to(b"again", b.local_addr().unwrap()).unwrap();
    ///     let mut buf = [0; 8];
    ///     let (n, from) = b.peek_from(&mut buf).unwrap(); // parks until it arrives
    ///     assert_eq!((&buf[..n], from), (&b"again"[..], a.local_addr().unwrap()));
    ///     assert_eq!(b.recv(&mut buf).unwrap(), 5); // still there
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`recv_from`](Self::recv_from).
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std_kind(
            self.io
                .read_with_deadline(self.timeouts.read_deadline(), |s| s.peek_from(buf)),
        )
    }

    /// Receives one datagram from the connected peer like
    /// [`recv`](Self::recv) but leaves it queued.
    ///
    /// # Errors
    ///
    /// As for [`recv`](Self::recv).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std_kind(
            self.io
                .read_with_deadline(self.timeouts.read_deadline(), |s| s.peek(buf)),
        )
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` without [`connect`](Self::connect); `WouldBlock` past
    /// the write timeout (as std); any send error.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        std_kind(
            self.io
                .write_with_deadline(self.timeouts.write_deadline(), |s| s.send(buf)),
        )
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// `WouldBlock` past the read timeout (as std); any receive error.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        std_kind(
            self.io
                .read_with_deadline(self.timeouts.read_deadline(), |s| s.recv(buf)),
        )
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

    /// Sets how long one receive may park; `None` waits forever (the
    /// default). A receive that times out fails with `ErrorKind::WouldBlock`
    /// (`EAGAIN`), as std's does on Linux; see
    /// [`TcpStream::set_read_timeout`](crate::TcpStream::set_read_timeout).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `Some(Duration::ZERO)`, as std.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set_read(timeout)
    }

    /// Sets how long one send may park; `None` waits forever (the default).
    /// A send that times out fails with `ErrorKind::WouldBlock`, as std's.
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

    /// Sets `SO_BROADCAST`, which allows sending to a broadcast address.
    ///
    /// # Examples
    ///
    /// ```
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let s = weft_net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.set_broadcast(true).unwrap();
    ///     assert!(s.broadcast().unwrap());
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets the IP time-to-live (`IP_TTL`) of outgoing datagrams.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a TTL the OS rejects.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing datagrams.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with
    /// address `interface` (`Ipv4Addr::UNSPECIFIED` lets the OS choose).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    ///
    /// weft_runtime::Runtime::new().unwrap().block_on(|| {
    ///     let s = weft_net::UdpSocket::bind("0.0.0.0:0").unwrap();
    ///     let group = Ipv4Addr::new(239, 255, 0, 1);
    ///     // A host without a multicast route (some containers) refuses to join.
    ///     if s.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST).is_ok() {
    ///         s.set_multicast_loop_v4(true).unwrap();
    ///         s.set_multicast_ttl_v4(1).unwrap();
    ///         s.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST).unwrap();
    ///     }
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an address that is not multicast; any error from
    /// the OS (no such interface, no multicast route).
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(multiaddr, interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on the interface with
    /// index `interface` (0 lets the OS choose).
    ///
    /// # Errors
    ///
    /// As for [`join_multicast_v4`](Self::join_multicast_v4).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves a group joined with [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// # Errors
    ///
    /// `EADDRNOTAVAIL` when the socket is not in that group.
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(multiaddr, interface)
    }

    /// Leaves a group joined with [`join_multicast_v6`](Self::join_multicast_v6).
    ///
    /// # Errors
    ///
    /// `EADDRNOTAVAIL` when the socket is not in that group.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(multiaddr, interface)
    }

    /// Sets `IP_MULTICAST_LOOP`: whether this host's own members of a group
    /// receive what the socket sends to it (on by default).
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`, how many hops IPv4 multicast datagrams may
    /// travel (1 by default: the local network only).
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// The `IP_MULTICAST_TTL` setting.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get_ref().multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP` on an IPv6 socket.
    ///
    /// # Errors
    ///
    /// Any error from the OS (on an IPv4 socket, say).
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    /// Whether `IPV6_MULTICAST_LOOP` is set.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v6()
    }

    /// Sets the size of the kernel's send buffer (`SO_SNDBUF`; Linux
    /// doubles the value and reports the doubled size back).
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

    /// Sets the size of the kernel's receive buffer (`SO_RCVBUF`, doubled
    /// by Linux likewise).
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

/// Adopts a std socket as [`UdpSocket::from_std`] does.
///
/// # Panics
///
/// Panics, with `from_std`'s message, outside a green thread or when the
/// descriptor is not a UDP socket; use `from_std` to get the error.
impl From<std::net::UdpSocket> for UdpSocket {
    fn from(socket: std::net::UdpSocket) -> UdpSocket {
        UdpSocket::from_std(socket).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Adopts a UDP descriptor as [`UdpSocket::from_std`] does.
///
/// # Panics
///
/// As for `From<std::net::UdpSocket>`.
impl From<OwnedFd> for UdpSocket {
    fn from(fd: OwnedFd) -> UdpSocket {
        UdpSocket::from(std::net::UdpSocket::from(fd))
    }
}

/// Gives the descriptor back, deregistered and blocking, as
/// [`UdpSocket::into_std`] does.
///
/// # Panics
///
/// Only if the poller refuses to deregister the socket or `fcntl` fails on
/// it, which Linux does not do for an open socket.
impl From<UdpSocket> for OwnedFd {
    fn from(socket: UdpSocket) -> OwnedFd {
        socket
            .into_std()
            .unwrap_or_else(|e| panic!("UdpSocket into OwnedFd: {e}"))
            .into()
    }
}

impl IntoRawFd for UdpSocket {
    fn into_raw_fd(self) -> RawFd {
        OwnedFd::from(self).into_raw_fd()
    }
}

//! `ListenOptions`: how a `TcpListener` is built (backlog, `SO_REUSEPORT`).

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

use crate::addr::{each_addr, ToSocketAddrs};
use crate::tcp_listener::TcpListener;

/// Options for binding a [`TcpListener`], in the manner of
/// `std::fs::OpenOptions`.
///
/// `SO_REUSEADDR` is always on (a restarted server can rebind while old
/// connections sit in `TIME_WAIT`); `SO_REUSEPORT` only when asked.
///
/// # Examples
///
/// ```
/// use weft_net::ListenOptions;
///
/// weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let listener = ListenOptions::new().backlog(5).bind("127.0.0.1:0").unwrap();
///     assert_ne!(listener.local_addr().unwrap().port(), 0);
/// }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct ListenOptions {
    /// Pending connections the kernel queues before refusing more.
    backlog: i32,
    /// Whether several listeners may share one port (`SO_REUSEPORT`).
    reuse_port: bool,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            backlog: 1024,
            reuse_port: false,
        }
    }
}

impl ListenOptions {
    /// The defaults: backlog 1024, no `SO_REUSEPORT`.
    pub fn new() -> Self {
        ListenOptions::default()
    }

    /// The length of the queue of pending connections (the kernel may cap
    /// it at `net.core.somaxconn`). The seed's echo server uses 5.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self
    }

    /// Sets `SO_REUSEPORT`, letting several listeners bind the same port.
    pub fn reuse_port(mut self, reuse: bool) -> Self {
        self.reuse_port = reuse;
        self
    }

    /// Binds a listener with these options, trying each address `addr`
    /// names in turn.
    ///
    /// # Errors
    ///
    /// `AddrInUse` when another socket holds the address; any other socket,
    /// bind, listen or resolution error.
    ///
    /// # Panics
    ///
    /// Panics outside a weft runtime.
    pub fn bind<A: ToSocketAddrs>(&self, addr: A) -> io::Result<TcpListener> {
        each_addr(&addr, |a| self.bind_addr(a))
    }

    fn bind_addr(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        if self.reuse_port {
            socket.set_reuse_port(true)?;
        }
        socket.bind(&addr.into()).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot bind a TCP listener to {addr}: {e}"),
            )
        })?;
        socket.listen(self.backlog)?;
        socket.set_nonblocking(true)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(socket.into()))
    }
}

//! What a [`Server`](super::Server) serves from and what it manages: the
//! listener and stream traits, implemented for TCP and Unix sockets.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use crate::{TcpListener, TcpStream, UnixListener, UnixStream};

/// A listener a [`Server`](super::Server) accepts connections from:
/// [`TcpListener`] or [`UnixListener`].
///
/// # Examples
///
/// A server on a Unix-domain socket:
///
/// ```
/// use std::io::{Read, Write};
/// use weft_net::{Server, UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("weft-server-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// weft_runtime::Runtime::new().unwrap().block_on({
///     let path = path.clone();
///     move || {
///         let server = Server::new(UnixListener::bind(&path).unwrap()).unwrap();
///         let stop = server.shutdown_handle();
///         weft_runtime::spawn(move || {
///             let mut c = UnixStream::connect(&path).unwrap();
///             c.write_all(b"hi").unwrap();
///             let mut got = [0; 2];
///             c.read_exact(&mut got).unwrap();
///             assert_eq!(&got, b"hi");
///             stop.shutdown();
///         });
///         server.serve(|conn| {
///             let mut buf = [0; 2];
///             (&conn).read_exact(&mut buf)?;
///             (&conn).write_all(&buf)
///         }).unwrap();
///     }
/// }).unwrap();
/// std::fs::remove_file(&path).unwrap();
/// ```
pub trait ServerListener: 'static {
    /// The connections it yields.
    type Stream: ServerStream;

    /// Waits for the next connection, parking the calling green thread.
    ///
    /// # Errors
    ///
    /// As the listener's own `accept`.
    fn accept_stream(&self) -> io::Result<(Self::Stream, <Self::Stream as ServerStream>::Addr)>;
}

/// What a [`Server`](super::Server) needs from a connection: a way to end
/// its read side (the drain closes idle connections so) and per-operation
/// timeouts (the idle timeout).
pub trait ServerStream: 'static {
    /// The peer's address, as the listener reported it.
    type Addr: fmt::Debug + 'static;

    /// Shuts down the read side, the write side or both.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;

    /// Sets how long one read may park.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// Sets how long one write may park.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// Called once on every accepted connection before its handler runs.
    /// TCP turns `TCP_NODELAY` on, so an answer goes out at once instead of
    /// waiting for the client's delayed ACK of the previous one.
    fn prepare(&self) {}
}

impl ServerListener for TcpListener {
    type Stream = TcpStream;

    fn accept_stream(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept()
    }
}

impl ServerStream for TcpStream {
    type Addr = SocketAddr;

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        TcpStream::shutdown(self, how)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }

    fn prepare(&self) {
        // A peer already gone makes this fail; its handler will see why.
        let _ = self.set_nodelay(true);
    }
}

impl ServerListener for UnixListener {
    type Stream = UnixStream;

    fn accept_stream(&self) -> io::Result<(UnixStream, std::os::unix::net::SocketAddr)> {
        self.accept()
    }
}

impl ServerStream for UnixStream {
    type Addr = std::os::unix::net::SocketAddr;

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        UnixStream::shutdown(self, how)
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, timeout)
    }
}

/// Errors of `accept` that concern one incoming connection, not the
/// listener: logged, and accepting goes on.
pub(crate) fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::PermissionDenied // a firewall rule refused it
    ) || e.raw_os_error() == Some(libc::EPROTO)
}

/// Whether a handler's error is a read or write that parked past the idle
/// timeout. Timeouts surface with the kind std uses on the platform
/// (`WouldBlock` on Linux, `TimedOut` elsewhere), and a green stream never
/// returns `WouldBlock` from a parking call otherwise.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

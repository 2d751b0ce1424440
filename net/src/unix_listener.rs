//! `UnixListener`: accepts Unix-domain connections by parking.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use weft_runtime::Registration;

use crate::backoff::AcceptBackoff;
use crate::unix_stream::UnixStream;

/// A Unix-domain socket server, shaped like `std::os::unix::net::UnixListener`.
///
/// Like [`TcpListener`](crate::TcpListener), `accept` waits out descriptor
/// exhaustion on a timer instead of spinning.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use weft_net::{UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("weft-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// weft_runtime::Runtime::new().unwrap().block_on({
///     let path = path.clone();
///     move || {
///         let listener = UnixListener::bind(&path).unwrap();
///         let client = weft_runtime::spawn(move || {
///             UnixStream::connect(&path).unwrap().write_all(b"hi").unwrap();
///         });
///         let (mut conn, _) = listener.accept().unwrap();
///         let mut got = String::new();
///         conn.read_to_string(&mut got).unwrap();
///         assert_eq!(got, "hi");
///         client.join().unwrap();
///     }
/// }).unwrap();
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    /// The non-blocking listening socket, registered with the reactor.
    io: Registration<mio::net::UnixListener>,
    /// Pacing of retries while descriptors are exhausted.
    backoff: AcceptBackoff,
}

impl UnixListener {
    /// Binds a listener to the socket file at `path` (which must not exist).
    ///
    /// # Errors
    ///
    /// `AddrInUse` when `path` exists; any other bind error.
    ///
    /// # Panics
    ///
    /// Panics outside a weft runtime.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Registration::new(mio::net::UnixListener::bind(path)?)?,
            backoff: AcceptBackoff::default(),
        })
    }

    /// Waits for a connection; see [`TcpListener::accept`](crate::TcpListener::accept).
    ///
    /// # Errors
    ///
    /// Any error from `accept(2)` other than descriptor exhaustion.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = self.backoff.accept(&self.io, |l| l.accept())?;
        Ok((UnixStream::from_mio(stream)?, addr))
    }

    /// An endless iterator over incoming connections.
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("addr", &self.local_addr().ok())
            .finish()
    }
}

/// The connections arriving at a [`UnixListener`], from
/// [`UnixListener::incoming`]. Never returns `None`.
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }
}

/// For socket options this type does not wrap (e.g. through `socket2::SockRef`).
impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

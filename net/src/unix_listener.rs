//! `UnixListener`: accepts Unix-domain connections by parking.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use weft_runtime::Registration;

use crate::adopt::{self, Kind};
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

    /// Adopts a listening `std::os::unix::net::UnixListener` (one passed in
    /// by socket activation, say) into the runtime of the calling green
    /// thread: it is made non-blocking and registered.
    ///
    /// # Errors
    ///
    /// `Other` when called outside a green thread; `InvalidInput` when the
    /// descriptor is not a listening Unix-domain socket; any error
    /// registering it. The socket is closed on every error.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: adopt::adopt(
                "UnixListener::from_std",
                Kind::UnixListener,
                listener.into(),
            )?,
            backoff: AcceptBackoff::default(),
        })
    }

    /// Deregisters the listener and gives it back as a blocking
    /// `std::os::unix::net::UnixListener`, still listening.
    ///
    /// # Errors
    ///
    /// Any error deregistering it or setting it blocking; the socket is then
    /// closed.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        adopt::release(self.io).map(Into::into)
    }

    /// A second handle on the same listening socket, as std's `try_clone`;
    /// see [`TcpListener::try_clone`](crate::TcpListener::try_clone).
    ///
    /// # Errors
    ///
    /// `EMFILE`/`ENFILE` when out of descriptors, or any error registering
    /// the duplicate; nothing is left open or registered then. `Other`
    /// outside a green thread.
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: adopt::try_clone("UnixListener::try_clone", &self.io)?,
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

/// Adopts a std listener as [`UnixListener::from_std`] does.
///
/// # Panics
///
/// Panics, with `from_std`'s message, outside a green thread or when the
/// descriptor is not a listening Unix-domain socket; use `from_std` to get
/// the error.
impl From<std::os::unix::net::UnixListener> for UnixListener {
    fn from(listener: std::os::unix::net::UnixListener) -> UnixListener {
        UnixListener::from_std(listener).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Adopts a listening Unix-domain descriptor as [`UnixListener::from_std`]
/// does.
///
/// # Panics
///
/// As for `From<std::os::unix::net::UnixListener>`.
impl From<OwnedFd> for UnixListener {
    fn from(fd: OwnedFd) -> UnixListener {
        UnixListener::from(std::os::unix::net::UnixListener::from(fd))
    }
}

/// Gives the descriptor back, deregistered and blocking, as
/// [`UnixListener::into_std`] does.
///
/// # Panics
///
/// Only if the poller refuses to deregister the socket or `fcntl` fails on
/// it, which Linux does not do for an open socket.
impl From<UnixListener> for OwnedFd {
    fn from(listener: UnixListener) -> OwnedFd {
        adopt::release(listener.io).unwrap_or_else(|e| panic!("UnixListener into OwnedFd: {e}"))
    }
}

impl IntoRawFd for UnixListener {
    fn into_raw_fd(self) -> RawFd {
        OwnedFd::from(self).into_raw_fd()
    }
}

//! `Connection`: what a [`Server`](super::Server)'s handler gets, the
//! stream plus the one thing the server cannot see for itself, whether a
//! request is in progress.

use std::cell::Cell;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::ops::Deref;
use std::rc::Rc;

use super::listener::ServerStream;
use crate::{TcpStream, UnixStream};

/// One accepted connection, handed to the handler of a
/// [`Server`](super::Server). Derefs to the stream (`TcpStream`,
/// `UnixStream`) and reads and writes like it.
///
/// The server's graceful drain closes connections that are *idle*: not in
/// the middle of a request. Only the handler knows where requests begin
/// and end, so it says so with [`set_busy`](Self::set_busy): `true` once a
/// request has started (part of it read, or its answer not yet written),
/// `false` when everything read has been answered. A connection is idle
/// until told otherwise, which is right for protocols that answer each read
/// before the next one (a raw echo). When the drain starts, an idle
/// connection's read side is shut down: its handler's read in progress, or
/// its next one, sees end-of-file once the bytes already received are read
/// (Linux wakes a read parked in epoll for it), so it ends as it would when
/// the client leaves. A busy one is left to finish; its read side is shut
/// the moment it turns idle.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use weft_net::{Server, TcpStream};
///
/// weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let server = Server::bind("127.0.0.1:0").unwrap();
///     let addr = server.local_addr().unwrap();
///     let stop = server.shutdown_handle();
///     weft_runtime::spawn(move || {
///         let mut c = TcpStream::connect(addr).unwrap();
///         c.write_all(b"ping").unwrap();
///         let mut pong = [0; 4];
///         c.read_exact(&mut pong).unwrap();
///         assert_eq!(&pong, b"PING");
///         stop.shutdown();
///     });
///     let summary = server.serve(|conn| {
///         let mut req = [0; 4];
///         (&conn).read_exact(&mut req)?;
///         conn.set_busy(true); // a request is in: the drain lets it finish
///         (&conn).write_all(&req.to_ascii_uppercase())?;
///         conn.set_busy(false);
///         Ok(())
///     }).unwrap();
///     assert_eq!(summary.accepted, 1);
/// }).unwrap();
/// ```
pub struct Connection<S: ServerStream> {
    state: Rc<ConnState<S>>,
    /// The server's drain state, to close the read side on turning idle.
    /// Here rather than in the shared record: the handler's `Connection`
    /// sits on its task's stack, where it costs no memory of its own.
    drain: Rc<Drain>,
}

/// A connection's record, shared by its handler and the server's table.
/// Kept to 104 bytes, which with the `Rc` counts is one 128-byte block of
/// the allocator's.
pub(crate) struct ConnState<S: ServerStream> {
    /// The socket.
    stream: S,
    /// The peer's address as `accept` gave it (still there after a reset).
    peer: S::Addr,
    /// The handler's word: a request is in progress.
    busy: Cell<bool>,
    /// Whether the drain already shut the read side.
    read_shut: Cell<bool>,
    /// Set when the drain cancelled its task at the deadline.
    cancelled: Cell<bool>,
}

/// The server-wide drain flag, shared with every connection.
#[derive(Debug, Default)]
pub(crate) struct Drain {
    /// Set when shutdown begins; never cleared.
    pub(crate) draining: Cell<bool>,
    /// Connections whose read side the drain shut (idle ones).
    pub(crate) closed_idle: Cell<u64>,
}

impl<S: ServerStream> ConnState<S> {
    pub(crate) fn new(stream: S, peer: S::Addr) -> Self {
        ConnState {
            stream,
            peer,
            busy: Cell::new(false),
            read_shut: Cell::new(false),
            cancelled: Cell::new(false),
        }
    }

    pub(crate) fn peer(&self) -> &S::Addr {
        &self.peer
    }

    /// Marks the connection as cancelled by the drain.
    pub(crate) fn set_cancelled(&self) {
        self.cancelled.set(true);
    }

    /// Whether the drain cancelled it.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }

    /// Shuts the read side if the connection is idle and the server is
    /// draining; once.
    pub(crate) fn close_if_idle(&self, drain: &Drain) {
        if self.busy.get() || self.read_shut.get() || !drain.draining.get() {
            return;
        }
        self.read_shut.set(true);
        drain.closed_idle.set(drain.closed_idle.get() + 1);
        if let Err(e) = self.stream.shutdown(Shutdown::Read) {
            tracing::debug!(peer = ?self.peer, error = %e, "drain: shutting an idle connection's read side failed");
        } else {
            tracing::debug!(peer = ?self.peer, "drain: idle connection's read side shut");
        }
    }
}

impl<S: ServerStream> Connection<S> {
    pub(crate) fn new(state: Rc<ConnState<S>>, drain: Rc<Drain>) -> Self {
        Connection { state, drain }
    }

    /// The peer's address, as `accept` reported it (still known after the
    /// peer reset the connection, unlike `peer_addr`).
    pub fn peer(&self) -> &S::Addr {
        &self.state.peer
    }

    /// Tells the server whether a request is in progress (see the type's
    /// docs). Turning idle while the server drains shuts the read side.
    pub fn set_busy(&self, busy: bool) {
        self.state.busy.set(busy);
        if !busy {
            self.state.close_if_idle(&self.drain);
        }
    }

    /// Whether the handler said a request is in progress.
    pub fn is_busy(&self) -> bool {
        self.state.busy.get()
    }

    /// Whether the server is shutting down.
    pub fn is_draining(&self) -> bool {
        self.drain.draining.get()
    }
}

impl<S: ServerStream> Deref for Connection<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.state.stream
    }
}

/// `Read` and `Write` for `&Connection<S>` (and `Connection<S>`), as the stream has them.
macro_rules! stream_io {
    ($stream:ty) => {
        impl Read for &Connection<$stream> {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                (&self.state.stream).read(buf)
            }

            fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
                (&self.state.stream).read_vectored(bufs)
            }
        }

        impl Write for &Connection<$stream> {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                (&self.state.stream).write(buf)
            }

            fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                (&self.state.stream).write_vectored(bufs)
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl Read for Connection<$stream> {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                (&*self).read(buf)
            }
        }

        impl Write for Connection<$stream> {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                (&*self).write(buf)
            }

            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
    };
}

stream_io!(TcpStream);
stream_io!(UnixStream);

impl<S: ServerStream> fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.state.peer)
            .field("busy", &self.state.busy.get())
            .finish_non_exhaustive()
    }
}

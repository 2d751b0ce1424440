//! Green sockets for weft: TCP, UDP and Unix-domain sockets shaped like
//! std's, whose blocking calls park the calling green thread instead of the
//! OS thread.
//!
//! Inside a green thread, write plain blocking-style code: `accept` in a
//! loop, one green thread per connection, `BufReader::read_line`,
//! `write_all`. While one green thread waits for a socket, the others run.
//! For a server facing real traffic, [`Server`] runs the accept loop with a
//! connection cap, idle timeouts and a graceful drain on a
//! [`ShutdownHandle`] or SIGINT/SIGTERM.
//!
//! # Quick start
//!
//! A line echo server and one client, on one OS thread:
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use std::net::Shutdown;
//! use weft_net::{TcpListener, TcpStream};
//!
//! weft_runtime::Runtime::new().unwrap().block_on(|| {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     weft_runtime::task::Builder::new().daemon(true).spawn(move || {
//!         for conn in listener.incoming() {
//!             let conn = conn.unwrap();
//!             weft_runtime::spawn(move || {
//!                 let mut lines = BufReader::new(&conn);
//!                 let mut line = String::new();
//!                 while lines.read_line(&mut line).unwrap() > 0 {
//!                     (&conn).write_all(format!("GOT:{line}").as_bytes()).unwrap();
//!                     line.clear();
//!                 }
//!             });
//!         }
//!     }).unwrap();
//!
//!     let mut client = TcpStream::connect(addr).unwrap();
//!     client.write_all(b"hello\n").unwrap();
//!     client.shutdown(Shutdown::Write).unwrap();
//!     let mut answer = String::new();
//!     BufReader::new(client).read_line(&mut answer).unwrap();
//!     assert_eq!(answer, "GOT:hello\n");
//! }).unwrap();
//! ```
//!
//! # Implementation
//!
//! Each socket is a mio socket wrapped in a `weft_runtime::Registration`,
//! the runtime's public readiness API; this crate holds no `unsafe`. Every
//! operation is try-then-park: it runs the non-blocking syscall and, only on
//! `WouldBlock`, parks on the socket's readiness and tries again (mio is
//! edge-triggered). Any number of green threads can wait on one socket in
//! each direction (a pool of acceptors, one task reading while another
//! writes); they are woken oldest first. Read and write timeouts become a
//! deadline on that park and surface as `ErrorKind::WouldBlock`, the kind
//! std returns on Linux.
//!
//! # Working with std
//!
//! Names and signatures follow `std::net` and `std::os::unix::net`. Every
//! socket type converts both ways: `from_std` (or `From`) adopts a std
//! socket or an `OwnedFd` into the running runtime — a listener passed by
//! systemd socket activation, a connection made by std-only code — and
//! `into_std` (or `Into<OwnedFd>`, `IntoRawFd`) gives it back deregistered
//! and blocking. `try_clone` makes a second handle on the same socket, each
//! usable from its own green thread. Timeouts fail with the error kind
//! std's do on Linux (`WouldBlock`), so code written against std handles
//! them unchanged; `connect_timeout` keeps std's `TimedOut`.
//!
//! # Caveats
//!
//! - Resolving a host name (`"localhost:80"`) asks the system resolver,
//!   which blocks; literal addresses never do. Prefer `SocketAddr`s.
//! - Only these types park. A `std::net` socket used inside a green thread
//!   blocks the whole runtime.
//! - The sockets belong to the runtime they were created in and are `!Send`.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod addr;
mod adopt;
mod backoff;
mod line_reader;
mod listen_options;
mod server;
mod stream_io;
mod tcp_listener;
mod tcp_stream;
mod timeouts;
mod udp_socket;
mod unix_listener;
mod unix_stream;

pub use addr::ToSocketAddrs;
pub use line_reader::{find_newline, LineReader};
pub use listen_options::ListenOptions;
pub use server::{Connection, Server, ServerListener, ServerStream, ShutdownHandle, Summary};
pub use tcp_listener::{Incoming, TcpListener};
pub use tcp_stream::TcpStream;
pub use udp_socket::UdpSocket;
pub use unix_listener::{UnixIncoming, UnixListener};
pub use unix_stream::UnixStream;

//! Raw TCP echo as a hand-written mio event loop: the practical floor for one
//! core, and the baseline `benches/compare.sh` measures weft against.
//!
//! ```text
//! cargo run --release --example echo_mio -- [--addr 127.0.0.1:16000] [--proto raw]
//! ```
//!
//! One thread, edge-triggered: every readiness event reads until the socket
//! is drained (`WouldBlock`, or a read shorter than the buffer) into one
//! shared scratch buffer and writes straight back; only bytes the
//! peer's window refuses are copied into the connection's own buffer, and
//! reading pauses while that buffer is full. Connections live in a slab
//! indexed by their mio token. Only `--proto raw` is served.

#[path = "support/server_args.rs"]
mod server_args;

use std::io::{self, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use server_args::{Proto, ServerArgs};

/// The listener's token; connections use their slab index.
const LISTENER: Token = Token(usize::MAX);

/// One read's worth of bytes, shared by all connections.
const SCRATCH_BYTES: usize = 64 * 1024;

/// Unsent bytes a connection may hold before it stops reading (backpressure).
const MAX_PENDING: usize = 1 << 20;

fn main() {
    let args = ServerArgs::from_env();
    if args.proto == Proto::Line {
        eprintln!("echo_mio: --proto line is not implemented by this baseline; it serves raw echo only (use --proto raw)");
        std::process::exit(2);
    }
    let listener = args.listen("echo_mio", "hand-written mio loop");
    if let Err(e) = serve(listener, None) {
        eprintln!("echo_mio: {e}");
        std::process::exit(1);
    }
}

/// One client connection.
struct Connection {
    stream: TcpStream,
    /// Bytes read but not yet written back because the peer's window was full.
    pending: Vec<u8>,
    /// Reading stopped with `pending` full; resume once it drains.
    paused: bool,
    /// The peer closed its side: close ours once `pending` is flushed.
    read_closed: bool,
}

impl Connection {
    /// Does everything the socket allows now. Returns whether to keep it open.
    fn drive(&mut self, readable: bool, scratch: &mut [u8]) -> io::Result<bool> {
        if !self.flush()? {
            return Ok(true); // still blocked on the peer; wait for writable
        }
        if self.read_closed {
            return Ok(false);
        }
        if !readable && !self.paused {
            return Ok(true);
        }
        self.paused = false;
        loop {
            if self.pending.len() >= MAX_PENDING {
                self.paused = true;
                return Ok(true);
            }
            let n = match self.stream.read(scratch) {
                Ok(0) => {
                    self.read_closed = true;
                    return Ok(!self.pending.is_empty());
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let data = &scratch[..n];
            if self.pending.is_empty() {
                let written = write_some(&mut self.stream, data)?;
                self.pending.extend_from_slice(&data[written..]);
            } else {
                self.pending.extend_from_slice(data);
            }
            if n < scratch.len() {
                // A short read drained the socket: skip the read that would
                // only say `WouldBlock`. Bytes arriving later raise a new edge.
                return Ok(true);
            }
        }
    }

    /// Writes out `pending`; returns whether it is now empty.
    fn flush(&mut self) -> io::Result<bool> {
        while !self.pending.is_empty() {
            let n = write_some(&mut self.stream, &self.pending)?;
            if n == 0 {
                return Ok(false);
            }
            self.pending.drain(..n);
        }
        Ok(true)
    }
}

/// Writes what the socket takes now: 0 on `WouldBlock`.
fn write_some(stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < data.len() {
        match stream.write(&data[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// Serves raw echo on `listener` until an error stops the loop.
///
/// With `limit`, accepts at most that many connections and returns once they
/// have all closed: that is how the test stops it.
fn serve(listener: std::net::TcpListener, limit: Option<usize>) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut connections: Slab<Connection> = Slab::new();
    let mut scratch = vec![0u8; SCRATCH_BYTES];
    let mut accepted = 0usize;
    loop {
        if limit.is_some_and(|l| accepted >= l) && connections.is_empty() {
            return Ok(());
        }
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                let room = limit.map_or(usize::MAX, |l| l - accepted);
                accepted += accept_all(&listener, &poll, &mut connections, room);
                continue;
            }
            let key = event.token().0;
            let Some(conn) = connections.get_mut(key) else {
                continue;
            };
            let readable = event.is_readable() || event.is_read_closed() || event.is_error();
            if !matches!(conn.drive(readable, &mut scratch), Ok(true)) {
                let mut conn = connections.remove(key);
                let _ = poll.registry().deregister(&mut conn.stream);
            }
        }
    }
}

/// Accepts until `WouldBlock` (or `room` connections); returns how many.
fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    connections: &mut Slab<Connection>,
    room: usize,
) -> usize {
    let mut accepted = 0;
    while accepted < room {
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // EMFILE and friends: leave the rest in the backlog; the next
                // readiness edge (another client arriving) retries.
                eprintln!("echo_mio: accept failed: {e}");
                break;
            }
        };
        let _ = stream.set_nodelay(true);
        let entry = connections.vacant_entry();
        let token = Token(entry.key());
        if poll
            .registry()
            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
            .is_ok()
        {
            entry.insert(Connection {
                stream,
                pending: Vec::new(),
                paused: false,
                read_closed: false,
            });
            accepted += 1;
        }
    }
    accepted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_then_stops() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || serve(listener, Some(1)));
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        let message = vec![7u8; 200_000]; // more than one read, exercises partial writes
        let writer = {
            let mut client = client.try_clone().unwrap();
            let message = message.clone();
            std::thread::spawn(move || client.write_all(&message))
        };
        let mut echoed = vec![0u8; message.len()];
        client.read_exact(&mut echoed).unwrap();
        writer.join().unwrap().unwrap();
        assert_eq!(echoed, message);
        drop(client);
        server.join().unwrap().unwrap();
    }
}

//! Seed 003's `LazyConnection`: one shared object, one connection per green
//! thread, kept in task-local storage (`weft::task_local!`, the seed's
//! `threading.local()`).
//!
//! ```text
//! cargo run --example lazy_connection               # two tasks, each with its own connection
//! cargo run --example lazy_connection -- shared     # the same with std's thread_local!: the second task is refused
//! ```
//!
//! `enter` (the seed's `__enter__`) refuses with `Already connected` when the
//! calling task already holds a connection from this object; the guard it
//! returns closes the connection and forgets it when dropped (`__exit__`).
//! Both tasks share one `LazyConnection`, yet each gets its own socket: the
//! open connections live in a `task_local!` map keyed by connection object.
//! With `std::thread_local!` instead, every green thread on the runtime's OS
//! thread shares the map, so the second task is wrongly told it is already
//! connected (E-45).
//!
//! The connection is simulated: this branch's `weft::net` has no
//! `TcpStream` yet. Connecting and each `recv` are suspension points
//! (`yield_now`, standing in for waiting on the network), and the "server"
//! answers the seed's `GET /index.html` with a 20,000-byte page, read in
//! 8192-byte chunks until an empty read, as the seed does. Since every
//! suspension is a plain yield, the two tasks alternate step by step (G3);
//! as in the seed, the socket is stored before connecting, so with the
//! shared `thread_local!` the second task finds the first one's socket
//! while the first is still connecting, and is refused both times.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use weft::{current, task, yield_now, Runtime};

mod support;
use support::Out;

/// Bytes in the simulated reply's body.
const PAGE: usize = 20_000;

/// A simulated socket: what was sent, and the reply still to be read.
struct Socket {
    fileno: u32,
    sent: RefCell<Vec<u8>>,
    reply: RefCell<Vec<u8>>,
}

impl Socket {
    fn new(fileno: u32) -> Socket {
        Socket {
            fileno,
            sent: RefCell::new(Vec::new()),
            reply: RefCell::new(Vec::new()),
        }
    }

    fn connect(&self, _address: (&str, u16)) {
        yield_now(); // the handshake
    }

    fn send(&self, data: &[u8]) {
        self.sent.borrow_mut().extend_from_slice(data);
        if self.sent.borrow().ends_with(b"\r\n\r\n") {
            let body = vec![b'x'; PAGE];
            let mut reply =
                format!("HTTP/1.0 200 OK\r\nContent-Length: {PAGE}\r\n\r\n").into_bytes();
            reply.extend(body);
            *self.reply.borrow_mut() = reply;
        }
    }

    /// Up to `max` bytes of the reply; empty at the end.
    fn recv(&self, max: usize) -> Vec<u8> {
        yield_now(); // waiting for the network
        let mut reply = self.reply.borrow_mut();
        let n = max.min(reply.len());
        reply.drain(..n).collect()
    }
}

/// The seed's `RuntimeError('Already connected')`.
#[derive(Debug)]
struct AlreadyConnected;

impl fmt::Display for AlreadyConnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Already connected")
    }
}

/// Open sockets by `LazyConnection` id.
type Sockets = RefCell<HashMap<usize, Rc<Socket>>>;

weft::task_local! {
    /// This green thread's open connections (the seed's `self.local.sock`).
    static TASK_SOCKETS: Sockets = RefCell::new(HashMap::new());
}

thread_local! {
    /// The wrong place for them: shared by every green thread on this OS thread.
    static THREAD_SOCKETS: Sockets = RefCell::new(HashMap::new());
}

/// The seed's `LazyConnection`: connects on `enter`, one connection per task.
struct LazyConnection {
    id: usize,
    address: (&'static str, u16),
    /// Keep the sockets in std's `thread_local!` (the E-45 mistake).
    shared: bool,
    next_fileno: Cell<u32>,
}

impl LazyConnection {
    fn sockets<R>(&self, f: impl FnOnce(&Sockets) -> R) -> R {
        if self.shared {
            THREAD_SOCKETS.with(f)
        } else {
            TASK_SOCKETS.with(f)
        }
    }

    /// Connects, unless this task already holds a connection from `self`.
    fn enter(&self) -> Result<Connected<'_>, AlreadyConnected> {
        if self.sockets(|s| s.borrow().contains_key(&self.id)) {
            return Err(AlreadyConnected);
        }
        self.next_fileno.set(self.next_fileno.get() + 1);
        let sock = Rc::new(Socket::new(self.next_fileno.get()));
        self.sockets(|s| s.borrow_mut().insert(self.id, sock.clone()));
        let connected = Connected { conn: self, sock };
        connected.sock.connect(self.address);
        Ok(connected)
    }
}

/// An open connection; closed and forgotten on drop (the seed's `__exit__`).
struct Connected<'a> {
    conn: &'a LazyConnection,
    sock: Rc<Socket>,
}

impl Drop for Connected<'_> {
    fn drop(&mut self) {
        self.conn.sockets(|s| s.borrow_mut().remove(&self.conn.id));
    }
}

/// The seed's `test(conn)`, plus a nested `enter` to show the refusal.
fn fetch(conn: &LazyConnection, out: &Out) {
    let me = current().name().unwrap_or("?").to_owned();
    let s = match conn.enter() {
        Ok(s) => s,
        Err(e) => return out(format!("{me}: {e}")),
    };
    let (host, port) = conn.address;
    out(format!(
        "{me}: connected to {host}:{port} as socket {}",
        s.sock.fileno
    ));
    if let Err(e) = conn.enter() {
        out(format!("{me}: enter again: {e}"));
    }
    s.sock.send(b"GET /index.html HTTP/1.0\r\n");
    s.sock.send(b"Host:\r\n");
    s.sock.send(b"\r\n");
    let mut resp = Vec::new();
    loop {
        let chunk = s.sock.recv(8192);
        if chunk.is_empty() {
            break;
        }
        resp.extend(chunk);
    }
    out(format!("{me}: Got {} bytes", resp.len()));
}

fn demo(out: Out, shared: bool) {
    let rt = Runtime::new().expect("runtime");
    let conn = Rc::new(LazyConnection {
        id: 1,
        address: ("www.python.org", 80),
        shared,
        next_fileno: Cell::new(0),
    });
    for name in ["Thread-1", "Thread-2"] {
        let (conn, out) = (conn.clone(), out.clone());
        rt.spawn_with(task::Builder::new().name(name.into()), move || {
            fetch(&conn, &out);
            fetch(&conn, &out); // closed on exit, so it can connect again
        })
        .expect("spawn");
    }
    rt.run().expect("no deadlock");
}

fn main() {
    let print: Out = Rc::new(support::print);
    match std::env::args().nth(1).as_deref() {
        None | Some("task-local") => demo(print, false),
        Some("shared") => demo(print, true),
        Some(other) => support::unknown_variant(other, "task-local, shared"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(shared: bool) -> Vec<String> {
        support::capture(|out| demo(out, shared))
    }

    #[test]
    fn each_task_gets_its_own_connection() {
        let round = |a: u32, b: u32| {
            [
                format!("Thread-1: connected to www.python.org:80 as socket {a}"),
                "Thread-1: enter again: Already connected".to_owned(),
                format!("Thread-2: connected to www.python.org:80 as socket {b}"),
                "Thread-2: enter again: Already connected".to_owned(),
                "Thread-1: Got 20042 bytes".to_owned(),
                "Thread-2: Got 20042 bytes".to_owned(),
            ]
        };
        let expected: Vec<String> = round(1, 2).into_iter().chain(round(3, 4)).collect();
        assert_eq!(capture(false), expected);
    }

    #[test]
    fn a_thread_local_is_shared_by_every_task() {
        assert_eq!(
            capture(true),
            [
                "Thread-2: Already connected",
                "Thread-2: Already connected",
                "Thread-1: connected to www.python.org:80 as socket 1",
                "Thread-1: enter again: Already connected",
                "Thread-1: Got 20042 bytes",
                "Thread-1: connected to www.python.org:80 as socket 2",
                "Thread-1: enter again: Already connected",
                "Thread-1: Got 20042 bytes",
            ]
        );
    }
}

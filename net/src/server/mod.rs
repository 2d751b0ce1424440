//! `Server`: a handler per connection in its own green thread, with the
//! limits and the graceful stop a production server needs.
//!
//! The shape follows gevent's `BaseServer` (a cap that pauses accepting,
//! `stop(timeout)`) and Go's `Server.Shutdown` (stop accepting, close idle
//! connections, wait for busy ones, then give up).

mod acceptor;
mod connection;
mod drain;
mod listener;
mod shutdown;
mod signals;
mod summary;
mod table;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use weft_runtime::bridge::PollableQueue;
use weft_runtime::{task, Sender};

pub use connection::Connection;
pub use listener::{ServerListener, ServerStream};
pub use shutdown::ShutdownHandle;
use shutdown::Stop;
pub use summary::Summary;
use table::Table;

use crate::addr::ToSocketAddrs;
use crate::TcpListener;

/// How long the drain waits for busy connections by default.
const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A server: accepts connections from a [`TcpListener`] or
/// [`UnixListener`](crate::UnixListener) and runs a handler for each in its
/// own green thread.
///
/// - **Backlog**: [`Server::bind`] listens with a backlog of 1024 (the
///   kernel caps it at `net.core.somaxconn`); for another, bind with
///   [`ListenOptions`](crate::ListenOptions) and use [`Server::new`].
/// - **Connection cap**: with [`max_connections`](Self::max_connections),
///   the server stops accepting at the cap, so further clients wait in the
///   listen backlog (they are not accepted and closed), and resumes as
///   connections end.
/// - **Idle timeout**: with [`idle_timeout`](Self::idle_timeout), a read
///   or write that moves no byte for that long fails, and the connection
///   is closed and logged.
/// - **Graceful drain**: on a [`ShutdownHandle`] (usable from any OS
///   thread) or, opt-in, on SIGINT/SIGTERM, the server stops accepting at
///   once (new connects are refused), closes the connections that are idle
///   (see [`Connection`]), lets busy ones finish until the drain timeout,
///   then cancels the rest (their destructors run) and returns a
///   [`Summary`].
///
/// Accept errors, the cap, idle timeouts and the drain are logged as
/// `tracing` events.
///
/// # Examples
///
/// A line echo server and one client:
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use std::time::Duration;
/// use weft_net::{Server, TcpStream};
///
/// weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let server = Server::bind("127.0.0.1:0")
///         .unwrap()
///         .max_connections(100)
///         .idle_timeout(Some(Duration::from_secs(30)));
///     let addr = server.local_addr().unwrap();
///     let stop = server.shutdown_handle();
///     let client = weft_runtime::spawn(move || {
///         let mut c = TcpStream::connect(addr).unwrap();
///         c.write_all(b"hello\n").unwrap();
///         let mut answer = String::new();
///         BufReader::new(&c).read_line(&mut answer).unwrap();
///         stop.shutdown();
///         answer
///     });
///     let summary = server.serve(|conn| {
///         let mut lines = BufReader::new(&conn);
///         let mut line = String::new();
///         while lines.read_line(&mut line)? > 0 {
///             (&conn).write_all(line.as_bytes())?;
///             line.clear();
///         }
///         Ok(())
///     }).unwrap();
///     assert_eq!(client.join().unwrap(), "hello\n");
///     assert_eq!(summary.accepted, 1);
/// }).unwrap();
/// ```
pub struct Server<L: ServerListener = TcpListener> {
    /// Where connections come from.
    listener: L,
    /// The most connections served at once; `None` for no cap.
    max_connections: Option<usize>,
    /// How long a read or write may move no byte before the connection closes.
    idle_timeout: Option<Duration>,
    /// How long the drain waits for busy connections before cancelling them.
    drain_timeout: Duration,
    /// Green threads accepting on the listener.
    acceptors: usize,
    /// Whether SIGINT/SIGTERM start the drain.
    signals: bool,
    /// Drain requests and drain progress, from any thread.
    stop: PollableQueue<Stop>,
    /// Kept so the queue never disconnects while the server lives.
    stop_tx: Sender<Stop>,
}

impl Server<TcpListener> {
    /// A server on a new TCP listener bound to `addr` (backlog 1024,
    /// `SO_REUSEADDR`).
    ///
    /// # Errors
    ///
    /// As [`TcpListener::bind`]; any error creating the shutdown queue.
    ///
    /// # Panics
    ///
    /// Panics outside a weft runtime.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<Self> {
        Server::new(TcpListener::bind(addr)?)
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// Any error from the OS.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl<L: ServerListener> Server<L> {
    /// A server accepting from `listener`, with no connection cap, no idle
    /// timeout, a 30 s drain timeout, one acceptor and no signal handling.
    ///
    /// # Errors
    ///
    /// Any error creating the shutdown queue (a socketpair: `EMFILE`, say).
    pub fn new(listener: L) -> io::Result<Self> {
        let stop = PollableQueue::new()?;
        let stop_tx = stop.sender();
        Ok(Server {
            listener,
            max_connections: None,
            idle_timeout: None,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            acceptors: 1,
            signals: false,
            stop,
            stop_tx,
        })
    }

    /// Serves at most `max` connections at once: at the cap, accepting
    /// pauses (clients wait in the listen backlog) until one ends.
    ///
    /// # Panics
    ///
    /// Panics if `max` is 0.
    pub fn max_connections(mut self, max: usize) -> Self {
        assert!(max > 0, "max_connections must be at least 1");
        self.max_connections = Some(max);
        self
    }

    /// Closes a connection when one of its reads or writes moves no byte
    /// for `timeout` (its handler's call fails with the timeout error);
    /// `None` (the default) never does.
    ///
    /// # Panics
    ///
    /// Panics for `Some(Duration::ZERO)`.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        assert!(
            timeout != Some(Duration::ZERO),
            "idle_timeout must not be zero"
        );
        self.idle_timeout = timeout;
        self
    }

    /// How long the drain lets busy connections finish before cancelling
    /// them (default 30 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Accepts with `n` green threads on the one listener (default 1).
    ///
    /// # Panics
    ///
    /// Panics if `n` is 0.
    pub fn acceptors(mut self, n: usize) -> Self {
        assert!(n > 0, "a server needs at least one acceptor");
        self.acceptors = n;
        self
    }

    /// Whether SIGINT and SIGTERM start the drain (default `false`). The
    /// hooks (signal-hook's) are installed when [`serve`](Self::serve)
    /// starts and removed when it returns; a second signal during the
    /// drain cancels the remaining connections at once. signal-hook cannot
    /// restore the default action: once `serve` returns, the process
    /// ignores SIGINT and SIGTERM, so exit soon after (as `echo_server`
    /// does) or install your own handling.
    pub fn handle_signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }

    /// A handle that starts the drain from any OS thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            txs: vec![self.stop_tx.clone()],
        }
    }

    /// The listener.
    pub fn listener(&self) -> &L {
        &self.listener
    }

    /// Serves: runs `handler` for every accepted connection in a green
    /// thread of its own until a shutdown request, then drains and returns
    /// what happened. A handler's error ends only its connection (it is
    /// logged and counted).
    ///
    /// # Errors
    ///
    /// Any error installing the signal hooks or spawning the acceptors; an
    /// accept error that concerns the listener rather than one connection
    /// (the server drains first, then returns it). Descriptor exhaustion is
    /// waited out, never returned.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn serve<F>(self, handler: F) -> io::Result<Summary>
    where
        F: Fn(Connection<L::Stream>) -> io::Result<()> + 'static,
    {
        let Server {
            listener,
            max_connections,
            idle_timeout,
            drain_timeout,
            acceptors,
            signals,
            stop,
            stop_tx,
        } = self;
        let table = Rc::new(Table::new(max_connections, idle_timeout, stop_tx));
        let signal_task = if signals {
            Some(signals::watch(table.stop.clone())?)
        } else {
            None
        };
        let listener = Rc::new(listener);
        let handler = Rc::new(handler);
        let mut tasks = Vec::with_capacity(acceptors);
        for i in 0..acceptors {
            let (listener, table, handler) = (listener.clone(), table.clone(), handler.clone());
            let spawned = task::Builder::new()
                .name(format!("weft-net acceptor {i}"))
                .daemon(true)
                .spawn(move || acceptor::run(&*listener, &table, &handler));
            match spawned {
                Ok(t) => tasks.push(t),
                Err(e) => {
                    for t in tasks.iter().chain(&signal_task) {
                        t.cancel();
                    }
                    return Err(e);
                }
            }
        }
        tracing::info!(
            acceptors,
            ?max_connections,
            ?idle_timeout,
            "server: accepting"
        );
        let failure = loop {
            match stop.get() {
                Ok(Stop::Requested) => {
                    tracing::info!("server: shutdown requested");
                    break None;
                }
                Ok(Stop::Signal(signal)) => {
                    tracing::info!(signal, "server: shutdown requested by a signal");
                    break None;
                }
                Ok(Stop::Failed(e)) => break Some(e),
                Ok(Stop::ConnClosed) => {}
                Err(_) => break None, // unreachable: `table` holds a sender
            }
        };
        table.drain.draining.set(true);
        for t in &tasks {
            t.cancel();
        }
        for t in tasks {
            let _ = t.join();
        }
        drop(listener); // the acceptors' copies went with them: connects are refused now
        let summary = drain::run(&table, &stop, drain_timeout);
        if let Some(t) = signal_task {
            t.cancel();
            let _ = t.join();
        }
        tracing::info!(%summary, "server: drain finished");
        match failure {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }
}

impl<L: ServerListener + fmt::Debug> fmt::Debug for Server<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("max_connections", &self.max_connections)
            .field("idle_timeout", &self.idle_timeout)
            .field("drain_timeout", &self.drain_timeout)
            .field("acceptors", &self.acceptors)
            .field("signals", &self.signals)
            .finish()
    }
}

//! `ShutdownHandle`: asks a running [`Server`](super::Server) to drain,
//! from any OS thread.

use std::fmt;
use std::io;

use weft_runtime::Sender;

/// What the server's control loop is told, through its pollable queue.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A [`ShutdownHandle`] asked for the drain.
    Requested,
    /// SIGINT or SIGTERM (the signal number) arrived.
    Signal(i32),
    /// The listener failed for good: drain, then return this error.
    Failed(io::Error),
    /// A connection ended while the server drains (wakes the count check).
    ConnClosed,
}

/// A `Send + Clone` handle that starts a [`Server`](super::Server)'s
/// graceful drain from any OS thread or green thread, from
/// [`Server::shutdown_handle`](super::Server::shutdown_handle).
///
/// A second request while the drain runs ends it at once: the remaining
/// connections are cancelled.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use weft_net::Server;
///
/// let summary = weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let server = Server::bind("127.0.0.1:0").unwrap();
///     let stop = server.shutdown_handle();
///     std::thread::spawn(move || {
///         std::thread::sleep(Duration::from_millis(20));
///         stop.shutdown(); // from another OS thread
///     });
///     server.serve(|_conn| Ok(())).unwrap()
/// }).unwrap();
/// assert_eq!(summary.accepted, 0);
/// ```
///
/// One server on several loops (one `Server` per [`Loops`](weft_runtime::Loops)
/// loop, each on its own `SO_REUSEPORT` listener) stops with one handle:
/// collect the loops' handles into one (`FromIterator`), and its
/// `shutdown` drains them all.
///
/// ```
/// use std::sync::{mpsc, Mutex};
/// use weft_net::{ListenOptions, Server, ShutdownHandle, Summary};
///
/// let (tx, rx) = mpsc::channel();
/// let tx = Mutex::new(tx);
/// let loops = weft_runtime::Loops::spawn(2, move |_lp| {
///     let listener = ListenOptions::new().reuse_port(true).bind("127.0.0.1:0").unwrap();
///     let server = Server::new(listener).unwrap();
///     tx.lock().unwrap().send(server.shutdown_handle()).unwrap();
///     server.serve(|_conn| Ok(())).unwrap()
/// })
/// .unwrap();
/// let all: ShutdownHandle = rx.iter().take(2).collect();
/// assert!(all.shutdown()); // drains both loops' servers
/// let total: Summary = loops.join().unwrap().iter().sum();
/// assert_eq!(total.accepted, 0);
/// ```
#[derive(Clone)]
pub struct ShutdownHandle {
    /// The control queue of each server this handle stops (one, or one
    /// per loop for a server run on several loops).
    pub(crate) txs: Vec<Sender<Stop>>,
}

impl ShutdownHandle {
    /// Starts the drain: the server stops accepting at once, closes idle
    /// connections, gives busy ones until the drain timeout, then cancels
    /// the rest. Returns at once; `Server::serve` returns when the drain is
    /// over. Returns `false` if the server is already gone (for a combined
    /// handle: if every one of its servers is).
    pub fn shutdown(&self) -> bool {
        // Every server is asked, even after one that is gone.
        let mut any = false;
        for tx in &self.txs {
            any |= tx.put(Stop::Requested).is_ok();
        }
        any
    }
}

/// One handle that stops every server of the given handles: a server run
/// on several loops.
impl FromIterator<ShutdownHandle> for ShutdownHandle {
    fn from_iter<I: IntoIterator<Item = ShutdownHandle>>(iter: I) -> Self {
        ShutdownHandle {
            txs: iter.into_iter().flat_map(|h| h.txs).collect(),
        }
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("servers", &self.txs.len())
            .field("gone", &self.txs.iter().filter(|tx| tx.is_closed()).count())
            .finish()
    }
}

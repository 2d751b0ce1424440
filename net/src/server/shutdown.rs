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
#[derive(Clone)]
pub struct ShutdownHandle {
    pub(crate) tx: Sender<Stop>,
}

impl ShutdownHandle {
    /// Starts the drain: the server stops accepting at once, closes idle
    /// connections, gives busy ones until the drain timeout, then cancels
    /// the rest. Returns at once; `Server::serve` returns when the drain is
    /// over. Returns `false` if the server is already gone.
    pub fn shutdown(&self) -> bool {
        self.tx.put(Stop::Requested).is_ok()
    }
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("server_gone", &self.tx.is_closed())
            .finish()
    }
}

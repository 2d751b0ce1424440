//! The server's table of live connections: starting each handler, and
//! what happens when one ends (however it ends).

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use slab::Slab;
use weft_runtime::sync::Semaphore;
use weft_runtime::{task, Sender, TaskId};

use super::connection::{ConnState, Connection, Drain};
use super::listener::{self, ServerStream};
use super::shutdown::Stop;
use super::summary::Summary;

/// The live connections and what the acceptors, the connections and the
/// drain share.
pub(crate) struct Table<S: ServerStream> {
    /// Live connections, by the key their guard holds: their record and
    /// their task. A slab, not a map: 16 bytes a connection, in one array.
    pub(crate) conns: RefCell<Slab<Conn<S>>>,
    /// The drain flag every connection sees.
    pub(crate) drain: Rc<Drain>,
    /// One permit per connection slot, when capped.
    pub(crate) limit: Option<Semaphore>,
    /// The cap, for the log.
    pub(crate) max_connections: Option<usize>,
    /// Set on every accepted stream as its read and write timeout.
    pub(crate) idle_timeout: Option<Duration>,
    /// To the control loop: listener failure, connections ending in the drain.
    pub(crate) stop: Sender<Stop>,
    /// What happened so far.
    pub(crate) counts: RefCell<Summary>,
}

/// A live connection in the table.
pub(crate) struct Conn<S: ServerStream> {
    /// Its record, to close it when idle.
    pub(crate) state: Rc<ConnState<S>>,
    /// Its task (detached: the server never joins it), to cancel it at the
    /// drain deadline.
    pub(crate) task: TaskId,
}

impl<S: ServerStream> Table<S> {
    pub(crate) fn new(
        max_connections: Option<usize>,
        idle_timeout: Option<Duration>,
        stop: Sender<Stop>,
    ) -> Self {
        Table {
            conns: RefCell::new(Slab::new()),
            drain: Rc::new(Drain::default()),
            limit: max_connections.map(Semaphore::new),
            max_connections,
            idle_timeout,
            stop,
            counts: RefCell::new(Summary::default()),
        }
    }

    pub(crate) fn active(&self) -> usize {
        self.conns.borrow().len()
    }

    /// Starts the handler for an accepted connection.
    pub(crate) fn start<F>(self: &Rc<Self>, stream: S, peer: S::Addr, handler: &Rc<F>)
    where
        F: Fn(Connection<S>) -> io::Result<()> + 'static,
    {
        stream.prepare();
        if let Some(t) = self.idle_timeout {
            let _ = stream.set_read_timeout(Some(t));
            let _ = stream.set_write_timeout(Some(t));
        }
        // The key the connection gets below: nothing else inserts until then.
        let key = self.conns.borrow().vacant_key();
        self.counts.borrow_mut().accepted += 1;
        let state = Rc::new(ConnState::new(stream, peer));
        let guard = ConnGuard {
            table: self.clone(),
            key,
            finished: false,
        };
        let conn = Connection::new(state.clone(), self.drain.clone());
        let handler = handler.clone();
        // Fails when no stack can be had (the kernel's map limit, say): that
        // connection is dropped (the guard gives its slot back), the others
        // are served and accepting goes on.
        match task::Builder::new().spawn_detached(move || {
            let result = handler(conn);
            guard.finish(result);
        }) {
            Ok(task) => {
                let inserted = self.conns.borrow_mut().insert(Conn { state, task });
                debug_assert_eq!(inserted, key);
            }
            Err(e) => {
                tracing::warn!(peer = ?state.peer(), error = %e, "server: no green thread for a connection; it is closed, accepting goes on");
            }
        }
    }
}

/// Ends a connection's life in the table, whether its handler returned, it
/// was cancelled or it never started: frees its slot and, while the server
/// drains, tells the control loop.
struct ConnGuard<S: ServerStream> {
    table: Rc<Table<S>>,
    /// Its key in the table.
    key: usize,
    /// Set once the handler returned; still false in `drop` after a panic.
    finished: bool,
}

impl<S: ServerStream> ConnGuard<S> {
    /// Counts and logs how the handler ended.
    fn finish(mut self, result: io::Result<()>) {
        self.finished = true;
        let table = &self.table;
        let mut counts = table.counts.borrow_mut();
        match result {
            Ok(()) => counts.served += 1,
            Err(e) => {
                counts.failed += 1;
                let entry = table.conns.borrow();
                let peer = entry.get(self.key).map(|e| e.state.peer());
                match table.idle_timeout {
                    Some(timeout) if listener::is_timeout(&e) => {
                        counts.timed_out += 1;
                        tracing::info!(?peer, ?timeout, "server: idle timeout; connection closed");
                    }
                    _ => {
                        tracing::debug!(?peer, error = %e, "server: connection ended with an error")
                    }
                }
            }
        }
    }
}

impl<S: ServerStream> Drop for ConnGuard<S> {
    fn drop(&mut self) {
        let entry = self.table.conns.borrow_mut().try_remove(self.key);
        // No entry: the task never got a stack. A cancelled one: the drain
        // cancelled it (and counts it). Otherwise the handler neither
        // returned nor was cancelled: it panicked.
        if let Some(entry) = &entry {
            if !self.finished && !entry.state.is_cancelled() {
                self.table.counts.borrow_mut().failed += 1;
                tracing::warn!(peer = ?entry.state.peer(), "server: connection handler panicked; connection closed");
            }
        }
        drop(entry); // closes the socket once the handler dropped its side
        if let Some(limit) = &self.table.limit {
            limit.release();
        }
        if self.table.drain.draining.get() {
            let _ = self.table.stop.put(Stop::ConnClosed);
        }
    }
}

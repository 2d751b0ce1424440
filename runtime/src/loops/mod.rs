//! `Loops`: N share-nothing runtimes on N OS threads, one per core — the
//! way weft uses more than one core.
//!
//! Tasks never migrate and green types stay `!Send`: each loop runs the
//! same closure as its `block_on` root, with its own runtime, timers,
//! sockets and tasks. What crosses between loops is what already crosses
//! threads: a [`Handle`] per loop (spawn into a chosen loop, or round-robin
//! over [`Loops::handles`]), [`PollableQueue`](crate::bridge::PollableQueue)
//! senders, and the set's stop signal.
//!
//! # Why this shape
//!
//! One weft runtime is one core, so the launcher builds N of them from one
//! [`Builder`] (every setting applies to every loop) rather than growing a
//! work-stealing scheduler: Seastar's one reactor per core, in the shape of
//! glommio's `LocalExecutorPoolBuilder::on_all_shards` (one builder for the
//! pool, threads named `name-index`, one closure run on every shard, a join
//! over all). Where those offer cross-shard channels, weft already has its
//! `Handle` and `PollableQueue`. It is a type of its own, not a `Runtime`
//! method, because the set outlives any one runtime call: it is started,
//! reachable from outside while it runs (handles, stop), then joined, like
//! `std::thread::Builder::spawn` and its `JoinHandle`. The closure gets a
//! [`Loop`] rather than a bare index so it can reach the other loops and
//! wait for the stop without globals.
//!
//! # Listeners per loop
//!
//! Each loop binds its own listener on the same address with
//! `weft::net::ListenOptions::new().reuse_port(true)` (opt-in, never the
//! default), and the kernel spreads incoming connections over the
//! listeners by a hash of the connection's addresses and ports. With 2
//! loops and 1,000 loopback connections (the split test in
//! `tests/rt_loops.rs`), six runs gave 515/485, 475/525, 501/499,
//! 520/480, 507/493 and 481/519: near even, by hash, never exact, and
//! blind to how busy each loop is. A loop that stops accepting keeps the connections the kernel
//! already queued on its listener; close the listener to hand new ones to
//! the others.
//!
//! One listener shared by every loop is not offered. Each loop could
//! register a duplicate of one listening socket, but then every loop wakes
//! for every connection and all but one find `WouldBlock` (the thundering
//! herd); `EPOLLEXCLUSIVE`, which wakes one waiter, is not exposed by mio,
//! and weft-net builds only on mio. `SO_REUSEPORT` gives each loop its own
//! accept queue instead, so no accept is contended and no loop is woken
//! for nothing.
//!
//! # Caveats
//!
//! - Every loop holds every loop's [`Handle`], so no loop reports a
//!   deadlock: another loop could always still spawn into it. A loop whose
//!   tasks all wait on in-runtime primitives waits instead, until stopped.
//! - A panic in a task spawned by the closure ends only that task, as in
//!   any runtime; a panic in the closure itself fails its loop and stops
//!   the others.
//! - Stopping is cooperative: a closure that never looks at
//!   [`Loop::wait_stop`] or [`Loop::is_stopping`] keeps its loop (and
//!   [`Loops::join`]) running.

mod builder;
mod r#loop;
mod loop_error;
mod pin;

use std::fmt;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use builder::LoopsBuilder;
pub use loop_error::LoopError;
pub use r#loop::Loop;

use crate::handle::Handle;
#[cfg(doc)]
use crate::runtime::Builder;
use r#loop::Shared;

/// N weft runtimes on N OS threads, each running one closure as its root
/// task; started by [`Loops::spawn`] or a [`LoopsBuilder`], ended by
/// [`join`](Self::join).
///
/// Dropping the set without joining it stops every loop and waits for
/// their threads: no loop is left running unowned.
///
/// # Examples
///
/// Two loops wait to be told to stop; an OS thread spawns work into them
/// round-robin through their handles:
///
/// ```
/// let loops = weft::Loops::spawn(2, |lp: weft::Loop| {
///     lp.wait_stop();
///     lp.index()
/// })
/// .unwrap();
/// let jobs: Vec<_> = (0..4_usize)
///     .map(|i| loops.handle(i % loops.count()).spawn(move || i * i).unwrap())
///     .collect();
/// let squares: Vec<_> = jobs.into_iter().map(|j| j.join().unwrap()).collect();
/// assert_eq!(squares, [0, 1, 4, 9]);
/// loops.stop();
/// assert_eq!(loops.join().unwrap(), [0, 1]);
/// ```
///
/// A server on every loop, each with its own `SO_REUSEPORT` listener (see
/// `echo_server --threads N`, `examples/support/server_loops.rs`, for the
/// whole thing: one `weft::net::Server` per loop, one shutdown handle):
///
/// ```no_run
/// use weft::net::ListenOptions;
///
/// let loops = weft::Loops::builder(2).pin_to_cores(true).spawn(|lp: weft::Loop| {
///     let listener = ListenOptions::new().reuse_port(true).bind("127.0.0.1:7000")?;
///     let acceptor = weft::spawn(move || {
///         while let Ok((conn, _)) = listener.accept() {
///             weft::spawn(move || { let _ = std::io::copy(&mut &conn, &mut &conn); });
///         }
///     });
///     lp.wait_stop();
///     acceptor.cancel();
///     Ok::<(), std::io::Error>(())
/// })?;
/// for result in loops.join()? {
///     result?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Loops<T> {
    /// The loops' threads, by index; each gives its closure's value or why
    /// it failed. Emptied by `join`.
    threads: Vec<JoinHandle<Result<T, LoopError>>>,
    /// The handles and the stop signal, shared with every loop.
    shared: Arc<Shared>,
}

impl Loops<()> {
    /// A [`LoopsBuilder`] for `count` loops, to choose the runtime settings
    /// and pinning.
    pub fn builder(count: usize) -> LoopsBuilder {
        LoopsBuilder::new(count)
    }
}

impl<T> Loops<T> {
    /// Starts `count` loops with the default settings (no pinning) and runs
    /// `f` in each; see [`LoopsBuilder::spawn`].
    ///
    /// # Errors
    ///
    /// As for [`LoopsBuilder::spawn`].
    pub fn spawn<F>(count: usize, f: F) -> std::io::Result<Loops<T>>
    where
        F: Fn(Loop) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        LoopsBuilder::new(count).spawn(f)
    }

    /// How many loops the set has.
    pub fn count(&self) -> usize {
        self.shared.count()
    }

    /// The handle of loop `index`, to spawn green threads into it from any
    /// thread. Once that loop has ended (its closure returned and its tasks
    /// finished), spawns fail with `NotConnected`.
    ///
    /// # Panics
    ///
    /// If `index` is not below [`count`](Self::count).
    pub fn handle(&self, index: usize) -> &Handle {
        &self.shared.handles[index]
    }

    /// Every loop's handle, by index (clone them to hand to other threads).
    pub fn handles(&self) -> &[Handle] {
        &self.shared.handles
    }

    /// Asks every loop to stop: [`Loop::wait_stop`] returns in each and
    /// [`Loop::is_stopping`] turns true. Loops end when their closures return.
    pub fn stop(&self) {
        self.shared.stop();
    }

    /// True once a stop was asked for, or a loop failed.
    pub fn is_stopping(&self) -> bool {
        self.shared.is_stopped()
    }

    /// Waits for every loop to end and returns their values in index order.
    ///
    /// # Errors
    ///
    /// If any loop failed (its closure panicked, or its runtime reported a
    /// deadlock or a poller error), the [`LoopError`] of the loop that
    /// failed first, naming it; the other loops were told to stop when it
    /// failed, and have all ended when this returns.
    pub fn join(mut self) -> Result<Vec<T>, LoopError> {
        let count = self.count();
        let mut values = Vec::with_capacity(count);
        let mut failures = Vec::new();
        for (index, thread) in std::mem::take(&mut self.threads).into_iter().enumerate() {
            match thread.join() {
                Ok(Ok(v)) => values.push(v),
                Ok(Err(e)) => failures.push(e),
                // The thread itself panicked outside the closure's guard.
                Err(payload) => failures.push(LoopError::panicked(index, count, &*payload)),
            }
        }
        if failures.is_empty() {
            return Ok(values);
        }
        let first = self.shared.first_failure();
        let at = failures
            .iter()
            .position(|e| Some(e.index()) == first)
            .unwrap_or(0);
        Err(failures.swap_remove(at))
    }
}

impl<T> Drop for Loops<T> {
    fn drop(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        self.shared.stop();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl<T> fmt::Debug for Loops<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loops")
            .field("count", &self.count())
            .field("stopping", &self.is_stopping())
            .finish_non_exhaustive()
    }
}

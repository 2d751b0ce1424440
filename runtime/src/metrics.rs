//! Counters: what the loop did, readable from any thread.
//!
//! Every counter is a relaxed atomic that only the loop thread writes, with a
//! plain load and store (no read-modify-write instruction): on the loop side
//! it costs what a `Cell` costs, and a [`Handle`](crate::Handle) on another
//! thread reads it without asking the loop anything. A snapshot is therefore
//! not one instant: each field is exact, the fields may be a few events apart.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// One counter, written by the loop thread only.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds one (a load and a store: only one thread writes).
    #[inline]
    pub(crate) fn bump(&self) {
        self.add(1);
    }

    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    #[inline]
    pub(crate) fn set(&self, n: u64) {
        self.0.store(n, Relaxed);
    }

    /// Raises the counter to `n` if it is below.
    #[inline]
    pub(crate) fn raise(&self, n: u64) {
        if n > self.0.load(Relaxed) {
            self.0.store(n, Relaxed);
        }
    }

    /// Raises the counter to `n` if it is below, from any thread.
    pub(crate) fn raise_shared(&self, n: u64) {
        self.0.fetch_max(n, Relaxed);
    }

    /// Adds one, from any thread.
    pub(crate) fn bump_shared(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// The loop's counters (see [`Metrics`] for what each means).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) spawned: Counter,
    pub(crate) finished: Counter,
    pub(crate) panicked: Counter,
    pub(crate) cancelled: Counter,
    pub(crate) overflowed: Counter,
    pub(crate) deadlocks: Counter,
    pub(crate) resumes: Counter,
    pub(crate) parks: [Counter; 6],
    pub(crate) wakes: Counter,
    pub(crate) polls: Counter,
    pub(crate) events: Counter,
    pub(crate) ready_max: Counter,
    pub(crate) idle_ns: Counter,
    pub(crate) run_ns: Counter,
    /// Written by the stall watchdog (from its own thread).
    pub(crate) longest_resume_ns: Counter,
    /// Written by the stall watchdog (from its own thread).
    pub(crate) stalls: Counter,
    pub(crate) stacks_mapped: Counter,
    pub(crate) stacks_pooled: Counter,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> Metrics {
        let p = |i: usize| self.parks[i].get();
        let spawned = self.spawned.get();
        let ended = self.finished.get()
            + self.panicked.get()
            + self.cancelled.get()
            + self.overflowed.get();
        let run = self.run_ns.get();
        let idle = self.idle_ns.get();
        Metrics {
            tasks_alive: spawned.saturating_sub(ended),
            tasks_spawned: spawned,
            tasks_finished: self.finished.get(),
            tasks_panicked: self.panicked.get(),
            tasks_cancelled: self.cancelled.get(),
            tasks_overflowed: self.overflowed.get(),
            deadlocks: self.deadlocks.get(),
            resumes: self.resumes.get(),
            parks: Parks {
                sleep: p(0),
                join: p(1),
                readable: p(2),
                writable: p(3),
                bridge: p(4),
                primitive: p(5),
            },
            wakes: self.wakes.get(),
            polls: self.polls.get(),
            io_events: self.events.get(),
            ready_queue_max: self.ready_max.get(),
            busy_time: Duration::from_nanos(run.saturating_sub(idle)),
            idle_time: Duration::from_nanos(idle),
            longest_resume: Duration::from_nanos(self.longest_resume_ns.get()),
            stalls: self.stalls.get(),
            stacks_mapped: self.stacks_mapped.get(),
            stacks_pooled: self.stacks_pooled.get(),
        }
    }
}

/// A snapshot of a runtime's counters, from
/// [`Runtime::metrics`](crate::Runtime::metrics) or
/// [`Handle::metrics`](crate::Handle::metrics).
///
/// Counts are since the runtime was built. Each field is read on its own
/// (relaxed atomics written only by the loop thread), so a snapshot taken
/// from another thread while the loop runs may be a few events inconsistent
/// across fields.
///
/// # Examples
///
/// ```
/// let rt = weft::Runtime::new().unwrap();
/// rt.block_on(|| {
///     weft::spawn(weft::yield_now).join().unwrap();
/// }).unwrap();
/// let m = rt.metrics();
/// assert_eq!(m.tasks_spawned, 2); // `main` and its child
/// assert_eq!(m.tasks_finished, 2);
/// assert_eq!(m.tasks_alive, 0);
/// assert!(m.resumes >= 3);
/// assert_eq!(m.parks.join, 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Tasks spawned and not yet ended.
    pub tasks_alive: u64,
    /// Tasks spawned.
    pub tasks_spawned: u64,
    /// Tasks whose body returned.
    pub tasks_finished: u64,
    /// Tasks that ended in a panic (deadlock victims included).
    pub tasks_panicked: u64,
    /// Tasks cancelled before they finished (including unwound at shutdown).
    pub tasks_cancelled: u64,
    /// Tasks stopped by a stack overflow.
    pub tasks_overflowed: u64,
    /// Lock cycles detected while they formed.
    pub deadlocks: u64,
    /// Times the loop resumed a task.
    pub resumes: u64,
    /// Parks, by what the task waited on.
    pub parks: Parks,
    /// Parks ended by a wake (not by a timeout).
    pub wakes: u64,
    /// Polls of the OS readiness queue.
    pub polls: u64,
    /// Readiness events that woke a waiting task.
    pub io_events: u64,
    /// The longest the ready queue has been at the start of a pass.
    pub ready_queue_max: u64,
    /// Time the loop spent running (tasks and its own work).
    pub busy_time: Duration,
    /// Time the loop spent blocked in the OS poller, waiting for work.
    pub idle_time: Duration,
    /// The longest single resume the stall watchdog saw, to its sampling
    /// period (a quarter of the stall threshold); zero when none lasted a
    /// whole period or the watchdog is off.
    pub longest_resume: Duration,
    /// Resumes that held the loop past the stall threshold.
    pub stalls: u64,
    /// Task stacks mapped (in use or idle in the pool).
    pub stacks_mapped: u64,
    /// Task stacks idle in the pool.
    pub stacks_pooled: u64,
}

/// Parks counted by their [`Reason`](crate::park::Reason).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Parks {
    /// `sleep` and bare timed parks.
    pub sleep: u64,
    /// `JoinHandle::join`.
    pub join: u64,
    /// Waiting for read readiness (reads, accepts).
    pub readable: u64,
    /// Waiting for write readiness (writes, connects).
    pub writable: u64,
    /// Bridge sources fed by OS threads.
    pub bridge: u64,
    /// In-runtime primitives (locks, queues, conditions...).
    pub primitive: u64,
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tasks: {} alive, {} spawned, {} finished, {} panicked, {} cancelled, {} overflowed; \
             {} resumes, {} wakes, {} polls, {} I/O events; busy {:?}, idle {:?}; {} stalls",
            self.tasks_alive,
            self.tasks_spawned,
            self.tasks_finished,
            self.tasks_panicked,
            self.tasks_cancelled,
            self.tasks_overflowed,
            self.resumes,
            self.wakes,
            self.polls,
            self.io_events,
            self.busy_time,
            self.idle_time,
            self.stalls
        )
    }
}

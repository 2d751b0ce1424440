//! The cross-thread `Handle`: other OS threads spawn green threads into a
//! runtime through it.
//!
//! Requests (spawn a task, unpark a parked one) go into a mutex-guarded
//! queue; a `mio::Waker` wakes the loop only on the transition from empty to
//! non-empty, so a flood of requests costs one wakeup per drain.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::dump::{DumpSlot, TaskDump};
use crate::io::{Reactor, WAKER_TOKEN};
use crate::task::{JoinError, TaskId};
use crate::watch::Watch;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// What another OS thread asks of the loop.
pub(crate) enum Request {
    /// Spawn this job as a green thread; the site is the `Handle::spawn` caller.
    Spawn(Job, &'static Location<'static>),
    /// Unpark this park of this task (a `RemoteUnparker`), if still parked.
    Unpark(TaskId, u32),
    /// Build a task dump and leave it in the slot.
    Dump(Arc<DumpSlot>),
}

/// The loop's side of the handles.
pub(crate) struct Remote {
    /// Requests (spawns and unparks) not yet taken by the loop.
    queue: Mutex<VecDeque<Request>>,
    /// Wakes the loop's poll; fired when `queue` goes from empty to non-empty.
    waker: mio::Waker,
    /// Set when the runtime is gone: spawns fail instead of vanishing.
    closed: AtomicBool,
}

impl Remote {
    pub(crate) fn new(reactor: &Reactor) -> io::Result<Self> {
        Ok(Remote {
            queue: Mutex::new(VecDeque::new()),
            waker: mio::Waker::new(&reactor.registry()?, WAKER_TOKEN)?,
            closed: AtomicBool::new(false),
        })
    }

    /// True while some `Handle` exists: the loop must keep polling for spawns.
    pub(crate) fn has_handles(self: &Arc<Self>) -> bool {
        Arc::strong_count(self) > 1
    }

    /// Moves every queued request into `batch` (empty, reused by the loop so
    /// draining allocates nothing).
    pub(crate) fn drain_into(&self, batch: &mut VecDeque<Request>) {
        std::mem::swap(
            &mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()),
            batch,
        );
    }

    /// Asks the loop to unpark `task`'s park number `seq`.
    pub(crate) fn unpark(&self, task: TaskId, seq: u32) -> io::Result<()> {
        self.submit(Request::Unpark(task, seq))
    }

    fn submit(&self, job: Request) -> io::Result<()> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(Ordering::Acquire) {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the weft runtime is gone",
            ));
        }
        let was_empty = queue.is_empty();
        queue.push_back(job);
        drop(queue);
        if was_empty {
            self.waker.wake()?;
        }
        Ok(())
    }

    /// Refuses further spawns and drops the queued ones (their join handles
    /// then report cancellation).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        drop(std::mem::take(
            &mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()),
        ));
    }
}

/// A `Send + Clone` handle to a runtime, for spawning green threads into it
/// from other OS threads.
///
/// While any handle exists, the runtime treats it as a possible source of
/// wakeups: it will wait for spawns instead of reporting a deadlock.
///
/// # Examples
///
/// ```
/// let rt = weft::Runtime::new().unwrap();
/// let handle = rt.handle();
/// let t = std::thread::spawn(move || handle.spawn(|| 21 * 2).unwrap().join().unwrap());
/// rt.block_on(|| weft::sleep(std::time::Duration::from_millis(50))).unwrap();
/// // The loop may have finished before the spawn arrived; run it once more.
/// while !t.is_finished() {
///     rt.run().unwrap();
/// }
/// assert_eq!(t.join().unwrap(), 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    remote: Arc<Remote>,
    /// The loop's shared counters and labels (metrics, dumps).
    watch: Arc<Watch>,
}

impl Handle {
    pub(crate) fn new(remote: Arc<Remote>, watch: Arc<Watch>) -> Self {
        Handle { remote, watch }
    }

    /// A snapshot of the runtime's counters, read from this thread without
    /// involving the loop (shared relaxed atomics; see
    /// [`Metrics`](crate::Metrics) for how consistent that is).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = weft::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// rt.block_on(|| weft::yield_now()).unwrap();
    /// let m = std::thread::spawn(move || handle.metrics()).join().unwrap();
    /// assert_eq!(m.tasks_finished, 1);
    /// ```
    pub fn metrics(&self) -> crate::Metrics {
        self.watch.counters.snapshot()
    }

    /// A handle to the runtime running the calling green thread.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime.
    pub fn current() -> Handle {
        crate::context::with_core("Handle::current", |core| {
            Handle::new(core.remote.clone(), core.watch.clone())
        })
    }

    /// Every live task of the runtime: id, name, state, what it waits on
    /// (which lock and its holder, read/write readiness, sleep until when,
    /// which queue, join of which task, a bridge), for how long, and where
    /// it was spawned. Callable from any thread, including a signal-handling
    /// thread (e.g. on `SIGUSR1`): print it with `eprintln!("{dump}")`.
    ///
    /// From another thread it asks the loop, which answers between two
    /// resumes. If the loop does not answer within 250 ms (a task holds it,
    /// or it is not running), the dump lists the live tasks by id, name and
    /// spawn site only ([`TaskDump::complete`] is false), and says which task
    /// the stall watchdog saw holding the loop. From the runtime's own thread
    /// it is built at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = weft::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// let dumper = std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_millis(50));
    ///     handle.dump()
    /// });
    /// rt.block_on(|| {
    ///     weft::task::Builder::new().name("napper".into())
    ///         .spawn(|| weft::sleep(Duration::from_millis(300))).unwrap();
    /// }).unwrap();
    /// let dump = dumper.join().unwrap();
    /// assert!(dump.to_string().contains("'napper': parked on sleep until"), "{dump}");
    /// ```
    pub fn dump(&self) -> TaskDump {
        let local = crate::context::try_with_core(|core| {
            Arc::ptr_eq(&core.watch, &self.watch).then(|| core.dump())
        });
        if let Some(Some(dump)) = local {
            return dump;
        }
        let slot = Arc::new(DumpSlot::default());
        if self.remote.submit(Request::Dump(slot.clone())).is_ok() {
            if let Some(dump) = slot.wait(std::time::Duration::from_millis(250)) {
                return dump;
            }
        }
        TaskDump::from_watch(&self.watch)
    }

    /// Spawns `f` as a green thread in the runtime and returns a handle this
    /// OS thread can block on.
    ///
    /// # Errors
    ///
    /// `NotConnected` when the runtime is gone; any error waking its poller.
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> io::Result<RemoteJoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = Arc::new(RemoteSlot {
            result: Mutex::new(None),
            done: Condvar::new(),
        });
        let guard = SlotGuard {
            slot: Some(slot.clone()),
        };
        let site = Location::caller();
        self.remote.submit(Request::Spawn(
            Box::new(move || {
                let mut guard = guard;
                let result = panic::catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::Panicked);
                guard.fill(result);
            }),
            site,
        ))?;
        Ok(RemoteJoinHandle { slot })
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

struct RemoteSlot<T> {
    result: Mutex<Option<Result<T, JoinError>>>,
    done: Condvar,
}

/// Fills the slot with `Cancelled` if the job is dropped without running
/// (the runtime went away first), so a remote joiner never hangs.
struct SlotGuard<T> {
    slot: Option<Arc<RemoteSlot<T>>>,
}

impl<T> SlotGuard<T> {
    fn fill(&mut self, result: Result<T, JoinError>) {
        if let Some(slot) = self.slot.take() {
            *slot.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            slot.done.notify_all();
        }
    }
}

impl<T> Drop for SlotGuard<T> {
    fn drop(&mut self) {
        self.fill(Err(JoinError::Cancelled));
    }
}

/// Joins, from an OS thread, a green thread spawned through a [`Handle`].
pub struct RemoteJoinHandle<T> {
    slot: Arc<RemoteSlot<T>>,
}

impl<T> RemoteJoinHandle<T> {
    /// Blocks this OS thread until the green thread ends.
    ///
    /// # Errors
    ///
    /// [`JoinError::Panicked`] if it panicked, [`JoinError::Cancelled`] if it
    /// was cancelled or the runtime dropped it before it ran.
    pub fn join(self) -> Result<T, JoinError> {
        let mut result = self.slot.result.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = result.take() {
                return r;
            }
            result = self
                .slot
                .done
                .wait(result)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Like [`join`](Self::join), but gives up after `timeout` with
    /// [`JoinError::TimedOut`], leaving the green thread running and the
    /// handle usable.
    ///
    /// # Errors
    ///
    /// As for [`join`](Self::join), plus [`JoinError::TimedOut`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = weft::Runtime::new().unwrap();
    /// let mut h = rt.handle().spawn(|| 1).unwrap();
    /// // Nobody runs the loop yet.
    /// assert!(h.join_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// rt.run().unwrap();
    /// assert_eq!(h.join_timeout(Duration::from_secs(5)).unwrap(), 1);
    /// ```
    pub fn join_timeout(&mut self, timeout: std::time::Duration) -> Result<T, JoinError> {
        let result = self.slot.result.lock().unwrap_or_else(|e| e.into_inner());
        let (mut result, _) = self
            .slot
            .done
            .wait_timeout_while(result, timeout, |r| r.is_none())
            .unwrap_or_else(|e| e.into_inner());
        result.take().unwrap_or(Err(JoinError::TimedOut))
    }

    /// True once the green thread has ended.
    pub fn is_finished(&self) -> bool {
        self.slot
            .result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

impl<T> fmt::Debug for RemoteJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

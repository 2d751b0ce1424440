//! `Runtime` and its `Builder`: where green threads run.

use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use crate::context;
use crate::dump::TaskDump;
use crate::handle::Handle;
use crate::lock_cycle::LockCycleAction;
use crate::metrics::Metrics;
use crate::scheduler::{Core, DeadlockReport};
use crate::stack::{self, DEFAULT_STACK_SIZE};
use crate::task::{self, JoinHandle};

/// Settings fixed when the runtime is built.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Stack size (validated, page-rounded) for tasks that do not choose one.
    pub(crate) stack_size: usize,
    /// I/O operations a task may complete in one resume before it is made to yield.
    pub(crate) fairness: u32,
    /// Capacity of the `mio::Events` buffer filled by each poll.
    pub(crate) event_capacity: usize,
    /// OS threads in the `spawn_blocking` worker pool, at most.
    pub(crate) max_blocking_threads: usize,
    /// How long one resume may hold the loop before the watchdog says so.
    pub(crate) stall_threshold: Option<Duration>,
    /// What to do when a lock cycle closes.
    pub(crate) lock_cycles: LockCycleAction,
}

/// Configures a [`Runtime`].
///
/// # Examples
///
/// ```
/// let rt = weft::Builder::new().stack_size(64 * 1024).fairness_interval(32).build().unwrap();
/// assert_eq!(rt.block_on(|| 1 + 1).unwrap(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    stack_size: usize,
    fairness: u32,
    event_capacity: usize,
    max_blocking_threads: usize,
    stall_threshold: Option<Duration>,
    lock_cycles: LockCycleAction,
}

/// The default stall threshold: gevent's `max_blocking_time` (0.1 s). Far
/// above any healthy resume (microseconds) and below what a user of a
/// network service notices as a hang.
pub const DEFAULT_STALL_THRESHOLD: Duration = Duration::from_millis(100);

impl Default for Builder {
    fn default() -> Self {
        Builder {
            stack_size: DEFAULT_STACK_SIZE,
            fairness: 64,
            event_capacity: 1024,
            max_blocking_threads: 64,
            stall_threshold: Some(DEFAULT_STALL_THRESHOLD),
            lock_cycles: LockCycleAction::Report,
        }
    }
}

impl Builder {
    /// The defaults: 256 KiB stacks, a fairness interval of 64, 1024 events per poll.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Default stack size for tasks, in bytes (rounded up to whole pages).
    /// Only touched pages cost memory; the rest is reserved address space.
    /// A task that overflows its stack fails alone with
    /// [`JoinError::StackOverflow`](task::JoinError::StackOverflow) (see
    /// [`task::Builder::stack_size`](crate::task::Builder::stack_size)).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// How many I/O operations a task may complete without parking before
    /// it is made to yield to the others (at least 1).
    pub fn fairness_interval(mut self, ops: u32) -> Self {
        self.fairness = ops.max(1);
        self
    }

    /// How many readiness events one poll of the OS can return (at least 16).
    pub fn event_capacity(mut self, events: usize) -> Self {
        self.event_capacity = events.max(16);
        self
    }

    /// The most OS threads the `spawn_blocking` pool starts (at least 1).
    pub fn max_blocking_threads(mut self, threads: usize) -> Self {
        self.max_blocking_threads = threads.max(1);
        self
    }

    /// How long one task may hold the loop (run without reaching a
    /// suspension point) before a watchdog thread reports it, naming the task
    /// and its spawn site; it reports again, with the total, when the task
    /// lets go. `None` turns the watchdog off. Default:
    /// [`DEFAULT_STALL_THRESHOLD`] (100 ms).
    ///
    /// The watchdog samples four times per threshold, so durations are
    /// measured to a quarter threshold. Reports are `tracing` `warn` events
    /// (through the subscriber that is the default on the thread calling
    /// [`build`](Self::build)), or lines on stderr when that subscriber does
    /// not take them. The loop's cost is one relaxed store per resume.
    ///
    /// One indirect cost: the watchdog is a second thread, and once a
    /// process has one, glibc's socket calls (`recv`, `send`, ...) take their
    /// cancellation-point path. Measured on raw echo at 100 connections: 723
    /// user-space instructions per round trip with the watchdog, 619 without
    /// (`benches/compare.sh`, callgrind), a few nanoseconds of a round trip's
    /// several microseconds of CPU. Any other thread (the `spawn_blocking`
    /// pool, [`Loops`](crate::Loops)) costs the same once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = weft::Builder::new()
    ///     .stall_threshold(Some(Duration::from_millis(20)))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(|| std::thread::sleep(Duration::from_millis(100))).unwrap(); // reported
    /// assert_eq!(rt.metrics().stalls, 1);
    /// ```
    pub fn stall_threshold(mut self, threshold: Option<Duration>) -> Self {
        self.stall_threshold = threshold.map(|t| t.max(Duration::from_millis(1)));
        self
    }

    /// What happens when tasks close a cycle of owned locks (`Lock`,
    /// `RLock`, `Mutex`), detected the moment the last of them parks,
    /// whatever else the runtime is doing. Default:
    /// [`LockCycleAction::Report`] (a `tracing` error and a line on stderr
    /// naming every task, the lock it holds and the one it waits for).
    /// [`LockCycleAction::FailAcquire`] also makes the acquire that closed
    /// the cycle unwind in its task (its join says
    /// [`JoinError::Deadlock`](task::JoinError::Deadlock)), so its guards
    /// release their locks and the others go on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use weft::sync::Lock;
    /// use weft::LockCycleAction;
    ///
    /// let rt = weft::Builder::new().lock_cycles(LockCycleAction::FailAcquire).build().unwrap();
    /// rt.block_on(|| {
    ///     let (a, b) = (Rc::new(Lock::named("a")), Rc::new(Lock::named("b")));
    ///     let (a2, b2) = (a.clone(), b.clone());
    ///     let first = weft::spawn(move || {
    ///         let _a = a2.lock();
    ///         weft::yield_now();
    ///         let _b = b2.lock(); // waits for `second`
    ///     });
    ///     let second = weft::spawn(move || {
    ///         let _b = b.lock();
    ///         weft::yield_now();
    ///         let _a = a.lock(); // closes the cycle: this acquire fails
    ///     });
    ///     assert!(first.join().is_ok());
    ///     assert!(second.join().unwrap_err().is_deadlock());
    /// }).unwrap();
    /// ```
    pub fn lock_cycles(mut self, action: LockCycleAction) -> Self {
        self.lock_cycles = action;
        self
    }

    /// Builds the runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a stack size out of bounds; any error creating the
    /// OS poller.
    pub fn build(self) -> io::Result<Runtime> {
        let config = Config {
            stack_size: stack::validate_stack_size(self.stack_size)?,
            fairness: self.fairness,
            event_capacity: self.event_capacity,
            max_blocking_threads: self.max_blocking_threads,
            stall_threshold: self.stall_threshold,
            lock_cycles: self.lock_cycles,
        };
        crate::panic_hook::install_panic_hook();
        Ok(Runtime {
            core: Rc::new(Core::new(config)?),
        })
    }
}

/// A single-threaded green-thread runtime.
///
/// Spawn tasks with [`Runtime::spawn`] (or from inside tasks with
/// [`spawn`](crate::spawn)), then drive them with [`Runtime::run`] or
/// [`Runtime::block_on`] on this OS thread. `!Send`: tasks never migrate.
///
/// # Examples
///
/// ```
/// let rt = weft::Runtime::new().unwrap();
/// let h = rt.spawn(|| "done");
/// rt.run().unwrap();
/// assert_eq!(h.join().unwrap(), "done");
/// ```
pub struct Runtime {
    core: Rc<Core>,
}

impl Runtime {
    /// A runtime with the default [`Builder`] settings.
    ///
    /// # Errors
    ///
    /// Any error creating the OS poller.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Spawns a task to run when the runtime runs (the seed's `new_task`).
    ///
    /// # Panics
    ///
    /// Panics if no stack can be mapped; use [`Runtime::spawn_with`] for the error.
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        self.spawn_with(task::Builder::new(), f)
            .unwrap_or_else(|e| panic!("Runtime::spawn: {e}"))
    }

    /// Spawns a task configured by a task [`Builder`](crate::task::Builder).
    ///
    /// # Errors
    ///
    /// As for [`task::Builder::spawn`](crate::task::Builder::spawn).
    #[track_caller]
    pub fn spawn_with<F, T>(&self, builder: task::Builder, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        self.core.spawn(builder, std::panic::Location::caller(), f)
    }

    /// Runs tasks until no non-daemon task is left, then unwinds the daemons.
    ///
    /// # Errors
    ///
    /// [`RunError::Deadlock`] when tasks are still blocked but nothing can
    /// ever wake them ([rule 10](crate#scheduling-rules)); every task left is unwound before it returns.
    /// [`RunError::Io`] if polling the OS fails.
    ///
    /// # Panics
    ///
    /// Panics if called from inside a green thread (runtimes do not nest).
    pub fn run(&self) -> Result<(), RunError> {
        context::enter(&self.core, || self.core.run())
    }

    /// Runs `f` as the first task (named `main`), drives every task until no
    /// non-daemon task is left, and returns `f`'s value.
    ///
    /// Unlike [`spawn`](crate::spawn), `f` may borrow from the caller's stack
    /// and return a borrow, as a `std::thread::scope` closure can: `block_on`
    /// returns only once every task, this one included, has finished or been
    /// unwound.
    ///
    /// # Examples
    ///
    /// ```
    /// let names = vec!["ada".to_string(), "grace".to_string()];
    /// let rt = weft::Runtime::new().unwrap();
    /// let longest = rt
    ///     .block_on(|| names.iter().max_by_key(|n| n.len()).unwrap())
    ///     .unwrap();
    /// assert_eq!(longest, "grace");
    /// ```
    ///
    /// The tasks it spawns still own what they use:
    ///
    /// ```compile_fail
    /// let local = String::from("on the caller's stack");
    /// weft::Runtime::new().unwrap().block_on(|| {
    ///     weft::spawn(|| println!("{local}")).join().unwrap();
    /// }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Runtime::run`].
    ///
    /// [`RunError::MainOverflowed`] when `f` overflowed its stack (the other
    /// tasks still ran to the end); [`RunError::MainDeadlocked`] when it was
    /// the victim of a lock cycle.
    ///
    /// # Panics
    ///
    /// If `f` panics, the panic resumes here once the other tasks are done.
    /// Panics if called from inside a green thread (runtimes do not nest).
    #[track_caller]
    pub fn block_on<F, T>(&self, f: F) -> Result<T, RunError>
    where
        F: FnOnce() -> T,
    {
        /// Unwinds every task if the loop itself panics, so no task (the
        /// borrowing main one above all) is left for a later `run` to resume.
        struct Reap<'c>(&'c Core);
        impl Drop for Reap<'_> {
            fn drop(&mut self) {
                self.0.shutdown();
            }
        }

        let mut out: Option<T> = None;
        let slot = &mut out;
        let main: Box<dyn FnOnce() + '_> = Box::new(move || *slot = Some(f()));
        // SAFETY: only the lifetime changes (same layout, same vtable). The
        // closure, and through it `f` and the borrow of `out`, lives on in the
        // main task's coroutine, which nothing can resume or drop after the
        // `enter` below ends:
        // - `enter` asserts that no runtime runs on this thread before the
        //   task is spawned, so a nested call panics with nothing spawned.
        // - `Core::run` returns only after `shutdown`, which leaves the task
        //   table empty: tasks that finished were removed (their closures
        //   consumed), and after a deadlock or a poller error every task left
        //   is cancelled, run until it unwinds, and at last dropped, which
        //   drops its coroutine (force-unwinding it, or dropping a closure
        //   that never started). `main` is not a daemon, so a normal end
        //   means it finished.
        // - If the loop panics instead, `Reap` runs `shutdown` on the way out;
        //   a second panic there aborts, which is sound.
        // - `Drop for Core` and later `run`s therefore never see this task.
        // Spawned tasks stay `'static`, and the result reaches the caller
        // only through `out`, which is read after all of this.
        let main =
            unsafe { std::mem::transmute::<Box<dyn FnOnce() + '_>, Box<dyn FnOnce()>>(main) };
        let site = std::panic::Location::caller();
        let joined: Result<_, RunError> = context::enter(&self.core, || {
            let main = self
                .core
                .spawn(task::Builder::new().name("main".into()), site, main)
                .map_err(RunError::Io)?;
            let reap = Reap(&self.core);
            let run = self.core.run();
            std::mem::forget(reap);
            Ok((run, main.join_finished()))
        });
        let (run, main) = joined?;
        match main {
            Some(Ok(())) => run.map(|()| out.expect("the main task stored its value")),
            Some(Err(task::JoinError::Panicked(p))) => std::panic::resume_unwind(p),
            Some(Err(task::JoinError::StackOverflow { name, stack_size })) => Err(run
                .err()
                .unwrap_or(RunError::MainOverflowed { name, stack_size })),
            Some(Err(task::JoinError::Deadlock(cycle))) => {
                Err(run.err().unwrap_or(RunError::MainDeadlocked(cycle)))
            }
            _ => Err(run.err().unwrap_or(RunError::MainCancelled)),
        }
    }

    /// A `Send + Clone` handle other OS threads use to spawn tasks here.
    pub fn handle(&self) -> Handle {
        Handle::new(self.core.remote.clone(), self.core.watch.clone())
    }

    /// Tasks alive in this runtime (for diagnostics).
    pub fn task_count(&self) -> usize {
        self.core.task_count()
    }

    /// A snapshot of the runtime's counters (see [`Metrics`]). Cheap: it
    /// reads relaxed atomics, and works before, during (from a task) and
    /// after a run.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = weft::Runtime::new().unwrap();
    /// rt.block_on(|| weft::sleep(std::time::Duration::from_millis(1))).unwrap();
    /// assert_eq!(rt.metrics().parks.sleep, 1);
    /// ```
    pub fn metrics(&self) -> Metrics {
        self.core.watch.counters.snapshot()
    }

    /// Every live task: what it waits on, for how long, where it was spawned
    /// (see [`Handle::dump`], which works from any thread).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = weft::Runtime::new().unwrap();
    /// rt.spawn(|| ());
    /// let dump = rt.dump();
    /// assert_eq!(dump.tasks().len(), 1);
    /// assert_eq!(dump.tasks()[0].state, weft::TaskState::Ready);
    /// ```
    pub fn dump(&self) -> TaskDump {
        self.core.dump()
    }

    /// Stacks currently mapped by the pool, in use or idle (for diagnostics:
    /// it stops growing once the pool has warmed up).
    pub fn stacks_mapped(&self) -> usize {
        self.core.stacks_mapped()
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("tasks", &self.core.task_count())
            .finish_non_exhaustive()
    }
}

/// Why [`Runtime::run`] or [`Runtime::block_on`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// Tasks are blocked and nothing can wake them.
    Deadlock(DeadlockReport),
    /// The OS poller failed.
    Io(io::Error),
    /// `block_on`'s main task was cancelled.
    MainCancelled,
    /// `block_on`'s main task overflowed its stack and was stopped there, as
    /// [`JoinError::StackOverflow`](task::JoinError::StackOverflow) says of a
    /// spawned task. (Not a `JoinError` inside: `RunError` stays `Send` and
    /// `Sync`, so `?` turns it into `Box<dyn Error + Send + Sync>`.)
    MainOverflowed {
        /// The task's name (`main`).
        name: Option<String>,
        /// The size of the stack it overflowed, in bytes.
        stack_size: usize,
    },
    /// `block_on`'s main task was the victim of a lock cycle
    /// ([`LockCycleAction::FailAcquire`](crate::LockCycleAction::FailAcquire)).
    MainDeadlocked(crate::LockCycle),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Deadlock(r) => write!(f, "{r}"),
            RunError::Io(e) => write!(f, "the runtime's poller failed: {e}"),
            RunError::MainCancelled => f.write_str("the block_on task was cancelled"),
            RunError::MainOverflowed { name, stack_size } => write!(
                f,
                "the block_on task failed: {}",
                task::JoinError::StackOverflow {
                    name: name.clone(),
                    stack_size: *stack_size
                }
            ),
            RunError::MainDeadlocked(cycle) => {
                write!(
                    f,
                    "the block_on task failed: {}",
                    task::JoinError::Deadlock(cycle.clone())
                )
            }
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Io(e)
    }
}

//! Green threads: spawning, identity, joining and cancelling.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe, Location};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::context::{self, TaskYielder};
use crate::lock_cycle::{LockCycle, Victim};
use crate::park::{self, Reason, Unparker, Wake};
use crate::scheduler::Core;

pub use crate::task_id::TaskId;

/// A handle to the running green thread, from [`current`].
#[derive(Clone, Debug)]
pub struct Task {
    id: TaskId,
    name: Option<Arc<str>>,
}

impl Task {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name, if it was given one with [`Builder::name`].
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// Returns a handle to the calling green thread.
///
/// # Panics
///
/// Panics when called outside a green thread.
///
/// # Examples
///
/// ```
/// weft::Runtime::new().unwrap().block_on(|| {
///     let h = weft::task::Builder::new().name("worker".into()).spawn(|| {
///         weft::current().name().map(str::to_owned)
///     }).unwrap();
///     assert_eq!(h.join().unwrap().as_deref(), Some("worker"));
/// }).unwrap();
/// ```
pub fn current() -> Task {
    context::with_core("current", |core| {
        let (id, name) = core.current_task();
        Task { id, name }
    })
}

/// Moves the calling green thread to the tail of the ready queue and runs the
/// others first ([rule 3](crate#scheduling-rules)).
///
/// With nothing else ready it returns at once (after a zero-timeout poll of
/// I/O and timers). If the task was cancelled, this is where it unwinds.
///
/// # Panics
///
/// Panics when called outside a green thread.
#[inline]
pub fn yield_now() {
    // The scheduler sees the task still `Running` and queues it at the tail.
    context::with_core("yield_now", Core::yield_current);
}

/// Spawns a green thread running `f` and returns its [`JoinHandle`].
///
/// The new task goes to the tail of the ready queue; the caller keeps running
/// ([rule 2](crate#scheduling-rules)). It gets the runtime's default stack size and no name.
///
/// # Panics
///
/// Panics outside a runtime, or if no stack can be mapped (use
/// [`Builder::spawn`] to get that as an error).
///
/// # Examples
///
/// ```
/// weft::Runtime::new().unwrap().block_on(|| {
///     let h = weft::spawn(|| 6 * 7);
///     assert_eq!(h.join().unwrap(), 42);
/// }).unwrap();
/// ```
#[inline]
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    let site = Location::caller();
    context::with_core("spawn", |core| core.spawn(Builder::new(), site, f))
        .unwrap_or_else(|e| panic!("weft::spawn: {e}"))
}

/// Configures a green thread before spawning it, like `std::thread::Builder`.
#[derive(Debug, Default, Clone)]
pub struct Builder {
    pub(crate) name: Option<String>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) daemon: bool,
}

impl Builder {
    /// A builder with the runtime's defaults: no name, default stack, not a daemon.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Names the task (shown by [`current`], traces and deadlock reports).
    pub fn name(mut self, name: String) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets the task's stack size in bytes (rounded up to whole pages).
    ///
    /// A task that overflows its stack is stopped there (on Linux x86_64 and
    /// aarch64): its join reports [`JoinError::StackOverflow`], stderr names
    /// it, and the other tasks go on. It cannot unwind, so what it owned on
    /// its stack is leaked; give deep recursion more room here.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Marks the task as a daemon: `Runtime::run` does not wait for it, and
    /// when the last non-daemon task ends it is unwound (its `Drop`s run).
    pub fn daemon(mut self, daemon: bool) -> Self {
        self.daemon = daemon;
        self
    }

    /// Spawns the task on the running runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a stack size out of bounds; `OutOfMemory` when no
    /// stack can be mapped (the message names `vm.max_map_count` when that
    /// limit is the likely cause).
    ///
    /// # Panics
    ///
    /// Panics when called outside a runtime.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let site = Location::caller();
        context::with_core("task::Builder::spawn", |core| core.spawn(self, site, f))
    }

    /// Spawns the task without a [`JoinHandle`]: nobody can join it, and it
    /// has no join slot, the one heap block a joinable task costs (a server
    /// with a task per connection saves it per connection). Its id is how
    /// to stop it: [`cancel`]. Otherwise it is a task like any other: a
    /// panic ends only this task and is reported as usual (the panic hook,
    /// `tracing`, [`Metrics`](crate::Metrics)), and a stack overflow stops
    /// it and is reported on stderr.
    ///
    /// # Errors
    ///
    /// As for [`spawn`](Self::spawn).
    ///
    /// # Panics
    ///
    /// Panics when called outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::Runtime::new().unwrap().block_on(|| {
    ///     let id = weft::task::Builder::new()
    ///         .spawn_detached(|| weft::sleep(Duration::from_secs(60)))
    ///         .unwrap();
    ///     weft::yield_now();
    ///     assert!(weft::task::cancel(id), "it was sleeping");
    ///     weft::yield_now();
    ///     assert!(!weft::task::cancel(id), "it has ended");
    /// }).unwrap();
    /// ```
    #[track_caller]
    pub fn spawn_detached<F>(self, f: F) -> io::Result<TaskId>
    where
        F: FnOnce() + 'static,
    {
        let site = Location::caller();
        context::with_core("task::Builder::spawn_detached", |core| {
            core.spawn_detached(self, site, f)
        })
    }
}

/// Cancels task `id` of the running runtime as [`JoinHandle::cancel`]
/// does: it unwinds at its current suspension point, or at its next one,
/// and its destructors run; one that has not started never runs. For tasks
/// spawned with [`Builder::spawn_detached`], and for any task whose handle
/// is out of reach.
///
/// Returns whether the task was still alive. An id of a task that has
/// ended does nothing (ids are not reused while the runtime lives), nor
/// does one from another runtime that names no task here; one that does
/// name a task here cancels it, so keep ids to their runtime.
///
/// # Panics
///
/// Panics when called outside a runtime.
pub fn cancel(id: TaskId) -> bool {
    context::with_core("task::cancel", |core| core.cancel(id))
}

/// Why a green thread produced no value.
pub enum JoinError {
    /// The task panicked; the payload is what it panicked with.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The task was cancelled with [`JoinHandle::cancel`] (or unwound at
    /// shutdown) before it finished.
    Cancelled,
    /// `join_timeout` gave up; the task is still running.
    TimedOut,
    /// The task overflowed its stack and was stopped there. It could not
    /// unwind: what it owned through its stack was leaked (see
    /// [`Builder::stack_size`] to give it more room).
    StackOverflow {
        /// The task's name, if it had one.
        name: Option<String>,
        /// The size of the stack it overflowed, in bytes.
        stack_size: usize,
    },
    /// The join was interrupted ([`JoinHandle::interrupt`] on the joining
    /// task); the joined task goes on.
    Interrupted,
    /// The task's lock acquire closed a cycle of tasks waiting for each
    /// other's locks, and the runtime was built with
    /// [`LockCycleAction::FailAcquire`](crate::LockCycleAction::FailAcquire):
    /// the task unwound from that acquire (its guards released their locks).
    Deadlock(LockCycle),
}

impl JoinError {
    /// True for [`JoinError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// True for [`JoinError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// True for [`JoinError::TimedOut`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, JoinError::TimedOut)
    }

    /// True for [`JoinError::Deadlock`].
    pub fn is_deadlock(&self) -> bool {
        matches!(self, JoinError::Deadlock(_))
    }

    /// True for [`JoinError::StackOverflow`].
    pub fn is_stack_overflow(&self) -> bool {
        matches!(self, JoinError::StackOverflow { .. })
    }

    /// The panic message, when the payload is a string.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(p) => payload_str(p.as_ref()),
            _ => None,
        }
    }

    /// Takes the panic payload, to resume the panic with
    /// `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if this is not [`JoinError::Panicked`].
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            JoinError::Panicked(p) => p,
            other => panic!("JoinError::into_panic on {other:?}"),
        }
    }
}

pub(crate) fn payload_str(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(_) => match self.panic_message() {
                Some(m) => write!(f, "Panicked({m:?})"),
                None => f.write_str("Panicked(..)"),
            },
            JoinError::Cancelled => f.write_str("Cancelled"),
            JoinError::TimedOut => f.write_str("TimedOut"),
            JoinError::StackOverflow { name, stack_size } => f
                .debug_struct("StackOverflow")
                .field("name", name)
                .field("stack_size", stack_size)
                .finish(),
            JoinError::Deadlock(cycle) => f.debug_tuple("Deadlock").field(cycle).finish(),
            JoinError::Interrupted => f.write_str("Interrupted"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(_) => match self.panic_message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::TimedOut => f.write_str("timed out waiting for the task"),
            JoinError::StackOverflow { name, stack_size } => {
                f.write_str("task ")?;
                if let Some(name) = name {
                    write!(f, "'{name}' ")?;
                }
                write!(f, "overflowed its {} KiB stack", stack_size / 1024)
            }
            JoinError::Deadlock(cycle) => write!(f, "task was the victim of a {cycle}"),
            JoinError::Interrupted => f.write_str("the join was interrupted"),
        }
    }
}

impl std::error::Error for JoinError {}

/// How a task's body ended, for the counters.
#[derive(Clone, Copy, Debug)]
pub(crate) enum End {
    Returned,
    Panicked,
    Cancelled,
}

/// The panic payload a cancelled task unwinds with.
pub(crate) struct CancelUnwind;

/// Where a task leaves its result for its `JoinHandle`.
pub(crate) struct JoinSlot<T> {
    /// The outcome, once the task ended; taken by `join`. A `Cell`: it is
    /// only ever moved in or out whole, so it needs no borrow flag.
    result: Cell<Option<Result<T, JoinError>>>,
    /// Set when the task ended (stays set after `join` took the result).
    done: Cell<bool>,
    /// The green thread parked in `join`, if any.
    waiter: Cell<Option<Unparker>>,
    /// What the [`SlotPool`] keeps the slot as: made where `T: 'static` is
    /// known, used by `JoinHandle`'s `Drop`, which cannot require it, to
    /// give the slot back with no call through a pointer.
    kind: SlotKind,
}

impl<T: 'static> JoinSlot<T> {
    fn new() -> Self {
        JoinSlot {
            result: Cell::new(None),
            done: Cell::new(false),
            waiter: Cell::new(None),
            kind: SlotKind {
                ty: TypeId::of::<JoinSlot<T>>(),
                free: free_slot::<T>,
            },
        }
    }
}

/// A join slot's type, erased: what the [`SlotPool`] keeps with it.
#[derive(Clone, Copy)]
struct SlotKind {
    /// `TypeId::of::<JoinSlot<T>>()`.
    ty: TypeId,
    /// `free_slot::<T>`, to free a spare slot the pool lets go of.
    free: unsafe fn(NonNull<()>),
}

/// Frees a slot kept by the [`SlotPool`].
///
/// # Safety
///
/// `slot` is the pointer `Rc::into_raw` gave for an `Rc<JoinSlot<T>>`, whose
/// reference it takes over.
unsafe fn free_slot<T>(slot: NonNull<()>) {
    // SAFETY: per this function's contract.
    drop(unsafe { Rc::from_raw(slot.cast::<JoinSlot<T>>().as_ptr()) });
}

impl<T> JoinSlot<T> {
    /// Publishes the task's outcome and wakes the joiner on `core`.
    /// Inlined: its one hot caller is the task's body, and a frame of its
    /// own costs a quarter of its instructions.
    #[inline(always)]
    fn complete(&self, core: &Core, result: Result<T, JoinError>) {
        self.result.set(Some(result));
        self.done.set(true);
        if let Some(w) = self.waiter.take() {
            core.unpark(w, Wake::Unparked);
        }
    }
}

/// Join slots whose task ended and whose handle is gone, kept for the next
/// spawns: a slot is the one heap block an unnamed task costs, so with it
/// pooled (and the stack) a spawn and join allocate nothing.
///
/// A LIFO list of type-erased slots. A spawn takes the most recently kept
/// slot if it is for its result type, else allocates: a program whose tasks
/// return one type (most) always reuses; one that alternates types reuses
/// less, and pays a type check more than before for it. One free list per
/// type would hit in both cases but costs as many instructions per spawn
/// and join as the allocation it saves (measured: `BENCHMARKS.md`).
#[derive(Default)]
pub(crate) struct SlotPool {
    /// The spare slots: each is what `Rc::into_raw` gave for its
    /// `Rc<JoinSlot<_>>`, owning that reference, with its kind. A take
    /// compares the kind's type id with its own, a constant; no `dyn Any`
    /// is asked (an indirect call) and none is made (which needs the
    /// `T: 'static` a handle's `Drop` cannot require).
    spare: RefCell<Vec<(SlotKind, NonNull<()>)>>,
}

impl Drop for SlotPool {
    fn drop(&mut self) {
        for (kind, slot) in self.spare.get_mut().drain(..) {
            // SAFETY: `keep` stored `slot` with its own kind, and the pool
            // owned its reference since.
            unsafe { (kind.free)(slot) };
        }
    }
}

/// Spare slots kept at most; the rest are freed.
const SLOT_POOL_LIMIT: usize = 4096;

impl SlotPool {
    /// An empty slot for a task returning `T`: the last spare if it is for a
    /// `T`, else a new one. Always inlined, like the other pools' takes: a
    /// frame of its own costs a fifth of its instructions.
    #[inline(always)]
    pub(crate) fn take<T: 'static>(&self) -> Rc<JoinSlot<T>> {
        let mut spare = self.spare.borrow_mut();
        // Another type's stays the most recent spare.
        if let Some((kind, _)) = spare.last() {
            if kind.ty == TypeId::of::<JoinSlot<T>>() {
                let (_, slot) = spare.pop().expect("the last spare was just seen");
                // SAFETY: the slot was kept with this type's id (see
                // `keep`), so it is what `into_raw` gave for an
                // `Rc<JoinSlot<T>>`, whose reference the pool owned.
                return unsafe { Rc::from_raw(slot.cast::<JoinSlot<T>>().as_ptr()) };
            }
        }
        drop(spare);
        Rc::new(JoinSlot::new())
    }

    /// Keeps `slot`, the last reference to a slot already emptied, or frees
    /// it if the pool is full.
    #[inline(always)]
    fn keep<T>(&self, slot: Rc<JoinSlot<T>>) {
        let kind = slot.kind;
        // SAFETY: `into_raw` gives a pointer to the `Rc`'s live value, not null.
        let slot = unsafe { NonNull::new_unchecked(Rc::into_raw(slot).cast_mut()) }.cast::<()>();
        let mut spare = self.spare.borrow_mut();
        if spare.len() < SLOT_POOL_LIMIT {
            spare.push((kind, slot));
        } else {
            drop(spare);
            // SAFETY: `slot` came from `into_raw` for a slot of this kind,
            // just above, and is not kept.
            unsafe { (kind.free)(slot) };
        }
    }
}

/// A task's join slot with its value type erased: how the loop ends a task
/// whose body cannot finish on its own (a stack overflow).
pub(crate) trait Outcome {
    /// Completes the join with `error`, unless the task already ended,
    /// waking the joiner on `core`.
    fn fail(&self, core: &Core, error: JoinError);
}

impl<T> Outcome for JoinSlot<T> {
    fn fail(&self, core: &Core, error: JoinError) {
        if !self.done.get() {
            self.complete(core, Err(error));
        }
    }
}

/// The body every coroutine runs: installs the yielder, runs `f` under
/// `catch_unwind`, drops the task's locals in green context, and publishes
/// the outcome.
///
/// A detached task (`slot` is `None`) publishes nothing: its result is `()`
/// and a panic was already reported.
///
/// The slot is borrowed, not owned: the task's cold fields hold its
/// reference, which saves a count up at spawn and down at the end.
///
/// # Safety
///
/// `slot` must stay alive while the coroutine running the body does: the
/// scheduler's task head holds a reference to it in its cold fields, which
/// it drops only after its coroutine (see `fiber.rs`).
pub(crate) unsafe fn body<F, T>(
    f: F,
    slot: Option<NonNull<JoinSlot<T>>>,
) -> impl FnOnce(&TaskYielder, ()) + 'static
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    move |yielder, ()| {
        // SAFETY: used by this body only, and not kept. The reference
        // outlives the body's switches, as a park's does: a task runs only
        // when the loop of the core it was spawned on resumes it (a task
        // never moves), inside that core's `enter`, so whenever this code
        // runs, `core` is installed and alive.
        let core = unsafe { context::current_core("spawn") };
        let cancelled = core.start_current(yielder);
        let result = if cancelled {
            drop(f);
            Err(JoinError::Cancelled)
        } else {
            match panic::catch_unwind(AssertUnwindSafe(f)) {
                Ok(v) => Ok(v),
                Err(p) if p.is::<CancelUnwind>() => Err(JoinError::Cancelled),
                Err(p) if p.is::<Victim>() => match p.downcast::<Victim>() {
                    Ok(v) => Err(JoinError::Deadlock(v.0)),
                    Err(p) => Err(JoinError::Panicked(p)),
                },
                Err(p) => {
                    core.report_panic(p.as_ref());
                    Err(JoinError::Panicked(p))
                }
            }
        };
        let end = match &result {
            Ok(_) => End::Returned,
            Err(JoinError::Cancelled) => End::Cancelled,
            Err(_) => End::Panicked,
        };
        let locals = core.end_current(end);
        // A panicking task-local destructor must not escape into the loop.
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| drop(locals))) {
            core.report_panic(p.as_ref());
        }
        if let Some(slot) = slot {
            // SAFETY: the slot outlives the coroutine (this function's
            // contract), which is running.
            unsafe { slot.as_ref() }.complete(core, result);
        }
    }
}

/// An owned permission to join a green thread (and to cancel it).
///
/// Dropping it detaches the task, which runs on. `!Send`: join from the same
/// runtime thread.
pub struct JoinHandle<T> {
    id: TaskId,
    name: Option<Arc<str>>,
    /// Dropped by hand: `Drop` moves it to the pool when it is the last
    /// reference, without a clone.
    slot: ManuallyDrop<Rc<JoinSlot<T>>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(id: TaskId, name: Option<Arc<str>>, slot: Rc<JoinSlot<T>>) -> Self {
        JoinHandle {
            id,
            name,
            slot: ManuallyDrop::new(slot),
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// True once the task has ended (returned, panicked or was cancelled).
    pub fn is_finished(&self) -> bool {
        self.slot.done.get()
    }

    /// Parks the caller until the task ends and returns its value.
    ///
    /// # Errors
    ///
    /// [`JoinError::Panicked`] with the payload if it panicked,
    /// [`JoinError::Cancelled`] if it was cancelled.
    ///
    /// # Panics
    ///
    /// Panics when called outside a green thread while the task has not yet
    /// finished, or when a previous `join_timeout` already took the result.
    #[inline]
    pub fn join(self) -> Result<T, JoinError> {
        self.wait(None)
    }

    /// Like [`join`](Self::join), but gives up after `timeout` with
    /// [`JoinError::TimedOut`], leaving the task running and the handle usable.
    ///
    /// # Panics
    ///
    /// As for [`join`](Self::join).
    pub fn join_timeout(&mut self, timeout: Duration) -> Result<T, JoinError> {
        self.wait(Some(Instant::now() + timeout))
    }

    #[inline]
    fn wait(&self, deadline: Option<Instant>) -> Result<T, JoinError> {
        if !self.slot.done.get() {
            context::with_core("JoinHandle::join", |core| {
                self.park_until_done(core, deadline)
            })?;
        }
        self.slot
            .result
            .take()
            .expect("the task's result was already taken by an earlier join")
    }

    /// Parks the caller until the task ends, or its join is interrupted or
    /// times out. One frame from the caller's `join` to the switch: every
    /// frame between costs a mispredicted return when the task resumes.
    #[inline(always)]
    fn park_until_done(&self, core: &Core, deadline: Option<Instant>) -> Result<(), JoinError> {
        while !self.slot.done.get() {
            self.slot.waiter.set(Some(core.current_unparker()));
            let wake = park::park_in(core, Reason::Join(self.id), deadline);
            if wake != Wake::Unparked && !self.slot.done.get() {
                self.slot.waiter.set(None);
                return Err(match wake {
                    Wake::Interrupted => JoinError::Interrupted,
                    _ => JoinError::TimedOut,
                });
            }
        }
        Ok(())
    }

    /// The outcome if the task has ended, without parking.
    pub(crate) fn join_finished(self) -> Option<Result<T, JoinError>> {
        self.slot.result.take()
    }

    /// Interrupts the task, like Java's `Thread.interrupt`: the wait it is
    /// parked in now, or its next interruptible one if it is running or
    /// ready, ends early with an "interrupted" outcome instead of waiting on.
    /// Interrupting a finished task does nothing. Unlike [`cancel`](Self::cancel)
    /// nothing unwinds: the task sees an error and decides.
    ///
    /// What each wait reports:
    ///
    /// - socket and [`Registration`](crate::Registration) I/O: an
    ///   `io::Error` of kind `Interrupted` (note that std's `read_exact` and
    ///   `write_all` retry `Interrupted` by convention; plain `read`/`write`
    ///   and `accept` return it);
    /// - [`join`](Self::join) / [`join_timeout`](Self::join_timeout):
    ///   [`JoinError::Interrupted`];
    /// - [`sleep`](crate::sleep): returns early;
    /// - the timed waits of the [`sync`](crate::sync) primitives
    ///   (`acquire_timeout`, `wait_timeout`, `get_timeout`, ...): end as
    ///   their timeout would (not acquired, `Timeout`);
    /// - [`park_until`](crate::park::park_until): [`Wake::Interrupted`].
    ///
    /// The untimed sync waits (`Lock::lock`, `Condition::wait`, `Queue::get`,
    /// ...) cannot report it without changing their signatures, so they are
    /// uninterruptible, like Java's `Lock.lock()`: they wait on, and the
    /// interrupt stays pending for the next interruptible wait. The bridge's
    /// waits (`PollableQueue::get`, `spawn_blocking`, `select`) are not
    /// interruptible either; there the interrupt is only a spurious wake.
    /// To bound any of those, use their `_timeout` form or
    /// [`weft::timeout`](crate::timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::Runtime::new().unwrap().block_on(|| {
    ///     let sleeper = weft::spawn(|| {
    ///         let start = std::time::Instant::now();
    ///         weft::sleep(Duration::from_secs(60));
    ///         start.elapsed()
    ///     });
    ///     weft::yield_now();
    ///     sleeper.interrupt();
    ///     assert!(sleeper.join().unwrap() < Duration::from_secs(60));
    /// }).unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// Panics outside the runtime's thread while the task is alive.
    pub fn interrupt(&self) {
        if !self.is_finished() {
            context::with_core("JoinHandle::interrupt", |core| core.interrupt(self.id));
        }
    }

    /// Cancels the task: it unwinds at its current suspension point, or at
    /// its next one if it is running or ready, and its destructors run. A
    /// task that has not started never runs. `join` then gives
    /// [`JoinError::Cancelled`]. Cancelling a finished task does nothing.
    ///
    /// Cancellation is sticky: a task that catches the unwind is unwound
    /// again at every later suspension point.
    pub fn cancel(&self) {
        if !self.is_finished() {
            context::with_core("JoinHandle::cancel", |core| core.cancel(self.id));
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // The last reference to an ended task's slot (the task and its
        // record let go when it ended): empty it and give it back for the
        // next spawn.
        if self.slot.done.get() && Rc::strong_count(&self.slot) == 1 {
            // Drops a result nobody joined, as freeing the slot would.
            drop(self.slot.result.take());
            self.slot.done.set(false);
            self.slot.waiter.set(None);
            // SAFETY: `self.slot` is taken here once, and not used after.
            let slot = unsafe { ManuallyDrop::take(&mut self.slot) };
            // Outside the runtime's thread (no core) the closure, and the
            // slot with it, is just dropped.
            context::try_with_core(move |core| core.join_slots.keep(slot));
        } else {
            // SAFETY: as above, on the other branch.
            unsafe { ManuallyDrop::drop(&mut self.slot) };
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("finished", &self.is_finished())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_slots_are_reused_for_their_own_type_only() {
        let pool = SlotPool::default();
        let a = pool.take::<u32>();
        let a_at = Rc::as_ptr(&a).addr();
        pool.keep(a);
        let b = pool.take::<String>();
        assert_ne!(
            Rc::as_ptr(&b).addr(),
            a_at,
            "another type's spare is not reused"
        );
        let a = pool.take::<u32>();
        assert_eq!(Rc::as_ptr(&a).addr(), a_at, "the spare was reused");
        pool.keep(b);
        pool.keep(a);
        let a = pool.take::<u32>();
        assert_eq!(
            Rc::as_ptr(&a).addr(),
            a_at,
            "the last spare is reused first"
        );
        pool.keep(a);
        // Dropping the pool frees both spares, each as its own type.
    }
}

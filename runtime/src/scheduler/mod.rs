//! The core of the runtime: the task table, the ready queue and the
//! running task's state, shared by the rooms below.
//!
//! - `task_entry`: one task's record.
//! - `parking`: the park/unpark/cancel protocol every blocking call uses.
//! - `run_loop`: resuming tasks and the event turn (poll, remote requests,
//!   timers), per the crate's [scheduling rules](crate#scheduling-rules).
//! - `shutdown`: unwinding what is left, and the deadlock report.
//!
//! Every `RefCell` here is borrowed only between context switches, never
//! across one: `resume_task` resumes a task through its head (from the
//! ready queue, or copied out of its record by a wake), with no borrow
//! held, and the task reaches its own hot fields through `current_hot`.

mod dump;
mod overflow;
mod parking;
mod ready;
mod run_loop;
mod shutdown;
mod task_entry;

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::panic::Location;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;

use slab::Slab;

use crate::bridge::BlockingPool;
use crate::fiber::{Cold, Fiber, Queued};
use crate::handle::{Remote, Request};
use crate::io::Reactor;
use crate::local::Locals;
use crate::park::Unparker;
use crate::runtime::Config;
use crate::stack::StackPool;
use crate::stall::Watchdog;
use crate::task::{self, Builder, JoinHandle, JoinSlot, SlotPool, TaskId};
use crate::time::TimerHeap;
use crate::watch::Watch;

pub(crate) use parking::ElapsedUnwind;
use ready::ReadyQueue;
pub use shutdown::{BlockedTask, DeadlockReport};
pub(crate) use task_entry::Hot;
use task_entry::{State, TaskEntry};

/// One runtime's scheduler state: its settings, tasks, ready queue,
/// timers, stacks, reactor and the requests of other threads.
pub(crate) struct Core {
    pub(crate) config: Config,
    tasks: RefCell<Slab<TaskEntry>>,
    /// The ready FIFO (rules 2–4), of live tasks' heads.
    ready: ReadyQueue<Queued>,
    timers: RefCell<TimerHeap>,
    stacks: RefCell<StackPool>,
    pub(crate) reactor: Rc<Reactor>,
    /// Cross-thread spawns; `Handle`s hold the other references.
    pub(crate) remote: Arc<Remote>,
    /// The buffer requests from other threads are drained into, kept so
    /// draining does not allocate.
    remote_batch: RefCell<VecDeque<Request>>,
    /// The `spawn_blocking` workers (started on first use).
    pub(crate) blocking: BlockingPool,
    /// Spawn counter, the source of `TaskId` serials.
    serial: Cell<u32>,
    /// Non-daemon tasks alive: `run` returns when it reaches zero.
    live: Cell<usize>,
    /// Tasks parked on a wait that the outside world can end (I/O, bridge).
    external: Cell<usize>,
    /// I/O operations the running task may still complete before it is made
    /// to yield (the fairness budget, reset on every resume).
    budget: Cell<u32>,
    /// The running task's hot fields (null between tasks), in its head:
    /// every park reads and writes them with no table lookup, and they say
    /// which task runs (`Hot::id`) and how it suspends (`Hot::yielder`).
    current_hot: Cell<*const Hot>,
    /// Spare join slots.
    pub(crate) join_slots: SlotPool,
    /// What other threads see: counters, the task in resume, task labels.
    pub(crate) watch: Arc<Watch>,
    /// Whether the stall watchdog runs (then each resume is published).
    stall_watch: bool,
    /// The stall watchdog thread, stopped when the core drops.
    _watchdog: Option<Watchdog>,
    /// The time at the start of the loop's current turn: parks record it,
    /// so dumps can say how long a task has waited without a clock read
    /// per park.
    now: Cell<std::time::Instant>,
    /// `now` in nanoseconds since `epoch`, the form parks record.
    now_ns: Cell<u64>,
    /// When the core was made.
    epoch: std::time::Instant,
    /// Turns taken, to refresh `now` now and then on turns that poll nothing.
    turns: Cell<u32>,
    /// Whether tracing's maximum level lets `TRACE` events through, read
    /// once per turn: the park and wake events, on every round trip, check
    /// this instead of tracing's global.
    trace: Cell<bool>,
}

impl Core {
    pub(crate) fn new(config: Config) -> io::Result<Core> {
        let reactor = Rc::new(Reactor::new(config.event_capacity)?);
        let remote = Arc::new(Remote::new(&reactor)?);
        let blocking = BlockingPool::new(config.max_blocking_threads);
        let watch = Watch::new();
        let epoch = std::time::Instant::now();
        let stacks = StackPool::new(watch.clone(), config.stack_size);
        let watchdog = match config.stall_threshold {
            Some(threshold) => Some(Watchdog::start(watch.clone(), threshold)?),
            None => None,
        };
        Ok(Core {
            config,
            tasks: RefCell::new(Slab::new()),
            ready: ReadyQueue::new(Queued::EMPTY),
            timers: RefCell::new(TimerHeap::default()),
            stacks: RefCell::new(stacks),
            reactor,
            remote,
            remote_batch: RefCell::new(VecDeque::new()),
            blocking,
            serial: Cell::new(0),
            live: Cell::new(0),
            external: Cell::new(0),
            budget: Cell::new(0),
            current_hot: Cell::new(std::ptr::null()),
            join_slots: SlotPool::default(),
            stall_watch: watchdog.is_some(),
            now: Cell::new(epoch),
            now_ns: Cell::new(0),
            epoch,
            turns: Cell::new(0),
            trace: Cell::new(trace_wanted()),
            _watchdog: watchdog,
            watch,
        })
    }

    // ---- spawning -------------------------------------------------------

    pub(crate) fn spawn<F, T>(
        &self,
        builder: Builder,
        site: &'static Location<'static>,
        f: F,
    ) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let Spawned { id, name, slot } = self.spawn_task::<F, T, true>(builder, site, f)?;
        let slot = slot.expect("a joinable task has a join slot");
        Ok(JoinHandle::new(id, name, slot))
    }

    /// Spawns a task nobody joins: no join slot.
    pub(crate) fn spawn_detached<F>(
        &self,
        builder: Builder,
        site: &'static Location<'static>,
        f: F,
    ) -> io::Result<TaskId>
    where
        F: FnOnce() + 'static,
    {
        Ok(self.spawn_task::<F, (), false>(builder, site, f)?.id)
    }

    /// Spawns `f`, with a join slot when `JOINED`.
    #[inline(always)]
    fn spawn_task<F, T, const JOINED: bool>(
        &self,
        builder: Builder,
        site: &'static Location<'static>,
        f: F,
    ) -> io::Result<Spawned<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let stack_size = match builder.stack_size {
            Some(size) => crate::stack::validate_stack_size(size)?,
            None => self.config.stack_size,
        };
        let stack = self.stacks.borrow_mut().take(stack_size)?;
        let slot = JOINED.then(|| self.join_slots.take::<T>());
        let name: Option<Arc<str>> = builder.name.map(Arc::from);
        let serial = self.serial.get().wrapping_add(1);
        self.serial.set(serial);
        // No span at all unless `DEBUG` may be wanted (one load and
        // compare): building and testing a disabled one costs more.
        let span = if tracing::level_enabled!(tracing::Level::DEBUG) {
            task_span(serial, name.as_deref())
        } else {
            None
        };
        // The slot first: the task's id goes into its hot fields, its label
        // by the slot's index into its cold ones. Nothing below reaches
        // back into the core while the table is borrowed.
        let mut tasks = self.tasks.borrow_mut();
        let index = tasks.vacant_key();
        let label = self
            .watch
            .labels
            .publish(index, serial, name.as_ref(), site);
        let cold = Cold {
            outcome: slot.clone().map(|s| s as Rc<dyn task::Outcome>),
            name: name.clone(),
            site,
            locals: Vec::new(),
            lock_wait: None,
            stack_size,
            label,
        };
        let id = TaskId::from_parts(index as u32, serial);
        let hot = Hot::new(id, span.is_some(), self.now_ns.get());
        let borrowed = slot.as_deref().map(NonNull::from);
        // SAFETY: `cold` holds a reference to the slot, and the task's head
        // drops its cold fields only after its coroutine (see `fiber.rs`).
        let body = unsafe { task::body(f, borrowed) };
        let fiber = Fiber::new(stack, body, hot, cold);
        let queued = fiber.queued();
        // Built in the call, not in a local first: that saves a copy of the
        // whole record per spawn. `insert` fills the vacant key read above
        // (a `VacantEntry`'s insert, left out of line, looks the entry up
        // again to hand back a reference nobody wants).
        let inserted = tasks.insert(TaskEntry {
            fiber,
            park_sp: 0,
            span,
            serial,
            daemon: builder.daemon,
        });
        debug_assert_eq!(inserted, index);
        drop(tasks);
        self.watch.counters.spawned.bump();
        self.ready.push_back(queued);
        if !builder.daemon {
            self.live.set(self.live.get() + 1);
        }
        tracing::debug!(
            task = serial,
            name = name.as_deref(),
            daemon = builder.daemon,
            "spawn"
        );
        Ok(Spawned { id, name, slot })
    }

    // ---- the running task -------------------------------------------------

    #[inline]
    fn current_id(&self) -> TaskId {
        self.current_hot().id
    }

    #[inline]
    fn with_entry<R>(&self, id: TaskId, f: impl FnOnce(&mut TaskEntry) -> R) -> Option<R> {
        let mut tasks = self.tasks.borrow_mut();
        match tasks.get_mut(id.index()) {
            Some(t) if t.serial == id.serial() => Some(f(t)),
            _ => None,
        }
    }

    /// The running task's hot fields, without a lookup.
    ///
    /// # Panics
    ///
    /// Outside a green thread.
    #[inline(always)]
    fn current_hot(&self) -> &Hot {
        let hot = self.current_hot.get();
        if hot.is_null() {
            crate::context::outside_runtime("a green-thread API");
        }
        // SAFETY: `resume_task` sets the pointer to the head of the task it
        // resumes and clears it when the switch comes back; meanwhile that
        // task is running, so its head (which only `finish` and shutdown
        // take apart, from the loop, after the switch) is live. The fields
        // are `Cell`s, only ever shared. The reference is used by the task
        // while it runs, not kept past its suspension point.
        unsafe { &*hot }
    }

    #[inline]
    fn with_current<R>(&self, f: impl FnOnce(&mut TaskEntry) -> R) -> R {
        let id = self.current_id();
        let mut tasks = self.tasks.borrow_mut();
        // The running task's record cannot go away while it runs, so its
        // slot is not checked against the serial (only in debug builds).
        let t = tasks
            .get_mut(id.index())
            .expect("the running task has a record");
        debug_assert_eq!(t.serial, id.serial());
        f(t)
    }

    /// The running task, if one is being resumed.
    #[inline]
    pub(crate) fn current_task_id(&self) -> Option<TaskId> {
        let hot = self.current_hot.get();
        // SAFETY: as in `current_hot`.
        (!hot.is_null()).then(|| unsafe { (*hot).id })
    }

    /// Whether a task is being resumed (the caller runs on its stack).
    #[inline]
    pub(crate) fn in_task(&self) -> bool {
        !self.current_hot.get().is_null()
    }

    /// Starts the running task's body: installs the coroutine's `yielder`,
    /// which suspends it from now on, and says whether the task was
    /// cancelled before it ever ran.
    #[inline]
    pub(crate) fn start_current(&self, yielder: &crate::context::TaskYielder) -> bool {
        let hot = self.current_hot();
        hot.yielder.set(yielder);
        hot.cancelled.get()
    }

    /// Records (or clears) the owned lock the running task is about to park on.
    pub(crate) fn set_lock_wait(&self, lock: Option<Rc<crate::lock_cycle::LockIdent>>) {
        self.with_current(|t| t.cold_mut().lock_wait = lock);
    }

    /// The owned lock `id` is parked on, if it is.
    pub(crate) fn lock_wait_of(&self, id: TaskId) -> Option<Rc<crate::lock_cycle::LockIdent>> {
        self.with_entry(id, |t| match t.hot().state.get() {
            State::Parked => t.cold().lock_wait.clone(),
            _ => None,
        })
        .flatten()
    }

    /// The name of task `id`, if it is alive and has one.
    pub(crate) fn task_name(&self, id: TaskId) -> Option<String> {
        self.with_entry(id, |t| t.cold().name.as_deref().map(str::to_owned))
            .flatten()
    }

    pub(crate) fn current_task(&self) -> (TaskId, Option<Arc<str>>) {
        let id = self.current_id();
        (id, self.with_current(|t| t.cold().name.clone()))
    }

    pub(crate) fn with_locals<R>(&self, f: impl FnOnce(&mut Locals) -> R) -> R {
        self.with_current(|t| f(&mut t.cold_mut().locals))
    }

    #[inline]
    pub(crate) fn current_unparker(&self) -> Unparker {
        Unparker::new(self.current_id(), self.current_hot().seq.get())
    }

    /// Spends one unit of the running task's fairness budget and says
    /// whether it has run out. The caller then yields, so a task whose I/O
    /// always succeeds cannot starve the others.
    #[inline]
    pub(crate) fn budget_exhausted(&self) -> bool {
        let left = self.budget.get();
        if left > 1 {
            self.budget.set(left - 1);
            false
        } else {
            true
        }
    }

    pub(crate) fn report_panic(&self, payload: &(dyn Any + Send)) {
        let msg = task::payload_str(payload).unwrap_or("<non-string panic payload>");
        tracing::error!(panic = msg, "task panicked");
    }

    /// Counts how the running task's body ended and hands back its
    /// task-locals, which the body drops while it is still a green thread
    /// (their destructors may park).
    #[inline]
    pub(crate) fn end_current(&self, end: task::End) -> Locals {
        let c = &self.watch.counters;
        match end {
            task::End::Returned => c.finished.bump(),
            task::End::Panicked => c.panicked.bump(),
            task::End::Cancelled => c.cancelled.bump(),
        }
        // SAFETY: the hot fields are the running task's, in its live head
        // (see `current_hot`); only this task reaches its cold fields while
        // it runs, and nothing else borrows them during this one move.
        unsafe {
            let cold = Fiber::cold_of(std::ptr::NonNull::from(self.current_hot()));
            std::mem::take(&mut (*cold.as_ptr()).locals)
        }
    }

    /// `'name' (#id)` or `#id` of the green thread running now, for the
    /// panic hook; `None` outside one (or if the task table is borrowed).
    pub(crate) fn panicking_task(&self) -> Option<String> {
        let id = self.current_task_id()?;
        let tasks = self.tasks.try_borrow().ok()?;
        let t = tasks.get(id.index()).filter(|t| t.serial == id.serial())?;
        Some(match &t.cold().name {
            Some(name) => format!("'{name}' (#{})", t.serial),
            None => format!("#{}", t.serial),
        })
    }

    // ---- stats ----------------------------------------------------------------

    pub(crate) fn stacks_mapped(&self) -> usize {
        self.stacks.borrow().mapped()
    }

    pub(crate) fn task_count(&self) -> usize {
        self.tasks.borrow().len()
    }
}

/// A new task's span, if a subscriber wants it (out of line: only when one
/// may want `DEBUG` events).
#[cold]
#[inline(never)]
fn task_span(serial: u32, name: Option<&str>) -> Option<Box<tracing::Span>> {
    let span = tracing::debug_span!("task", id = serial, name = name.unwrap_or(""));
    (!span.is_disabled()).then(|| Box::new(span))
}

/// Whether any subscriber may want `TRACE` events.
#[inline]
fn trace_wanted() -> bool {
    tracing::level_filters::LevelFilter::current() == tracing::level_filters::LevelFilter::TRACE
}

/// A task just spawned: what its `JoinHandle` is made of.
struct Spawned<T> {
    id: TaskId,
    name: Option<Arc<str>>,
    /// Its join slot, unless it is detached.
    slot: Option<Rc<JoinSlot<T>>>,
}

impl Drop for Core {
    fn drop(&mut self) {
        self.remote.close();
        // Tasks left behind (a runtime dropped without running) still unwind,
        // unless another runtime is running on this thread right now.
        if !self.tasks.get_mut().is_empty() && crate::context::try_with_core(|_| ()).is_none() {
            crate::context::enter(self, || self.shutdown());
        }
    }
}

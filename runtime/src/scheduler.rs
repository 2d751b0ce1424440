//! The core: task records, the ready queue and the loop (see the crate's scheduling rules).
//!
//! Every `RefCell` here is borrowed only between context switches, never
//! across one: `run_task` copies the coroutine's address out of its record, releases all
//! borrows, resumes it, and puts it back afterwards.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::panic;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corosensei::{Coroutine, CoroutineResult};

use crate::fiber::{Fiber, FiberPool};
use slab::Slab;

use crate::bridge::BlockingPool;
use crate::handle::{Remote, Request};
use crate::io::Reactor;
use crate::local::Locals;
use crate::park::{Reason, Unparker, Wake};
use crate::runtime::{BlockedTask, Config, DeadlockReport, RunError};
use crate::stack::StackPool;
use crate::task::{self, Builder, CancelUnwind, JoinHandle, JoinSlot, TaskId};
use crate::time::{TimerHeap, TimerKey};

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// In the ready queue.
    Ready,
    /// Resumed right now.
    Running,
    /// Suspended until an `Unparker` for its current `seq` (or its timer) fires.
    Parked(Reason),
}

/// One green thread's record in the slab.
struct TaskEntry {
    /// The spawn number; together with the slab index it is the `TaskId`.
    serial: u32,
    /// Park sequence: `Unparker`s minted for an earlier park are stale.
    seq: u32,
    state: State,
    /// How the last park ended, read by the task when it resumes.
    wake: Wake,
    /// The deadline timer of the current park, removed when the park ends.
    timer: Option<TimerKey>,
    /// Set by `JoinHandle::cancel` and at shutdown: unwind at every suspension point.
    cancelled: bool,
    /// Set once a cancellation unwind was thrown in this task. Together with
    /// `std::thread::panicking()` it tells "a destructor of this task parks
    /// while the task unwinds" (do not throw again: that would abort) from
    /// "the task caught the unwind and parks again" (throw again: sticky).
    /// `panicking()` alone is per OS thread, so one task's unwinding would
    /// hide every other task's cancellation.
    unwinding: bool,
    /// Daemons do not keep `run` going.
    daemon: bool,
    /// The coroutine, at a fixed address so it is resumed in place.
    fiber: Fiber,
    /// The size class its stack goes back to in the pool.
    stack_size: usize,
    name: Option<Rc<str>>,
    /// Entered on every resume, so the task's events carry its id and name.
    span: tracing::Span,
    /// Task-local values (see `local.rs`).
    locals: Locals,
}

/// Knobs fixed when the runtime is built.
pub(crate) struct Core {
    pub(crate) config: Config,
    tasks: RefCell<Slab<TaskEntry>>,
    /// The ready FIFO (rules 2–4).
    ready: RefCell<VecDeque<TaskId>>,
    /// The task being resumed, if any.
    current: Cell<Option<TaskId>>,
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
    /// Whether the running task was cancelled: checked after every switch
    /// without looking the task up.
    current_cancelled: Cell<bool>,
    /// The running task's park sequence (a copy of its record's `seq`), so
    /// `Unparker::current` needs no lookup.
    current_seq: Cell<u32>,
    /// Spare coroutine boxes.
    fibers: RefCell<FiberPool>,
}

impl Core {
    pub(crate) fn new(config: Config) -> io::Result<Core> {
        let reactor = Rc::new(Reactor::new(config.event_capacity)?);
        let remote = Arc::new(Remote::new(&reactor)?);
        let blocking = BlockingPool::new(config.max_blocking_threads);
        Ok(Core {
            config,
            tasks: RefCell::new(Slab::new()),
            ready: RefCell::new(VecDeque::new()),
            current: Cell::new(None),
            timers: RefCell::new(TimerHeap::default()),
            stacks: RefCell::new(StackPool::new()),
            reactor,
            remote,
            remote_batch: RefCell::new(VecDeque::new()),
            blocking,
            serial: Cell::new(0),
            live: Cell::new(0),
            external: Cell::new(0),
            budget: Cell::new(0),
            current_cancelled: Cell::new(false),
            current_seq: Cell::new(0),
            fibers: RefCell::new(FiberPool::default()),
        })
    }

    // ---- spawning -------------------------------------------------------

    pub(crate) fn spawn<F, T>(&self, builder: Builder, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let stack_size = match builder.stack_size {
            Some(size) => crate::stack::validate_stack_size(size)?,
            None => self.config.stack_size,
        };
        let stack = self.stacks.borrow_mut().take(stack_size)?;
        let slot = Rc::new(JoinSlot::new());
        let coroutine = Coroutine::with_stack(stack, task::body(f, slot.clone()));
        let name: Option<Rc<str>> = builder.name.map(Rc::from);
        let serial = self.serial.get().wrapping_add(1);
        self.serial.set(serial);
        let span = tracing::debug_span!("task", id = serial, name = name.as_deref().unwrap_or(""));
        let entry = TaskEntry {
            serial,
            seq: 0,
            state: State::Ready,
            wake: Wake::Unparked,
            timer: None,
            cancelled: false,
            unwinding: false,
            daemon: builder.daemon,
            fiber: self.fibers.borrow_mut().make(coroutine),
            stack_size,
            name: name.clone(),
            span,
            locals: Vec::new(),
        };
        let index = self.tasks.borrow_mut().insert(entry);
        let id = TaskId::from_parts(index as u32, serial);
        self.ready.borrow_mut().push_back(id);
        if !builder.daemon {
            self.live.set(self.live.get() + 1);
        }
        tracing::debug!(
            task = serial,
            name = name.as_deref(),
            daemon = builder.daemon,
            "spawn"
        );
        Ok(JoinHandle::new(id, name, slot))
    }

    // ---- the running task -------------------------------------------------

    #[inline]
    fn current_id(&self) -> TaskId {
        match self.current.get() {
            Some(id) => id,
            None => crate::context::outside_runtime("a green-thread API"),
        }
    }

    #[inline]
    fn with_entry<R>(&self, id: TaskId, f: impl FnOnce(&mut TaskEntry) -> R) -> Option<R> {
        let mut tasks = self.tasks.borrow_mut();
        match tasks.get_mut(id.index()) {
            Some(t) if t.serial == id.serial() => Some(f(t)),
            _ => None,
        }
    }

    #[inline]
    fn with_current<R>(&self, f: impl FnOnce(&mut TaskEntry) -> R) -> R {
        let id = self.current_id();
        self.with_entry(id, f)
            .expect("the running task has a record")
    }

    pub(crate) fn current_task(&self) -> (TaskId, Option<Rc<str>>) {
        let id = self.current_id();
        (id, self.with_current(|t| t.name.clone()))
    }

    #[inline]
    pub(crate) fn current_cancelled(&self) -> bool {
        self.current_cancelled.get()
    }

    pub(crate) fn with_locals<R>(&self, f: impl FnOnce(&mut Locals) -> R) -> R {
        self.with_current(|t| f(&mut t.locals))
    }

    #[inline]
    pub(crate) fn current_unparker(&self) -> Unparker {
        Unparker::new(self.current_id(), self.current_seq.get())
    }

    #[inline]
    pub(crate) fn after_yield(&self) {
        self.unwind_if_cancelled();
    }

    #[inline]
    pub(crate) fn before_park(&self, reason: Reason, deadline: Option<Instant>) {
        self.unwind_if_cancelled();
        let id = self.current_id();
        let seq = self.current_seq.get();
        self.with_current(|t| t.state = State::Parked(reason));
        if let Some(deadline) = deadline {
            let key = self
                .timers
                .borrow_mut()
                .insert(deadline, Unparker::new(id, seq));
            self.with_current(|t| t.timer = Some(key));
        }
        if reason.is_external() {
            self.external.set(self.external.get() + 1);
        }
        tracing::trace!(%reason, "park");
    }

    #[inline]
    pub(crate) fn after_park(&self) -> Wake {
        let wake = self.with_current(|t| {
            // `unpark` retired the deadline timer (or the heap fired it).
            debug_assert!(t.timer.is_none());
            t.seq = t.seq.wrapping_add(1);
            self.current_seq.set(t.seq);
            t.wake
        });
        self.unwind_if_cancelled();
        wake
    }

    #[inline]
    fn unwind_if_cancelled(&self) {
        if self.current_cancelled.get() {
            self.unwind_cancelled();
        }
    }

    #[cold]
    fn unwind_cancelled(&self) {
        let throw = self.with_current(|t| {
            let throw = t.cancelled && !(t.unwinding && std::thread::panicking());
            t.unwinding |= throw;
            throw
        });
        if throw {
            tracing::debug!("unwinding cancelled task");
            panic::resume_unwind(Box::new(CancelUnwind));
        }
    }

    /// Spends one unit of the running task's fairness budget; yields when it
    /// runs out, so a task whose I/O always succeeds cannot starve the others.
    #[inline]
    pub(crate) fn consume_budget(&self) -> bool {
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

    // ---- waking -------------------------------------------------------------

    /// Ends the park `u` was minted for, if it is still going on.
    #[inline]
    pub(crate) fn unpark(&self, u: Unparker, wake: Wake) -> bool {
        let id = u.task();
        let woke = self.with_entry(id, |t| match t.state {
            State::Parked(reason) if t.seq == u.seq() => {
                t.state = State::Ready;
                t.wake = wake;
                Some((reason, t.timer.take()))
            }
            _ => None,
        });
        match woke.flatten() {
            Some((reason, timer)) => {
                // Retire the park's deadline now, not when the task resumes:
                // it may expire in this very turn, and the timer loop must
                // not pop (and free) a key the task would later remove again.
                // A timed-out park's entry was already popped.
                if let (Some(key), Wake::Unparked) = (timer, wake) {
                    self.timers.borrow_mut().remove(key);
                }
                if reason.is_external() {
                    self.external.set(self.external.get() - 1);
                }
                self.ready.borrow_mut().push_back(id);
                tracing::trace!(task = id.serial(), ?wake, "wake");
                true
            }
            None => false,
        }
    }

    pub(crate) fn is_parked(&self, u: Unparker) -> bool {
        self.with_entry(u.task(), |t| {
            matches!(t.state, State::Parked(_)) && t.seq == u.seq()
        })
        .unwrap_or(false)
    }

    pub(crate) fn cancel(&self, id: TaskId) {
        if self.current.get() == Some(id) {
            self.current_cancelled.set(true);
        }
        let parked = self.with_entry(id, |t| {
            t.cancelled = true;
            match t.state {
                State::Parked(_) => Some(Unparker::new(id, t.seq)),
                _ => None,
            }
        });
        tracing::debug!(task = id.serial(), "cancel");
        if let Some(u) = parked.flatten() {
            self.unpark(u, Wake::Unparked);
        }
    }

    // ---- the loop -------------------------------------------------------------

    /// Resumes one ready task until its next suspension point.
    #[inline]
    fn run_task(&self, id: TaskId) {
        let Some((fiber, span, cancelled, seq)) = self.with_entry(id, |t| {
            t.state = State::Running;
            (t.fiber.as_ptr(), t.span.clone(), t.cancelled, t.seq)
        }) else {
            return;
        };
        self.current.set(Some(id));
        self.current_cancelled.set(cancelled);
        self.current_seq.set(seq);
        self.budget.set(self.config.fairness);
        let result = {
            let _entered = span.enter();
            // SAFETY: only the loop resumes, recycles or drops fibers, and it
            // is here, resuming this one; the task cannot reach its own fiber.
            unsafe { Fiber::resume(fiber) }
        };
        self.current.set(None);
        match result {
            CoroutineResult::Yield(()) => {
                // Still `Running`: it suspended in `yield_now` (a park marks
                // the task `Parked` first), so it goes to the ready tail (rule 3).
                // Done here rather than by a lookup before the switch.
                let yielded = self.with_entry(id, |t| {
                    let yielded = t.state == State::Running;
                    if yielded {
                        t.state = State::Ready;
                    }
                    yielded
                });
                if yielded == Some(true) {
                    self.ready.borrow_mut().push_back(id);
                }
            }
            CoroutineResult::Return(()) => self.finish(id),
        }
    }

    fn finish(&self, id: TaskId) {
        let entry = self.tasks.borrow_mut().remove(id.index());
        let co = self.fibers.borrow_mut().recycle(entry.fiber);
        self.stacks
            .borrow_mut()
            .put(entry.stack_size, co.into_stack());
        if !entry.daemon {
            self.live.set(self.live.get() - 1);
        }
        tracing::debug!(task = entry.serial, name = entry.name.as_deref(), "exit");
    }

    /// Runs until no non-daemon task is left, then unwinds the daemons.
    pub(crate) fn run(&self) -> Result<(), RunError> {
        let result = self.run_loop();
        self.shutdown();
        result
    }

    fn run_loop(&self) -> Result<(), RunError> {
        loop {
            let batch = self.ready.borrow().len();
            for _ in 0..batch {
                let Some(id) = self.ready.borrow_mut().pop_front() else {
                    break;
                };
                self.run_task(id);
            }
            // Jobs other threads queued (before `run`, or while the last
            // task was finishing) are tasks too: spawn them before giving up.
            if self.live.get() == 0 && !self.serve_remote() {
                return Ok(());
            }
            self.turn()?;
        }
    }

    /// One turn of the event side: poll I/O (without blocking when tasks are
    /// ready), take remote spawns, fire due timers.
    fn turn(&self) -> Result<(), RunError> {
        let has_ready = !self.ready.borrow().is_empty();
        let remote_live = self.remote.has_handles();
        let timeout = if has_ready {
            if self.reactor.registrations() == 0 && !remote_live {
                None // nothing to poll: skip the syscall
            } else {
                Some(Some(Duration::ZERO))
            }
        } else if let Some(deadline) = self.timers.borrow().next_deadline() {
            Some(Some(deadline.saturating_duration_since(Instant::now())))
        } else if self.external.get() > 0 || remote_live {
            Some(None)
        } else {
            return Err(RunError::Deadlock(self.deadlock_report()));
        };
        if let Some(timeout) = timeout {
            let remote_woken = self.reactor.poll(timeout, |u, wake| {
                self.unpark(u, wake);
            })?;
            if remote_woken {
                self.serve_remote();
            }
        }
        if !self.timers.borrow().is_empty() {
            let now = Instant::now();
            loop {
                let Some(u) = self.timers.borrow_mut().pop_expired(now) else {
                    break;
                };
                self.unpark(u, Wake::TimedOut);
            }
        }
        Ok(())
    }

    /// Serves what other threads queued: spawns (through `Handle`s) and
    /// unparks (from `RemoteUnparker`s). Returns whether it spawned any task.
    fn serve_remote(&self) -> bool {
        let mut batch = std::mem::take(&mut *self.remote_batch.borrow_mut());
        self.remote.drain_into(&mut batch);
        let mut spawned = false;
        for request in batch.drain(..) {
            match request {
                Request::Spawn(f) => match self.spawn(Builder::new(), f) {
                    Ok(_) => spawned = true,
                    Err(e) => {
                        tracing::error!(error = %e, "could not spawn a task sent from another thread")
                    }
                },
                Request::Unpark(task, seq) => {
                    self.unpark(Unparker::new(task, seq), Wake::Unparked);
                }
            }
        }
        *self.remote_batch.borrow_mut() = batch;
        spawned
    }

    fn deadlock_report(&self) -> DeadlockReport {
        let tasks = self.tasks.borrow();
        let blocked = tasks
            .iter()
            .filter_map(|(index, t)| match t.state {
                State::Parked(reason) => Some(BlockedTask {
                    id: TaskId::from_parts(index as u32, t.serial),
                    name: t.name.as_deref().map(str::to_owned),
                    daemon: t.daemon,
                    reason,
                }),
                _ => None,
            })
            .collect();
        let report = DeadlockReport::new(blocked);
        tracing::error!(%report, "deadlock");
        report
    }

    /// Unwinds every task still alive (daemons at the end of `run`, everything
    /// after a deadlock or when the runtime is dropped), so their `Drop`s run.
    pub(crate) fn shutdown(&self) {
        // A task that swallows its cancellation and keeps parking is given a
        // few more turns, then dropped (corosensei force-unwinds it).
        for _ in 0..8 {
            let ids: Vec<TaskId> = self
                .tasks
                .borrow()
                .iter()
                .map(|(index, t)| TaskId::from_parts(index as u32, t.serial))
                .collect();
            if ids.is_empty() {
                return;
            }
            for &id in &ids {
                self.cancel(id);
            }
            loop {
                let Some(id) = self.ready.borrow_mut().pop_front() else {
                    break;
                };
                self.run_task(id);
            }
        }
        let leftover: Vec<TaskEntry> = self.tasks.borrow_mut().drain().collect();
        for entry in leftover {
            tracing::warn!(
                task = entry.serial,
                "task ignored cancellation; dropping its stack"
            );
            drop(entry);
        }
        self.ready.borrow_mut().clear();
        self.live.set(0);
        self.external.set(0);
    }

    // ---- stats ----------------------------------------------------------------

    pub(crate) fn stacks_mapped(&self) -> usize {
        self.stacks.borrow().mapped()
    }

    pub(crate) fn task_count(&self) -> usize {
        self.tasks.borrow().len()
    }
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

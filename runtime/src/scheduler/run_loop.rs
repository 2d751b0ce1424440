//! The loop: resume ready tasks one pass at a time, then one turn of the
//! event side (poll the OS, serve other threads' requests, fire timers).

use std::time::{Duration, Instant};

use corosensei::CoroutineResult;

use super::{Core, State, TaskEntry};
use crate::fiber::{Fiber, Queued};
use crate::handle::Request;
use crate::park::{Unparker, Wake};
use crate::runtime::RunError;
use crate::task::{Builder, TaskId};

/// Switches into `fiber` until the task's next suspension point, with the
/// stack overflow trap armed for it.
#[inline(always)]
fn switch(fiber: std::ptr::NonNull<crate::fiber::Coro>) -> CoroutineResult<(), ()> {
    crate::trap::arm(fiber.as_ptr());
    // SAFETY: only the loop resumes, recycles or drops fibers, and it is
    // here, resuming this one; the task cannot reach its own fiber.
    let result = unsafe { Fiber::resume(fiber) };
    crate::trap::disarm();
    result
}

/// Drops a finished task's span (out of line: only a subscriber that wants
/// the task's events gets one).
#[cold]
#[inline(never)]
fn drop_span(span: Box<tracing::Span>) {
    drop(span);
}

/// From how many live tasks on the dispatch prefetches the next event's
/// task (`Core::prefetch_task`). A round trip touches about 14 lines of a
/// task's own (900 bytes); below ~256 tasks that is under 230 KiB, which an
/// L2 holds from one event of the task to its next, and the hints would be
/// work for nothing (~30 instructions per event at 100 connections).
const PREFETCH_FROM_TASKS: usize = 256;

/// What one turn asks of the OS poller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PollWait {
    /// Tasks are ready and nothing is registered that could report
    /// readiness: skip the syscall.
    Skip,
    /// Tasks are ready: poll without blocking (rule 9).
    Now,
    /// Nothing is ready: block until the nearest timer.
    Until(Instant),
    /// Nothing is ready and no timer is set, but a socket, a bridge or
    /// another thread can still wake a task: block until it does.
    Forever,
    /// Nothing is ready and nothing can ever wake the parked tasks.
    Deadlock,
}

impl Core {
    // ---- the loop -------------------------------------------------------------

    /// Resumes one task taken off the ready queue until its next
    /// suspension point.
    ///
    /// Always inlined into its two callers (the loop, shutdown): the switch
    /// clobbers every callee-saved register, which a frame of its own would
    /// save and restore on every resume.
    #[inline(always)]
    pub(super) fn run_queued(&self, task: Queued) {
        // SAFETY: a queued task is alive until it runs (see `ready.rs`), and
        // it runs only now, after it left the queue.
        unsafe { task.hot() }.state.set(State::Running);
        self.resume_task(task);
    }

    /// Resumes `task`, alive and already marked `Running` (see
    /// `run_queued`; inlined for the same reason).
    #[inline(always)]
    pub(super) fn resume_task(&self, task: Queued) {
        // SAFETY: the callers hand in a live task (one just taken off the
        // ready queue, or looked up in the table); it stays alive until it
        // ends, which `finish` sees to below, after the last use of `hot`.
        let hot = unsafe { task.hot() };
        let id = hot.id;
        self.current_hot.set(hot);
        self.budget.set(self.config.fairness);
        let resumes = &self.watch.counters.resumes;
        let n = resumes.get().wrapping_add(1);
        resumes.set(n);
        if self.stall_watch {
            self.watch.resuming(n as u32, id.serial());
        }
        // SAFETY: as above.
        let fiber = unsafe { task.coroutine() };
        // With no subscriber the span is disabled: no clone, no enter/exit.
        let result = if hot.traced {
            self.switch_traced(id, fiber)
        } else {
            switch(fiber)
        };
        self.current_hot.set(std::ptr::null());
        match result {
            // It suspended in `yield_now`, which leaves it `Running`: to the
            // ready tail (rule 3). For a task that is not the current one,
            // `Running` means queued after a yield: no lookup to say so.
            CoroutineResult::Yield(()) if hot.is_running() => self.ready.push_back(task),
            // A park marked it `Parked`: nothing to do.
            CoroutineResult::Yield(()) => {}
            CoroutineResult::Return(()) if crate::trap::take_overflow() => {
                self.finish_overflowed(id);
            }
            CoroutineResult::Return(()) => self.finish(id),
        }
    }

    /// Asks for the lines task `id` touches first when it resumes: its
    /// stack around where it parked, and its head (hot fields, coroutine,
    /// and the link to the loop that corosensei keeps just below it; see
    /// `Queued::prefetch`). See `prefetch.rs`; a task that is gone costs
    /// wasted fills, nothing else.
    #[inline(always)]
    fn prefetch_task(&self, id: TaskId) {
        /// How much of the stack below the parked frame's marker: the
        /// switch's save area and the start of that frame; the lines after
        /// it hold the rest of the frame and its caller's.
        const BELOW_MARKER: usize = 128;
        if let Some(t) = self.tasks.borrow().get(id.index()) {
            crate::prefetch::lines::<8>(t.park_sp.wrapping_sub(BELOW_MARKER));
            t.fiber.queued().prefetch();
        }
    }

    /// Sets the turn's time.
    fn set_now(&self, now: Instant) {
        self.now.set(now);
        let since = now.saturating_duration_since(self.epoch).as_nanos();
        self.now_ns.set(u64::try_from(since).unwrap_or(u64::MAX));
    }

    /// [`switch`] into task `id` inside its span, for a subscriber that
    /// wants the task's events.
    #[cold]
    #[inline(never)]
    fn switch_traced(
        &self,
        id: TaskId,
        fiber: std::ptr::NonNull<crate::fiber::Coro>,
    ) -> CoroutineResult<(), ()> {
        let span = self
            .with_entry(id, |t| t.span.as_deref().cloned())
            .flatten();
        let _entered = span.as_ref().map(tracing::Span::enter);
        switch(fiber)
    }

    #[cold]
    fn finish(&self, id: TaskId) {
        let entry = self.tasks.borrow_mut().remove(id.index());
        self.watch
            .labels
            .retire_at(id.index(), entry.fiber.cold().label);
        tracing::debug!(
            task = entry.serial,
            name = entry.fiber.cold().name.as_deref(),
            "exit"
        );
        let TaskEntry {
            fiber,
            span,
            daemon,
            ..
        } = entry;
        if let Some(span) = span {
            drop_span(span);
        }
        let (stack, size) = fiber.into_stack();
        self.stacks.borrow_mut().put(size, stack);
        if !daemon {
            self.live.set(self.live.get() - 1);
        }
    }

    /// Runs until no non-daemon task is left, then unwinds the daemons.
    pub(crate) fn run(&self) -> Result<(), RunError> {
        crate::trap::install();
        let start = Instant::now();
        let result = self.run_loop();
        self.shutdown();
        self.watch
            .counters
            .run_ns
            .add(start.elapsed().as_nanos() as u64);
        result
    }

    fn run_loop(&self) -> Result<(), RunError> {
        loop {
            let batch = self.ready.len();
            self.watch.counters.ready_max.raise(batch as u64);
            if self.live.get() < PREFETCH_FROM_TASKS {
                for _ in 0..batch {
                    let Some(task) = self.ready.pop_front() else {
                        break;
                    };
                    self.run_queued(task);
                }
            } else {
                // With many tasks, the next one's head has left the cache by
                // its turn: ask for it while this one runs (as the dispatch
                // does for the next event's task).
                for _ in 0..batch {
                    let Some(task) = self.ready.pop_front() else {
                        break;
                    };
                    if let Some(next) = self.ready.front() {
                        next.prefetch();
                    }
                    self.run_queued(task);
                }
            }
            // Jobs other threads queued (before `run`, or while the last
            // task was finishing) are tasks too: spawn them before giving up.
            if self.live.get() == 0 && !self.serve_remote() {
                return Ok(());
            }
            self.turn()?;
        }
    }

    /// What this turn should ask of the OS poller, given the ready queue,
    /// the timers and who could still wake a parked task.
    fn poll_wait(&self) -> PollWait {
        let remote_live = self.remote.has_handles();
        if !self.ready.is_empty() {
            if self.reactor.registrations() == 0 && !remote_live {
                PollWait::Skip
            } else {
                PollWait::Now
            }
        } else if let Some(deadline) = self.timers.borrow().next_deadline() {
            PollWait::Until(deadline)
        } else if self.external.get() > 0 || remote_live {
            PollWait::Forever
        } else {
            PollWait::Deadlock
        }
    }

    /// Whether this turn has nothing to do but count itself: tasks are
    /// ready and nothing can be polled or fired (no registration, no other
    /// thread's handle, no timer), as for compute-bound tasks, spawn and
    /// join, yields. Told by four loads, where the full turn would find the
    /// same with three times the instructions.
    #[inline(always)]
    fn quiet(&self) -> bool {
        !self.ready.is_empty()
            && self.reactor.registrations() == 0
            && self.timers.borrow().is_empty()
            && !self.remote.has_handles()
    }

    /// One turn of the event side: poll I/O (without blocking when tasks are
    /// ready), take remote requests, fire due timers.
    fn turn(&self) -> Result<(), RunError> {
        self.trace.set(super::trace_wanted());
        let turns = self.turns.get().wrapping_add(1);
        self.turns.set(turns);
        if self.quiet() {
            // Only the clock, now and then (see below).
            if turns % 64 == 0 {
                self.set_now(Instant::now());
            }
            return Ok(());
        }
        let timeout = match self.poll_wait() {
            PollWait::Skip => None,
            PollWait::Now => Some(Some(Duration::ZERO)),
            PollWait::Until(deadline) => {
                Some(Some(deadline.saturating_duration_since(Instant::now())))
            }
            PollWait::Forever => Some(None),
            PollWait::Deadlock => return Err(RunError::Deadlock(self.deadlock_report())),
        };
        let timers = !self.timers.borrow().is_empty();
        if let Some(timeout) = timeout {
            let counters = &self.watch.counters;
            counters.polls.bump();
            let blocking = timeout != Some(Duration::ZERO);
            let idle_from = blocking.then(|| {
                self.watch.idle();
                Instant::now()
            });
            self.reactor.poll(timeout)?;
            // The turn's time, which parks record (for dumps): read when the
            // turn polled the OS or has timers to fire (it pays for a syscall
            // or needs the clock anyway), else every 64th turn (below), so a
            // loop of pure yields does not pay a clock read per pass.
            let now = Instant::now();
            self.set_now(now);
            if let Some(from) = idle_from {
                counters.idle_ns.add((now - from).as_nanos() as u64);
            }
            // Nothing was ready before the poll: the tasks it wakes run as
            // they are woken, in that order, as the queue would have run them.
            // (Two dispatches, not one with the choice made per event.)
            let remote_woken = if self.ready.is_empty() {
                // Run at once, the next event's task gets its lines asked
                // for while this one runs; queued, it runs too late for
                // that. With few tasks their lines are still cached: no
                // hints.
                let prefetch = self.live.get() >= PREFETCH_FROM_TASKS;
                self.reactor.dispatch(
                    |u| {
                        counters.events.bump();
                        self.unpark_and_run(u)
                    },
                    prefetch.then_some(|u: Unparker| self.prefetch_task(u.task())),
                )
            } else {
                self.reactor.dispatch(
                    |u| {
                        counters.events.bump();
                        self.unpark(u, Wake::Unparked)
                    },
                    None::<fn(Unparker)>,
                )
            };
            if remote_woken {
                self.serve_remote();
            }
        } else if timers || turns % 64 == 0 {
            self.set_now(Instant::now());
        }
        // Looked at again after a poll: a task run by its dispatch may have
        // set one.
        if timers || (timeout.is_some() && !self.timers.borrow().is_empty()) {
            let now = self.now.get();
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
                Request::Spawn(f, site) => match self.spawn(Builder::new(), site, f) {
                    Ok(_) => spawned = true,
                    Err(e) => {
                        tracing::error!(error = %e, "could not spawn a task sent from another thread")
                    }
                },
                Request::Unpark(task, seq) => {
                    self.unpark(Unparker::new(task, seq), Wake::Unparked);
                }
                Request::Dump(slot) => slot.fill(self.dump()),
            }
        }
        *self.remote_batch.borrow_mut() = batch;
        spawned
    }
}

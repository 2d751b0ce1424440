//! The park/unpark/cancel protocol: how a task leaves the running state
//! for a wait, how a wake (or its deadline, or a cancellation) ends that
//! wait exactly once, and how a cancelled task unwinds at its next
//! suspension point.

use std::panic;
use std::time::Instant;

use super::run_loop::Resume;
use super::{Core, State, TaskEntry};
use crate::park::{Reason, Unparker, Wake};
use crate::task::{CancelUnwind, TaskId};
use crate::time::TimerKey;

impl Core {
    /// Prepares the running task's park. Returns the park's outcome at once
    /// (`Wake::Interrupted`) instead when an interrupt is pending.
    ///
    /// # Panics
    ///
    /// Unwinds (cancellation, or an elapsed `weft::timeout` scope).
    #[inline]
    pub(crate) fn before_park(&self, reason: Reason, deadline: Option<Instant>) -> Option<Wake> {
        self.unwind_if_cancelled();
        let now = self.now_ns.get();
        // A local's address: this runs on the task's own stack, in the
        // frame that is about to switch away.
        let marker = 0u8;
        let sp = std::ptr::addr_of!(marker).addr();
        let (pending, scope) = self.with_current(|t| {
            // No timer is left from the last park: `unpark` or the heap took it.
            debug_assert!(t.timer.is_none());
            let pending = std::mem::take(&mut t.interrupt_pending);
            if !pending {
                t.state = State::Parked(reason);
                t.parked_at = now;
                t.park_sp = sp;
            }
            (pending, t.scope)
        });
        if pending {
            return Some(Wake::Interrupted);
        }
        let mut deadline = deadline;
        let mut scope_armed = false;
        if let Some((scope_deadline, scope_id)) = scope {
            if deadline.is_none_or(|d| scope_deadline <= d) {
                if scope_deadline <= Instant::now() && !std::thread::panicking() {
                    self.with_current(|t| t.state = State::Running);
                    elapse(scope_id);
                }
                deadline = Some(scope_deadline);
                scope_armed = true;
            }
        }
        self.watch.counters.parks[park_slot(reason)].bump();
        if let Some(deadline) = deadline {
            let me = self.current_unparker();
            let key = self.timers.borrow_mut().insert(deadline, me);
            self.with_current(|t| {
                t.timer = Some(key);
                t.scope_armed = scope_armed;
            });
        }
        if reason.is_external() {
            self.external.set(self.external.get() + 1);
        }
        self.current_parked.set(true);
        tracing::trace!(%reason, "park");
        None
    }

    /// Ends the running task's park and says how it ended.
    ///
    /// # Panics
    ///
    /// Unwinds (cancellation, or an elapsed `weft::timeout` scope).
    #[inline]
    pub(crate) fn after_park(&self) -> Wake {
        // `unpark` ended the park: it retired the deadline timer (or the
        // heap fired it) and moved `seq` on; the loop copied `seq` and `wake`
        // out of the record when it resumed this task.
        debug_assert!(self.with_current(|t| t.timer.is_none() && t.seq == self.current_seq.get()));
        let wake = self.current_wake.get();
        // Only a timed-out park can be a `weft::timeout` scope's deadline
        // (and `before_park` set `scope_armed` for every park with a timer).
        let elapsed = if wake == Wake::TimedOut {
            self.with_current(|t| match std::mem::take(&mut t.scope_armed) {
                true => t.scope.map(|(_, id)| id),
                false => None,
            })
        } else {
            None
        };
        self.unwind_if_cancelled();
        if let Some(scope_id) = elapsed {
            if !std::thread::panicking() {
                elapse(scope_id);
            }
        }
        wake
    }

    /// Interrupts task `id`: ends its park with `Wake::Interrupted`, or
    /// leaves the interrupt pending for its next one.
    pub(crate) fn interrupt(&self, id: TaskId) {
        let parked = self.with_entry(id, |t| match t.state {
            State::Parked(_) => Some(Unparker::new(id, t.seq)),
            _ => {
                t.interrupt_pending = true;
                None
            }
        });
        tracing::debug!(task = id.serial(), "interrupt");
        if let Some(u) = parked.flatten() {
            self.unpark(u, Wake::Interrupted);
        }
    }

    /// Marks an interrupt pending for the running task (an uninterruptible
    /// wait swallowed one and hands it on).
    pub(crate) fn keep_interrupt(&self) {
        self.with_current(|t| t.interrupt_pending = true);
    }

    /// Swaps the running task's `timeout` scope.
    pub(crate) fn swap_scope(&self, scope: Option<(Instant, u64)>) -> Option<(Instant, u64)> {
        self.with_current(|t| std::mem::replace(&mut t.scope, scope))
    }

    #[inline]
    pub(super) fn unwind_if_cancelled(&self) {
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

    // ---- waking -------------------------------------------------------------

    /// Ends the park `u` was minted for, if it is still going on.
    #[inline]
    pub(crate) fn unpark(&self, u: Unparker, wake: Wake) -> bool {
        let id = u.task();
        let woke = self.with_entry(id, |t| match t.state {
            State::Parked(reason) if t.seq == u.seq() => {
                t.state = State::Ready;
                Some((reason, end_park(t, wake)))
            }
            _ => None,
        });
        match woke.flatten() {
            Some((reason, timer)) => {
                self.retire_park(id, reason, timer, wake);
                self.ready.push_back(id);
                true
            }
            None => false,
        }
    }

    /// Like [`unpark`](Self::unpark) with `Wake::Unparked`, but resumes the
    /// woken task at once instead of queueing it: for a readiness event
    /// polled while no task was ready, where the queue would hand the woken
    /// tasks back in the order they were woken anyway (rule 4 holds: the
    /// loop is between tasks, nobody is preempted). Saves the queue's push
    /// and pop and a second lookup of the record.
    #[inline(always)]
    pub(super) fn unpark_and_run(&self, u: Unparker) -> bool {
        let id = u.task();
        let woke = self.with_entry(id, |t| match t.state {
            State::Parked(reason) if t.seq == u.seq() => {
                t.state = State::Running;
                let timer = end_park(t, Wake::Unparked);
                Some((reason, timer, Resume::of(t)))
            }
            _ => None,
        });
        match woke.flatten() {
            Some((reason, timer, resume)) => {
                self.retire_park(id, reason, timer, Wake::Unparked);
                self.resume_task(id, resume);
                true
            }
            None => false,
        }
    }

    /// The loop's side of a park (in `reason`) that `end_park` ended: its
    /// deadline `timer` retired, the external-wait count and the counters
    /// updated.
    #[inline(always)]
    fn retire_park(&self, id: TaskId, reason: Reason, timer: Option<TimerKey>, wake: Wake) {
        // Retire the park's deadline now, not when the task resumes: it may
        // expire in this very turn, and the timer loop must not pop (and
        // free) a key the task would later remove again. A timed-out park's
        // entry was already popped.
        if let Some(key) = timer.filter(|_| wake != Wake::TimedOut) {
            self.timers.borrow_mut().remove(key);
        }
        if reason.is_external() {
            self.external.set(self.external.get() - 1);
        }
        if wake == Wake::Unparked {
            self.watch.counters.wakes.bump();
        }
        tracing::trace!(task = id.serial(), ?wake, "wake");
    }

    pub(crate) fn is_parked(&self, u: Unparker) -> bool {
        self.with_entry(u.task(), |t| {
            matches!(t.state, State::Parked(_)) && t.seq == u.seq()
        })
        .unwrap_or(false)
    }

    /// Cancels task `id`; says whether it was alive (an ended task's id
    /// does nothing).
    pub(crate) fn cancel(&self, id: TaskId) -> bool {
        if self.current.get() == Some(id) {
            self.current_cancelled.set(true);
        }
        let Some(parked) = self.with_entry(id, |t| {
            t.cancelled = true;
            match t.state {
                State::Parked(_) => Some(Unparker::new(id, t.seq)),
                _ => None,
            }
        }) else {
            return false;
        };
        tracing::debug!(task = id.serial(), "cancel");
        if let Some(u) = parked {
            self.unpark(u, Wake::Unparked);
        }
        true
    }
}

/// Ends `t`'s park with `wake`: its unparkers are stale from now on.
/// Returns the park's deadline timer, for `retire_park`.
#[inline]
fn end_park(t: &mut TaskEntry, wake: Wake) -> Option<TimerKey> {
    t.wake = wake;
    t.seq = t.seq.wrapping_add(1);
    t.timer.take()
}

/// Index into [`Counters::parks`].
#[inline]
fn park_slot(reason: Reason) -> usize {
    match reason {
        Reason::Sleep => 0,
        Reason::Join(_) => 1,
        Reason::Readable => 2,
        Reason::Writable => 3,
        Reason::Bridge(_) => 4,
        Reason::Primitive(_) => 5,
    }
}

/// The unwind payload of a park whose `timeout` scope elapsed.
pub(crate) struct ElapsedUnwind(pub(crate) u64);

/// Unwinds the running task out of its park: scope `id` elapsed.
#[cold]
pub(crate) fn elapse(id: u64) -> ! {
    tracing::debug!(scope = id, "timeout elapsed");
    panic::resume_unwind(Box::new(ElapsedUnwind(id)))
}

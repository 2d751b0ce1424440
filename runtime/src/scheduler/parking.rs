//! The park/unpark/cancel protocol: how a task leaves the running state
//! for a wait, how a wake (or its deadline, or a cancellation) ends that
//! wait exactly once, and how a cancelled task unwinds at its next
//! suspension point.

use std::panic;
use std::time::Instant;

use super::{Core, State};
use crate::park::{Reason, Unparker, Wake};
use crate::task::{CancelUnwind, TaskId};

impl Core {
    #[inline]
    pub(crate) fn before_park(&self, reason: Reason, deadline: Option<Instant>) {
        self.unwind_if_cancelled();
        // The deadline's timer first, so one lookup of the record sets both.
        let timer = deadline.map(|deadline| {
            let me = self.current_unparker();
            self.timers.borrow_mut().insert(deadline, me)
        });
        self.with_current(|t| {
            // No timer is left from the last park: `unpark` or the heap took it.
            debug_assert!(t.timer.is_none());
            t.state = State::Parked(reason);
            t.timer = timer;
        });
        if reason.is_external() {
            self.external.set(self.external.get() + 1);
        }
        self.current_parked.set(true);
        tracing::trace!(%reason, "park");
    }

    #[inline]
    pub(crate) fn after_park(&self) -> Wake {
        // `unpark` ended the park: it retired the deadline timer (or the
        // heap fired it) and moved `seq` on; the loop copied `seq` and `wake`
        // out of the record when it resumed this task.
        debug_assert!(self.with_current(|t| t.timer.is_none() && t.seq == self.current_seq.get()));
        let wake = self.current_wake.get();
        self.unwind_if_cancelled();
        wake
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
                t.wake = wake;
                // This park is over: its unparkers are stale from now on.
                t.seq = t.seq.wrapping_add(1);
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
}

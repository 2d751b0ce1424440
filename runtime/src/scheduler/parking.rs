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
        let id = self.current_id();
        let seq = self.current_seq.get();
        let now = self.now.get();
        self.with_current(|t| {
            t.state = State::Parked(reason);
            t.parked_at = now;
        });
        self.watch.counters.parks[crate::metrics::park_slot(reason)].bump();
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
                if wake == Wake::Unparked {
                    self.watch.counters.wakes.bump();
                }
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

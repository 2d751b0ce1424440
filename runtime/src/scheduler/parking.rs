//! The park/unpark/cancel protocol: how a task leaves the running state
//! for a wait, how a wake (or its deadline, or a cancellation) ends that
//! wait exactly once, and how a cancelled task unwinds at its next
//! suspension point.

use std::panic;
use std::time::Instant;

use super::{Core, Hot, State};
use crate::park::{Reason, Unparker, Wake};
use crate::task::{CancelUnwind, TaskId};
use crate::time::TimerKey;

impl Core {
    /// Prepares the running task's park, for [`after_park`](Self::after_park)
    /// once it has suspended. Returns the park's outcome at once
    /// (`Wake::Interrupted`) instead when an interrupt is pending.
    ///
    /// # Panics
    ///
    /// Unwinds (cancellation, or an elapsed `weft::timeout` scope).
    #[inline(always)]
    pub(crate) fn before_park(
        &self,
        reason: Reason,
        deadline: Option<Instant>,
    ) -> Result<Parking<'_>, Wake> {
        // Looked up once for both halves of the park: it stays put.
        let hot = self.current_hot();
        unwind_if_cancelled(hot);
        let now = self.now_ns.get();
        // A local's address: this runs on the task's own stack, in the
        // frame that is about to switch away.
        let marker = 0u8;
        let sp = std::ptr::addr_of!(marker).addr();
        // No timer is left from the last park: `unpark` or the heap took it.
        debug_assert!(hot.timer.get().is_none());
        if hot.interrupt_pending.replace(false) {
            return Err(Wake::Interrupted);
        }
        // A task mostly parks for the reason it parked for last (a socket's
        // reads): then the 24-byte copy is skipped (a tag compare when
        // `reason` is a constant, as it is in the socket waits).
        if !same_reason(hot.reason.get(), reason) {
            hot.reason.set(reason);
        }
        hot.state.set(State::Parked);
        hot.parked_at.set(now);
        hot.park_sp.set(sp);
        let scope = hot.scope.get();
        let mut deadline = deadline;
        let mut scope_armed = false;
        if let Some((scope_deadline, scope_id)) = scope {
            if deadline.is_none_or(|d| scope_deadline <= d) {
                if scope_deadline <= Instant::now() && !std::thread::panicking() {
                    hot.state.set(State::Running);
                    elapse(scope_id);
                }
                deadline = Some(scope_deadline);
                scope_armed = true;
            }
        }
        self.watch.counters.parks[park_slot(reason)].bump();
        if let Some(deadline) = deadline {
            let me = Unparker::new(hot.id, hot.seq.get());
            let key = self.timers.borrow_mut().insert(deadline, me);
            hot.timer.set(Some(key));
            hot.scope_armed.set(scope_armed);
        }
        if reason.is_external() {
            self.external.set(self.external.get() + 1);
        }
        if self.trace.get() {
            tracing::trace!(%reason, "park");
        }
        Ok(Parking(hot))
    }

    /// Ends the running task's park and says how it ended.
    ///
    /// # Panics
    ///
    /// Unwinds (cancellation, or an elapsed `weft::timeout` scope).
    #[inline]
    pub(crate) fn after_park(&self, parking: Parking<'_>) -> Wake {
        match self.finish_park(parking) {
            Ok(wake) => wake,
            Err(unwind) => unwind.resume(),
        }
    }

    /// [`after_park`](Self::after_park) that does not unwind yet: when
    /// the task must (cancelled, or its `weft::timeout` scope elapsed), it
    /// says so, and the caller undoes what it set up for the park first
    /// (no drop guard to build on every park), then calls
    /// [`Unwind::resume`].
    #[inline]
    pub(crate) fn finish_park(&self, parking: Parking<'_>) -> Result<Wake, Unwind> {
        // `unpark` ended the park: it retired the deadline timer (or the
        // heap fired it), moved `seq` on and said how in `wake`.
        let Parking(hot) = parking;
        debug_assert!(hot.timer.get().is_none());
        let wake = hot.wake.get();
        // Only a timed-out park can be a `weft::timeout` scope's deadline
        // (and `before_park` set `scope_armed` for every park with a timer).
        let elapsed = if wake == Wake::TimedOut && hot.scope_armed.replace(false) {
            hot.scope.get().map(|(_, id)| id)
        } else {
            None
        };
        if hot.cancelled.get() && throws_cancel(hot) {
            return Err(Unwind::Cancelled);
        }
        match elapsed {
            Some(scope_id) if !std::thread::panicking() => Err(Unwind::Elapsed(scope_id)),
            _ => Ok(wake),
        }
    }

    /// `yield_now`: suspends the running task, which the loop queues at
    /// the tail (its record still says `Running`), and unwinds it there if
    /// it was cancelled meanwhile.
    #[inline]
    pub(crate) fn yield_current(&self) {
        let hot = self.current_hot();
        hot.suspend();
        unwind_if_cancelled(hot);
    }

    /// Interrupts task `id`: ends its park with `Wake::Interrupted`, or
    /// leaves the interrupt pending for its next one.
    pub(crate) fn interrupt(&self, id: TaskId) {
        let parked = self.with_entry(id, |t| {
            let hot = t.hot();
            match hot.state.get() {
                State::Parked => Some(Unparker::new(id, hot.seq.get())),
                _ => {
                    hot.interrupt_pending.set(true);
                    None
                }
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
        self.current_hot().interrupt_pending.set(true);
    }

    /// Swaps the running task's `timeout` scope.
    pub(crate) fn swap_scope(&self, scope: Option<(Instant, u64)>) -> Option<(Instant, u64)> {
        self.current_hot().scope.replace(scope)
    }

    // ---- waking -------------------------------------------------------------

    /// Ends the park `u` was minted for, if it is still going on.
    #[inline]
    pub(crate) fn unpark(&self, u: Unparker, wake: Wake) -> bool {
        let id = u.task();
        let woke = self.with_entry(id, |t| {
            // The fiber's alone: `park_sp` is written below.
            let hot = t.fiber.hot();
            match hot.state.get() {
                State::Parked if hot.seq.get() == u.seq() => {
                    let reason = hot.reason.get();
                    hot.state.set(State::Ready);
                    t.park_sp = hot.park_sp.get();
                    Some((reason, end_park(hot, wake), t.fiber.queued()))
                }
                _ => None,
            }
        });
        match woke.flatten() {
            Some((reason, timer, task)) => {
                self.retire_park(id, reason, timer, wake);
                self.ready.push_back(task);
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
        let woke = self.with_entry(id, |t| {
            // The fiber's alone: `park_sp` is written below.
            let hot = t.fiber.hot();
            match hot.state.get() {
                State::Parked if hot.seq.get() == u.seq() => {
                    let reason = hot.reason.get();
                    hot.state.set(State::Running);
                    t.park_sp = hot.park_sp.get();
                    let timer = end_park(hot, Wake::Unparked);
                    Some((reason, timer, t.fiber.queued()))
                }
                _ => None,
            }
        });
        match woke.flatten() {
            Some((reason, timer, task)) => {
                self.retire_park(id, reason, timer, Wake::Unparked);
                self.resume_task(task);
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
        if self.trace.get() {
            tracing::trace!(task = id.serial(), ?wake, "wake");
        }
    }

    pub(crate) fn is_parked(&self, u: Unparker) -> bool {
        self.with_entry(u.task(), |t| {
            let hot = t.hot();
            matches!(hot.state.get(), State::Parked) && hot.seq.get() == u.seq()
        })
        .unwrap_or(false)
    }

    /// Cancels task `id`; says whether it was alive (an ended task's id
    /// does nothing).
    pub(crate) fn cancel(&self, id: TaskId) -> bool {
        let Some(parked) = self.with_entry(id, |t| {
            let hot = t.hot();
            hot.cancelled.set(true);
            match hot.state.get() {
                State::Parked => Some(Unparker::new(id, hot.seq.get())),
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

/// A park of the running task in progress: what `before_park` hands
/// `after_park`, across the suspension (the task's hot fields, which stay
/// put).
pub(crate) struct Parking<'a>(&'a Hot);

impl Parking<'_> {
    /// Suspends the parking task until its park ends.
    #[inline(always)]
    pub(crate) fn suspend(&self) {
        self.0.suspend();
    }

    /// The unparker that ends this park.
    #[inline(always)]
    pub(crate) fn unparker(&self) -> Unparker {
        Unparker::new(self.0.id, self.0.seq.get())
    }
}

/// Why a park ends in an unwind rather than a [`Wake`]
/// (see [`Core::finish_park`]).
#[derive(Debug)]
pub(crate) enum Unwind {
    /// The task was cancelled.
    Cancelled,
    /// The `weft::timeout` scope with this id elapsed.
    Elapsed(u64),
}

impl Unwind {
    /// Unwinds the running task.
    #[cold]
    pub(crate) fn resume(self) -> ! {
        match self {
            Unwind::Cancelled => {
                tracing::debug!("unwinding cancelled task");
                panic::resume_unwind(Box::new(CancelUnwind))
            }
            Unwind::Elapsed(scope_id) => elapse(scope_id),
        }
    }
}

/// Unwinds the running task, whose hot fields are `hot`, if it was cancelled.
#[inline(always)]
fn unwind_if_cancelled(hot: &Hot) {
    if hot.cancelled.get() && throws_cancel(hot) {
        Unwind::Cancelled.resume();
    }
}

/// Whether the cancelled task with hot fields `hot` unwinds now (and marks
/// it unwinding): not when it parks in a destructor while it unwinds
/// already, which a second unwind would turn into an abort.
#[cold]
fn throws_cancel(hot: &Hot) -> bool {
    let throw = !(hot.unwinding.get() && std::thread::panicking());
    if throw {
        hot.unwinding.set(true);
    }
    throw
}

/// Ends the park of the task with hot fields `hot` with `wake`: its
/// unparkers are stale from now on. Returns the park's deadline timer, for
/// `retire_park`.
#[inline]
fn end_park(hot: &Hot, wake: Wake) -> Option<TimerKey> {
    hot.wake.set(wake);
    hot.seq.set(hot.seq.get().wrapping_add(1));
    hot.timer.take()
}

/// Whether two reasons are the same wait, by identity: a name's pointer and
/// length, not its text (a text compare would cost more than the copy it
/// saves). Never for a join: its task differs each time, and the compare
/// would only add to the copy.
#[inline(always)]
fn same_reason(a: Reason, b: Reason) -> bool {
    match (a, b) {
        (Reason::Sleep, Reason::Sleep)
        | (Reason::Readable, Reason::Readable)
        | (Reason::Writable, Reason::Writable) => true,
        (Reason::Bridge(x), Reason::Bridge(y)) | (Reason::Primitive(x), Reason::Primitive(y)) => {
            std::ptr::eq(x, y)
        }
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_park_for_another_reason_is_not_taken_for_the_same() {
        let a = TaskId::from_parts(1, 1);
        let b = TaskId::from_parts(1, 2);
        let lock = Reason::Primitive("Lock");
        assert!(same_reason(lock, lock));
        assert!(same_reason(Reason::Readable, Reason::Readable));
        assert!(!same_reason(Reason::Readable, Reason::Writable));
        assert!(!same_reason(Reason::Join(a), Reason::Join(b)));
        assert!(
            !same_reason(Reason::Join(a), Reason::Join(a)),
            "a join is always written"
        );
        assert!(!same_reason(lock, Reason::Primitive("Queue::get")));
        assert!(!same_reason(lock, Reason::Bridge("Lock")));
        // The same text at another address is another name: the reason is
        // written again, which is all a miss costs.
        let other = String::from("Lock").leak();
        assert!(!same_reason(lock, Reason::Primitive(other)));
    }
}

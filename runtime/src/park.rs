//! Park and unpark: the primitive every blocking green operation is built on.
//!
//! A green thread that must wait takes an [`Unparker`] for itself, leaves it
//! where its waker will find it (a wait list, a socket's waiter slot, a join
//! slot), and parks with a [`Reason`]. Whoever makes progress possible calls
//! [`Unparker::unpark`], which moves the task to the tail of the ready queue
//! ([rule 4](crate#scheduling-rules): waking never preempts). Each park has its own sequence number, so
//! an `Unparker` left behind by an earlier park (after a timeout, say) is
//! stale: `unpark` on it returns `false` and wakes nothing. That is what makes
//! a timeout racing a notify resolve exactly once.

use std::fmt;
use std::time::Instant;

use crate::context;
use crate::scheduler::Core;
use crate::task::TaskId;

/// What a parked green thread waits on: shown in traces and deadlock reports,
/// and used to tell waits that only other tasks can end from waits that the
/// outside world (a socket, an OS thread) can end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// `sleep`/`sleep_until`, or a bare timed park.
    Sleep,
    /// `JoinHandle::join` on the given task.
    Join(TaskId),
    /// Waiting for a socket or other I/O source to become readable.
    Readable,
    /// Waiting for a socket or other I/O source to become writable.
    Writable,
    /// Waiting on a bridge source fed by OS threads (named, e.g. `"PollableQueue"`).
    Bridge(&'static str),
    /// Waiting on an in-runtime primitive (named, e.g. `"Lock"`, `"Queue::get"`).
    Primitive(&'static str),
}

impl Reason {
    /// True when something outside the runtime's tasks can end this wait, so
    /// a task parked this way is never counted as deadlocked.
    #[inline]
    pub fn is_external(self) -> bool {
        matches!(
            self,
            Reason::Readable | Reason::Writable | Reason::Bridge(_)
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Sleep => f.write_str("sleep"),
            Reason::Join(id) => write!(f, "join of task {id}"),
            Reason::Readable => f.write_str("I/O readiness (read)"),
            Reason::Writable => f.write_str("I/O readiness (write)"),
            Reason::Bridge(what) => write!(f, "bridge {what}"),
            Reason::Primitive(what) => f.write_str(what),
        }
    }
}

/// How a park ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wake {
    /// [`Unparker::unpark`] was called for this park.
    Unparked,
    /// The deadline passed first.
    TimedOut,
    /// [`JoinHandle::interrupt`](crate::JoinHandle::interrupt) ended it (or
    /// an interrupt was pending, and the park did not happen).
    Interrupted,
}

/// Wakes one particular park of one green thread.
///
/// `Copy` and tiny, so wait lists store it by value. It is `!Send`: it only
/// means something on the runtime thread that created it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unparker {
    task: TaskId,
    seq: u32,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Unparker {
    pub(crate) fn new(task: TaskId, seq: u32) -> Self {
        Unparker {
            task,
            seq,
            _not_send: std::marker::PhantomData,
        }
    }

    pub(crate) fn seq(self) -> u32 {
        self.seq
    }

    /// The unparker for the next park of the calling green thread.
    ///
    /// # Panics
    ///
    /// Panics when called outside a green thread.
    #[inline]
    pub fn current() -> Unparker {
        context::with_core("Unparker::current", |core| core.current_unparker())
    }

    /// The task this unparker wakes.
    pub fn task(self) -> TaskId {
        self.task
    }

    /// Wakes the park this unparker was made for, if that task is still
    /// parked in it. Returns whether it woke the task; `false` means the park
    /// already ended (unparked, timed out or cancelled) or the task is gone.
    ///
    /// The woken task goes to the tail of the ready queue; the caller keeps
    /// running. Outside the runtime thread's loop it does nothing.
    #[inline]
    pub fn unpark(self) -> bool {
        context::try_with_core(|core| core.unpark(self, Wake::Unparked)).unwrap_or(false)
    }

    /// True while the park this unparker was made for has not ended.
    pub fn is_parked(self) -> bool {
        context::try_with_core(|core| core.is_parked(self)).unwrap_or(false)
    }
}

/// Parks the calling green thread until its [`Unparker`] is used.
///
/// Take `Unparker::current()` first and store it where the waker will look.
/// If the task is cancelled while parked, this unwinds (destructors run) and
/// the task's `join` reports `JoinError::Cancelled`. It also returns early,
/// without a wake, when the task is interrupted
/// ([`JoinHandle::interrupt`](crate::JoinHandle::interrupt)); use
/// [`park_until`], which says how the park ended, to tell.
///
/// # Panics
///
/// Panics when called outside a green thread.
#[inline]
pub fn park(reason: Reason) {
    park_timed(reason, None);
}

/// Parks like [`park`] but gives up at `deadline`.
///
/// # Panics
///
/// Panics when called outside a green thread.
#[inline]
pub fn park_until(reason: Reason, deadline: Instant) -> Wake {
    park_timed(reason, Some(deadline))
}

/// Parks like [`park_until`] when `deadline` is set, like [`park`] when it
/// is not: the form the crate's own timed waits share.
///
/// Inlined, with the switch, into the wait that calls it: a task resumes
/// where it parked, and each frame between that and the call it made
/// costs a mispredicted return there, and another at its next switch (the
/// return stack is off by one from then).
#[inline(always)]
pub(crate) fn park_timed(reason: Reason, deadline: Option<Instant>) -> Wake {
    // SAFETY: used for this park only, not kept.
    let core = unsafe { context::current_core("park") };
    park_in(core, reason, deadline)
}

/// [`park_timed`] for a caller that has the core at hand already. One look
/// at the thread-local serves both halves: the core outlives the switch (it
/// runs the loop that resumes this task).
#[inline(always)]
pub(crate) fn park_in(core: &Core, reason: Reason, deadline: Option<Instant>) -> Wake {
    let parking = match core.before_park(reason, deadline) {
        Ok(parking) => parking,
        Err(wake) => return wake,
    };
    parking.suspend();
    core.after_park(parking)
}

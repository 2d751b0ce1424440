//! One green thread's record in the task table, and where it is in its life.

use std::cell::Cell;

use crate::context::TaskYielder;
use crate::fiber::{Cold, Fiber};
use crate::park::{Reason, Wake};
use crate::task::TaskId;
use crate::time::TimerKey;

/// Where a task is in its life. One byte: what a parked task waits on is
/// [`Hot::reason`], written only by a park, so a park's state change is one
/// store and a wake's test one load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// In the ready queue: spawned, or woken from a park.
    Ready,
    /// Resumed right now or, for any task but the current one, back in the
    /// ready queue after a `yield_now` (the loop does not look the task up
    /// again just to say so; dumps tell the two apart by the current task).
    Running,
    /// Suspended until an `Unparker` for its current `seq` (or its timer)
    /// fires, waiting on [`Hot::reason`].
    Parked,
}

/// What every park, wake and resume of a task reads or writes.
///
/// It lies in the task's head, at the top of its own stack, next to its
/// coroutine (see `fiber.rs`), so it never moves while the task lives: the
/// running task reaches it through `Core::current_hot` with no table
/// lookup, borrow flag or bounds check, and a wake reaches it through the
/// slab record, whose line a resume touches anyway. All fields are
/// `Cell`s, so the task's and the loop's shared references may coexist
/// (one thread).
#[repr(C)]
pub(crate) struct Hot {
    pub(super) state: Cell<State>,
    /// What the task waits on while `Parked` (what it last waited on
    /// otherwise).
    pub(super) reason: Cell<Reason>,
    /// The task's id, so the running task knows it without `Core` keeping
    /// a copy per resume.
    pub(super) id: TaskId,
    /// The coroutine's yielder, which suspends the task: installed by the
    /// task's body when it starts (null before), valid until it returns.
    /// Reached through the running task's hot fields, it needs no
    /// thread-local of its own set and cleared around every switch.
    pub(super) yielder: Cell<*const TaskYielder>,
    /// The deadline timer of the current park, removed when the park ends.
    pub(super) timer: Cell<Option<TimerKey>>,
    /// When its current park began, for dumps: the loop's turn time, in
    /// nanoseconds since the core was made.
    pub(super) parked_at: Cell<u64>,
    /// About where its stack pointer was when it last parked (see
    /// [`TaskEntry::park_sp`]).
    pub(super) park_sp: Cell<usize>,
    /// Park sequence: `Unparker`s minted for an earlier park are stale.
    pub(super) seq: Cell<u32>,
    /// How the last park ended, read by the task when it resumes.
    pub(super) wake: Cell<Wake>,
    /// Set by `JoinHandle::cancel` and at shutdown: unwind at every suspension point.
    pub(super) cancelled: Cell<bool>,
    /// `JoinHandle::interrupt` came while it was not parked: its next
    /// interruptible park returns `Wake::Interrupted` at once.
    pub(super) interrupt_pending: Cell<bool>,
    /// Whether the current park's timer is the scope's deadline (so a
    /// timeout of the park is the scope elapsing).
    pub(super) scope_armed: Cell<bool>,
    /// Whether the task's span is enabled (a subscriber wants its events;
    /// see [`TaskEntry::span`]): fixed at spawn, read on every resume.
    pub(super) traced: bool,
    /// Set once a cancellation unwind was thrown in this task. Together with
    /// `std::thread::panicking()` it tells "a destructor of this task parks
    /// while the task unwinds" (do not throw again: that would abort) from
    /// "the task caught the unwind and parks again" (throw again: sticky).
    /// `panicking()` alone is per OS thread, so one task's unwinding would
    /// hide every other task's cancellation.
    pub(super) unwinding: Cell<bool>,
    /// The innermost `weft::timeout` scope's deadline and id (an outer one
    /// that ends sooner takes its place).
    pub(super) scope: Cell<Option<(std::time::Instant, u64)>>,
}

impl Hot {
    /// Task `id`'s, new: ready, never parked, spawned at `now_ns`.
    pub(super) fn new(id: TaskId, traced: bool, now_ns: u64) -> Hot {
        Hot {
            state: Cell::new(State::Ready),
            reason: Cell::new(Reason::Sleep),
            id,
            yielder: Cell::new(std::ptr::null()),
            timer: Cell::new(None),
            parked_at: Cell::new(now_ns),
            park_sp: Cell::new(0),
            seq: Cell::new(0),
            wake: Cell::new(Wake::Unparked),
            cancelled: Cell::new(false),
            interrupt_pending: Cell::new(false),
            scope_armed: Cell::new(false),
            unwinding: Cell::new(false),
            traced,
            scope: Cell::new(None),
        }
    }

    /// Whether the task is `Running`: after it suspended, that it yielded
    /// (a park says `Parked`).
    #[inline(always)]
    pub(super) fn is_running(&self) -> bool {
        matches!(self.state.get(), State::Running)
    }

    /// Suspends the task these are the hot fields of back to the loop.
    /// Only the running task calls it, on its own hot fields (reached
    /// through `Core::current_hot`), after its body started.
    #[inline(always)]
    pub(super) fn suspend(&self) {
        let yielder = self.yielder.get();
        debug_assert!(
            !yielder.is_null(),
            "a task suspends before its body started"
        );
        // SAFETY: the running task's body installed its coroutine's yielder
        // before running any of the task's code (`Core::start_current`).
        // The yielder lives in that body's frame on the coroutine's own
        // stack until the body returns, and this runs on that coroutine
        // (only the running task reaches its own hot fields), inside the
        // body, so the frame is live.
        unsafe { (*yielder).suspend(()) };
    }
}

/// One green thread's record in the slab: how to reach its head (the
/// coroutine, the [`Hot`] fields and the cold ones), and what only the
/// loop reads.
pub(super) struct TaskEntry {
    /// The coroutine, at a fixed address so it is resumed in place, with
    /// the hot and the cold fields.
    pub(super) fiber: Fiber,
    /// Where the task's stack pointer was at the park before the one a wake
    /// ends (copied from [`Hot::park_sp`] at each wake): the hot end of its
    /// stack, which the dispatch prefetches before waking it (see
    /// `prefetch.rs`) without first reading its head, which may not be
    /// cached either. A task parks at the same depth round after round in
    /// the loops this helps; 0 before its first wake.
    pub(super) park_sp: usize,
    /// Entered on every resume, so the task's events carry its id and name;
    /// `None` when no subscriber wants it (then a resume skips it).
    pub(super) span: Option<Box<tracing::Span>>,
    /// The spawn number; together with the slab index it is the `TaskId`.
    pub(super) serial: u32,
    /// Daemons do not keep `run` going.
    pub(super) daemon: bool,
}

// Four records to two cache lines: the slab of a thousand tasks fits in L1.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
const _: () = assert!(std::mem::size_of::<TaskEntry>() == 32);

impl TaskEntry {
    /// The fields every park, wake and resume uses.
    #[inline(always)]
    pub(super) fn hot(&self) -> &Hot {
        self.fiber.hot()
    }

    /// The fields no park, wake or resume uses.
    #[inline]
    pub(super) fn cold(&self) -> &Cold {
        self.fiber.cold()
    }

    /// The fields no park, wake or resume uses, to change them.
    #[inline]
    pub(super) fn cold_mut(&mut self) -> &mut Cold {
        self.fiber.cold_mut()
    }
}

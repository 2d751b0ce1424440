//! One green thread's record in the task table, and where it is in its life.

use crate::fiber::{Cold, Fiber};
use crate::park::{Reason, Wake};
use crate::time::TimerKey;

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// In the ready queue: spawned, or woken from a park.
    Ready,
    /// Resumed right now or, for any task but the current one, back in the
    /// ready queue after a `yield_now` (the loop does not look the task up
    /// again just to say so; dumps tell the two apart by the current task).
    Running,
    /// Suspended until an `Unparker` for its current `seq` (or its timer) fires.
    Parked(Reason),
}

/// One green thread's record in the slab.
///
/// `repr(C)`, hot fields first: what every park, wake and resume reads or
/// writes fits in the first 112 bytes (two or three cache lines, as the
/// record's place in the slab falls), where the compiler's own order spread
/// it over every line of the record. With a thousand connections the
/// records do not all stay in cache, and each line is a miss per round trip.
///
/// The cold fields (name, spawn site, task-locals, join slot, lock wait,
/// stack size) are not here: they sit with the coroutine at the top of the
/// task's stack (see `fiber.rs`), reached through [`TaskEntry::cold`].
#[repr(C)]
pub(super) struct TaskEntry {
    // ---- hot: parks, wakes, resumes -------------------------------------
    pub(super) state: State,
    /// The deadline timer of the current park, removed when the park ends.
    pub(super) timer: Option<TimerKey>,
    /// When its current park began, for dumps: the loop's turn time, in
    /// nanoseconds since the core was made (8 bytes, where an `Instant`
    /// takes 16: they pay for `park_sp`).
    pub(super) parked_at: u64,
    /// About where its stack pointer was when it last parked: the hot end
    /// of its stack, which the dispatch prefetches before waking it (see
    /// `prefetch.rs`); 0 before its first park.
    pub(super) park_sp: usize,
    /// The innermost `weft::timeout` scope's deadline and id (an outer one
    /// that ends sooner takes its place).
    pub(super) scope: Option<(std::time::Instant, u64)>,
    /// The coroutine, at a fixed address so it is resumed in place, and the
    /// cold fields.
    pub(super) fiber: Fiber,
    /// The spawn number; together with the slab index it is the `TaskId`.
    pub(super) serial: u32,
    /// Park sequence: `Unparker`s minted for an earlier park are stale.
    pub(super) seq: u32,
    /// How the last park ended, read by the task when it resumes.
    pub(super) wake: Wake,
    /// Set by `JoinHandle::cancel` and at shutdown: unwind at every suspension point.
    pub(super) cancelled: bool,
    /// `JoinHandle::interrupt` came while it was not parked: its next
    /// interruptible park returns `Wake::Interrupted` at once.
    pub(super) interrupt_pending: bool,
    /// Whether the current park's timer is the scope's deadline (so a
    /// timeout of the park is the scope elapsing).
    pub(super) scope_armed: bool,
    /// Set once a cancellation unwind was thrown in this task. Together with
    /// `std::thread::panicking()` it tells "a destructor of this task parks
    /// while the task unwinds" (do not throw again: that would abort) from
    /// "the task caught the unwind and parks again" (throw again: sticky).
    /// `panicking()` alone is per OS thread, so one task's unwinding would
    /// hide every other task's cancellation.
    pub(super) unwinding: bool,
    /// Daemons do not keep `run` going.
    pub(super) daemon: bool,
    /// Entered on every resume, so the task's events carry its id and name;
    /// `None` when no subscriber wants it (then a resume skips it, and the
    /// record is 32 bytes smaller than with a disabled span in place).
    pub(super) span: Option<Box<tracing::Span>>,
}

// The hot fields' two or three lines (see above).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
const _: () = assert!(std::mem::size_of::<TaskEntry>() == 112);

impl TaskEntry {
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

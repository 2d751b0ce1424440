//! A task's coroutine in a heap slot that stays put while it runs.
//!
//! The task slab may grow (and move its records) while a task runs, for
//! instance when that task spawns. Keeping the coroutine behind a pointer of
//! its own lets the loop resume it in place instead of moving it out of the
//! record and back on every switch; the boxes are pooled like the stacks, so
//! spawning reuses them and switching never allocates.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use corosensei::{Coroutine, CoroutineResult};

use crate::stack::Stack;

/// The coroutine type every task runs: no input, no yielded value, no result
/// (the task body publishes its result through the join slot).
pub(crate) type Coro = Coroutine<(), (), (), Stack>;

/// An owned coroutine at a fixed heap address.
///
/// Only the scheduler touches it: `run_task` resumes it, `finish` recycles
/// it, and dropping it (a task abandoned at shutdown) drops the coroutine,
/// which force-unwinds it.
pub(crate) struct Fiber(NonNull<Coro>);

impl Fiber {
    /// Resumes the coroutine until it suspends or returns.
    ///
    /// # Safety
    ///
    /// No other reference to this fiber's coroutine may be live during the
    /// call. The scheduler guarantees it: a fiber is reachable only through
    /// its task record, and only the loop (never a task) resumes, recycles or
    /// drops fibers, one at a time.
    #[inline]
    pub(crate) unsafe fn resume(ptr: NonNull<Coro>) -> CoroutineResult<(), ()> {
        // SAFETY: the pointer came from a live `Fiber` (the caller's record
        // holds it) and, per this function's contract, nothing else borrows
        // the coroutine while it runs.
        unsafe { (*ptr.as_ptr()).resume(()) }
    }

    /// The coroutine's address, to resume without holding the task record.
    #[inline]
    pub(crate) fn as_ptr(&self) -> NonNull<Coro> {
        self.0
    }
}

impl Drop for Fiber {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `Box::into_raw` of an initialised
        // `MaybeUninit<Coro>` in `FiberPool::make` and is owned by this fiber
        // alone; `MaybeUninit<Coro>` has the layout of `Coro`.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// Spare coroutine boxes, reused by later spawns.
#[derive(Default)]
pub(crate) struct FiberPool {
    /// Boxed on purpose: a fiber's address must not move while it runs.
    #[allow(clippy::vec_box)]
    free: Vec<Box<MaybeUninit<Coro>>>,
}

impl FiberPool {
    /// Puts `co` into a pooled (or new) box.
    #[inline]
    pub(crate) fn make(&mut self, co: Coro) -> Fiber {
        let mut slot = self
            .free
            .pop()
            .unwrap_or_else(|| Box::new(MaybeUninit::uninit()));
        slot.write(co);
        Fiber(NonNull::from(Box::leak(slot)).cast())
    }

    /// Moves the coroutine out of a finished fiber and keeps its box.
    #[inline]
    pub(crate) fn recycle(&mut self, fiber: Fiber) -> Coro {
        let ptr = fiber.0.cast::<MaybeUninit<Coro>>();
        std::mem::forget(fiber);
        // SAFETY: the fiber owned this box (made by `make` from
        // `Box<MaybeUninit<Coro>>`) and was forgotten above, so ownership
        // moves here exactly once.
        let slot = unsafe { Box::from_raw(ptr.as_ptr()) };
        // SAFETY: the box holds the coroutine written by `make`; reading it
        // out leaves the box logically uninitialised, which is how the pool
        // keeps it.
        let co = unsafe { slot.assume_init_read() };
        if self.free.len() < 4096 {
            self.free.push(slot);
        }
        co
    }
}

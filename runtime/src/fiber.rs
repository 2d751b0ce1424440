//! A task's coroutine, its hot and its cold fields, kept at the top of its
//! own stack.
//!
//! The task slab may grow (and move its records) while a task runs, for
//! instance when that task spawns, so the coroutine needs an address of its
//! own to be resumed in place instead of moved out of the record and back
//! on every switch. That address is the top of the task's stack: the stack
//! leaves [`HEAD_SPACE`] bytes there unused (see `stack.rs`), in the page
//! the task's first frames make resident anyway, so the coroutine costs no
//! heap block and no memory of its own. The task's hot fields (what every
//! park, wake and resume reads or writes: `scheduler::Hot`) live there too,
//! in the lines next to the coroutine's, which a resume touches anyway; and
//! so do its cold fields (what spawn, exit, dumps and task-locals use,
//! never a park or a resume). That leaves the record in the slab 32 bytes.

use std::mem::{align_of, size_of, ManuallyDrop};
use std::panic::Location;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::sync::Arc;

use corosensei::stack::STACK_ALIGNMENT;
use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::local::Locals;
use crate::lock_cycle::LockIdent;
use crate::scheduler::Hot;
use crate::stack::Stack;
use crate::task::Outcome;
use crate::watch::LabelSlot;

/// The coroutine type every task runs: no input, no yielded value, no result
/// (the task body publishes its result through the join slot).
pub(crate) type Coro = Coroutine<(), (), (), Stack>;

/// What a task keeps at the top of its stack: `repr(C)`, the hot fields
/// and the coroutine first, in the head's first lines.
#[repr(C)]
struct Head {
    /// The task's hot fields.
    hot: Hot,
    /// The coroutine; it owns the stack this head lies in.
    co: Coro,
    /// The task's cold fields. After `co`: a head dropped whole (`Fiber`'s
    /// `Drop`) drops the coroutine first, and the task's body borrows the
    /// join slot these fields own (see `task::body`).
    cold: Cold,
}

/// The bytes every stack keeps for its head: the head, rounded up to whole
/// cache lines, so the head starts on a line (the top of the mapping is a
/// page boundary) and the coroutine's stack below it stays aligned.
pub(crate) const HEAD_SPACE: usize = size_of::<Head>().next_multiple_of(CACHE_LINE);

/// A cache line's bytes (a multiple of `STACK_ALIGNMENT`).
const CACHE_LINE: usize = 64;
const _: () = assert!(CACHE_LINE % STACK_ALIGNMENT == 0);

// `cold_of` finds the head from its hot fields.
const _: () = assert!(std::mem::offset_of!(Head, hot) == 0);

// `into_stack` takes a head apart without dropping its hot fields.
const _: () = assert!(!std::mem::needs_drop::<Hot>());

// The head space starts at the top of the mapping minus `HEAD_SPACE`, which
// is aligned to `STACK_ALIGNMENT`: enough for the head.
const _: () = assert!(align_of::<Head>() <= STACK_ALIGNMENT);

/// The fields of a task's record that spawn, exit, dumps, task-locals and
/// lock reports use; no park, wake or resume reads them.
pub(crate) struct Cold {
    /// Its join slot, for ending it from the loop when its body cannot
    /// (a stack overflow); `None` for a detached task. The task's own
    /// reference: its body borrows it, so it is dropped only after the
    /// coroutine (`finish`: after it returned; `Fiber`'s `Drop`: after it
    /// was unwound).
    pub(crate) outcome: Option<Rc<dyn Outcome>>,
    pub(crate) name: Option<Arc<str>>,
    /// Where it was spawned.
    pub(crate) site: &'static Location<'static>,
    /// Task-local values (see `local.rs`).
    pub(crate) locals: Locals,
    /// The owned lock it is parked on, for deadlock cycles and reports.
    pub(crate) lock_wait: Option<Rc<LockIdent>>,
    /// The size class its stack goes back to in the pool.
    pub(crate) stack_size: usize,
    /// Where its label for the watchdog lies, so its exit clears it without
    /// finding it again.
    pub(crate) label: LabelSlot,
}

impl Cold {
    /// Drops the cold fields at `this` in the caller's frame for a task
    /// that ended as most do (no name, no task-locals left, no lock wait:
    /// only its join slot to let go of), and out of line otherwise.
    /// `drop_in_place` of the whole would be a call of its own, most of it
    /// saving and restoring registers around four tests.
    ///
    /// # Safety
    ///
    /// As for `ptr::drop_in_place`: `this` is valid, and the fields are not
    /// used after.
    #[inline(always)]
    unsafe fn drop_in_place(this: *mut Cold) {
        // SAFETY: per this function's contract; each field is dropped once.
        unsafe {
            ptr::drop_in_place(ptr::addr_of_mut!((*this).outcome));
            if (*this).name.is_some()
                || (*this).locals.capacity() != 0
                || (*this).lock_wait.is_some()
            {
                Cold::drop_rest(this);
            }
        }
    }

    /// The rest of `drop_in_place`.
    ///
    /// # Safety
    ///
    /// As for `drop_in_place`, for all fields but `outcome`.
    #[cold]
    #[inline(never)]
    unsafe fn drop_rest(this: *mut Cold) {
        // SAFETY: per this function's contract; each field is dropped once.
        unsafe {
            ptr::drop_in_place(ptr::addr_of_mut!((*this).name));
            ptr::drop_in_place(ptr::addr_of_mut!((*this).locals));
            ptr::drop_in_place(ptr::addr_of_mut!((*this).lock_wait));
        }
    }
}

/// A task's head, owned: the coroutine, the hot and the cold fields, at a
/// fixed address at the top of the coroutine's own stack.
///
/// Only the scheduler touches it: `resume_task` resumes the coroutine,
/// `finish` takes it apart, and dropping it (a task abandoned at shutdown)
/// drops the coroutine, which force-unwinds it.
pub(crate) struct Fiber(NonNull<Head>);

impl Fiber {
    /// A coroutine running `body` on `stack`, put with `hot` and `cold`
    /// into the head space of that stack.
    #[inline]
    pub(crate) fn new<F>(stack: Stack, body: F, hot: Hot, cold: Cold) -> Fiber
    where
        F: FnOnce(&Yielder<(), ()>, ()) + 'static,
    {
        let head = stack.head().cast::<Head>();
        let co = Coroutine::with_stack(stack, body);
        // SAFETY: the head space is `HEAD_SPACE >= size_of::<Head>()` bytes,
        // aligned for `Head` (see `HEAD_SPACE`), inside the mapping `co` now
        // owns, and above the base the coroutine runs below, so nothing else
        // uses it; a head left there by the stack's previous task was moved
        // out when that task ended, so overwriting it drops nothing.
        unsafe { head.as_ptr().write(Head { hot, co, cold }) };
        Fiber(head)
    }

    /// Resumes the coroutine until it suspends or returns.
    ///
    /// # Safety
    ///
    /// `ptr` is the coroutine of a live fiber, and no other reference to it
    /// may be live during the call. The scheduler guarantees it: a fiber is
    /// reachable only through its task record and, while the task is
    /// queued, the ready queue's `Queued` handle, and only the loop (never
    /// a task) resumes, takes apart or drops fibers, one at a time. The task
    /// may use the hot and cold fields meanwhile: they are separate fields
    /// of the head.
    #[inline]
    pub(crate) unsafe fn resume(ptr: NonNull<Coro>) -> CoroutineResult<(), ()> {
        // SAFETY: per this function's contract, the coroutine is live and
        // nothing else borrows it while it runs.
        unsafe { (*ptr.as_ptr()).resume(()) }
    }

    /// The task's hot fields, at an address that stays put while the task
    /// lives (the running task's is reached through it without a lookup).
    #[inline(always)]
    pub(crate) fn hot_ptr(&self) -> NonNull<Hot> {
        // SAFETY: `self.0` points to the live head this fiber owns; taking a
        // field's address creates no reference.
        unsafe { NonNull::new_unchecked(ptr::addr_of_mut!((*self.0.as_ptr()).hot)) }
    }

    /// A handle on this task's head for the ready queue.
    #[inline(always)]
    pub(crate) fn queued(&self) -> Queued {
        Queued(self.0)
    }

    /// The task's hot fields.
    #[inline(always)]
    pub(crate) fn hot(&self) -> &Hot {
        // SAFETY: the head is live while this fiber is. The hot fields are
        // all `Cell`s, reached only through shared references (this one and
        // the running task's, see `Core::current_hot`), never `&mut`.
        unsafe { self.hot_ptr().as_ref() }
    }

    /// The cold fields of the task whose hot fields lie at `hot`, without
    /// its record: they share its head.
    ///
    /// # Safety
    ///
    /// `hot` must be the `Fiber::hot_ptr` of a live fiber, and no other
    /// reference to that fiber's cold fields may be live while the result
    /// is used. The scheduler meets it for the running task: only that task
    /// reaches its own cold fields while it runs (the loop takes them apart
    /// only after it ended), each time for the span of one call.
    #[inline(always)]
    pub(crate) unsafe fn cold_of(hot: NonNull<Hot>) -> NonNull<Cold> {
        // SAFETY: `hot` is the first field of a live `Head` (`repr(C)`), so
        // the head starts where it does and its `cold` field lies inside
        // the same allocation; taking a field's address creates no
        // reference.
        unsafe {
            let head = hot.cast::<Head>().as_ptr();
            NonNull::new_unchecked(ptr::addr_of_mut!((*head).cold))
        }
    }

    /// The task's cold fields.
    #[inline]
    pub(crate) fn cold(&self) -> &Cold {
        // SAFETY: the head is live while this fiber is, and its `cold` field
        // is only reached through the fiber: borrowing the fiber borrows it.
        // A resume in progress borrows the `co` field alone.
        unsafe { &*ptr::addr_of!((*self.0.as_ptr()).cold) }
    }

    /// The task's cold fields, to change them.
    #[inline]
    pub(crate) fn cold_mut(&mut self) -> &mut Cold {
        // SAFETY: as in `cold`; `&mut self` makes the borrow exclusive.
        unsafe { &mut *ptr::addr_of_mut!((*self.0.as_ptr()).cold) }
    }

    /// Moves the coroutine (and with it the stack) and the cold fields out
    /// of a finished task's head.
    #[inline]
    pub(crate) fn into_parts(self) -> (Coro, Cold) {
        let this = ManuallyDrop::new(self);
        // SAFETY: the head is live and owned by this fiber alone, which is
        // forgotten, so it is moved out exactly once; the memory it lies in
        // stays mapped until the stack moved out with it is dropped.
        let Head { co, cold, .. } = unsafe { this.0.as_ptr().read() };
        (co, cold)
    }

    /// Takes a finished task's head apart where it lies: drops the cold
    /// fields in place and moves the coroutine's stack out, with its size
    /// class. (`into_parts` would copy the head out first, and the cold
    /// fields again into their drop.)
    #[inline]
    pub(crate) fn into_stack(self) -> (Stack, usize) {
        let this = ManuallyDrop::new(self);
        let head = this.0.as_ptr();
        // SAFETY: the head is live and owned by this fiber alone, which is
        // forgotten, so each field is dropped or moved out exactly once. The
        // cold fields are dropped while the mapping they lie in is still
        // owned by the coroutine, which is moved out only after; its stack
        // stays mapped until the caller drops or pools it.
        unsafe {
            let size = (*head).cold.stack_size;
            Cold::drop_in_place(ptr::addr_of_mut!((*head).cold));
            (ptr::addr_of!((*head).co).read().into_stack(), size)
        }
    }
}

/// A live task's head, not owned: what the ready queue holds, so the loop
/// resumes a queued task (its hot fields, its coroutine, its id in them)
/// with no table lookup.
///
/// Nothing here checks that the task is still alive: the scheduler keeps
/// that true for every handle in its ready queue (see `ReadyQueue`), and
/// the accessors that read through the handle are `unsafe` for that reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Queued(NonNull<Head>);

impl Queued {
    /// What the ready ring's empty slots hold; never resumed.
    pub(crate) const EMPTY: Queued = Queued(NonNull::dangling());

    /// The task's hot fields.
    ///
    /// # Safety
    ///
    /// The task must be alive: its `Fiber` neither taken apart nor dropped,
    /// for as long as the reference is used.
    #[inline(always)]
    pub(crate) unsafe fn hot<'a>(self) -> &'a Hot {
        // SAFETY: the caller vouches that the head is live; the hot fields
        // are `Cell`s, only ever shared (see `Fiber::hot`).
        unsafe { &*ptr::addr_of!((*self.0.as_ptr()).hot) }
    }

    /// Asks for the cache lines a resume of this task reads first: its hot
    /// fields and coroutine (the head's first three lines) and corosensei's
    /// link to the loop, just below the head. A hint only (see
    /// `prefetch.rs`): sound whatever became of the task.
    #[inline(always)]
    pub(crate) fn prefetch(self) {
        crate::prefetch::lines::<4>(self.0.as_ptr().addr().wrapping_sub(64));
    }

    /// The address of the task's coroutine, for `Fiber::resume`.
    ///
    /// # Safety
    ///
    /// As for [`hot`](Self::hot).
    #[inline(always)]
    pub(crate) unsafe fn coroutine(self) -> NonNull<Coro> {
        // SAFETY: the caller vouches that the head is live, so the field's
        // address is inside it and not null.
        unsafe { NonNull::new_unchecked(ptr::addr_of_mut!((*self.0.as_ptr()).co)) }
    }
}

impl Drop for Fiber {
    fn drop(&mut self) {
        // SAFETY: as in `into_parts`: the head is moved out once, here. The
        // coroutine is dropped (force-unwinding the task) after the move, on
        // its own stack below the head space.
        drop(unsafe { self.0.as_ptr().read() });
    }
}

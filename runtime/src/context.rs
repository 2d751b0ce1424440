//! The thread-local context: which runtime core is running on this OS thread.
//!
//! The pointer is set only for the extent of `enter` and cleared on the way
//! out, so no `'static` reference to the core ever escapes. The running
//! green thread, and the yielder that suspends it, the core knows itself
//! (`Core::current_hot`): set for each resume, cleared when it comes back.

use std::cell::Cell;
use std::ptr;

use corosensei::Yielder;

use crate::scheduler::Core;

pub(crate) type TaskYielder = Yielder<(), ()>;

thread_local! {
    /// The core whose loop is running on this thread, or null.
    static CORE: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

/// Runs `f` with `core` installed as this thread's running core.
///
/// # Panics
///
/// Panics if a core is already installed: runtimes do not nest.
pub(crate) fn enter<R>(core: &Core, f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CORE.with(|c| c.set(ptr::null()));
        }
    }
    CORE.with(|c| {
        assert!(
            c.get().is_null(),
            "a weft runtime is already running on this thread; runtimes cannot be nested \
             (spawn a green thread instead of calling run/block_on from inside one)"
        );
        c.set(core);
    });
    let _reset = Reset;
    f()
}

/// Calls `f` with the running core, or returns `None` outside a runtime.
#[inline]
pub(crate) fn try_with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let p = CORE.with(Cell::get);
    if p.is_null() {
        None
    } else {
        // SAFETY: `CORE` is non-null only inside `enter`, which borrows the
        // core for its whole extent and clears the pointer before returning.
        Some(f(unsafe { &*p }))
    }
}

/// The running core, as [`with_core`] lends it, without the closure. For
/// the waits whose park must sit in the frame of the green API the task
/// called: a closure can be left out of line as a frame of its own, and a
/// task resuming into such a frame pays a mispredicted return for it, and
/// another at its next switch (the return stack is off by one from then).
///
/// # Panics
///
/// Panics with a message naming `api` when no runtime runs on this thread.
///
/// # Safety
///
/// The reference is used only within the caller's call, as a `with_core`
/// closure's would be, and never kept: the core is installed for the
/// extent of `enter` only.
#[inline(always)]
pub(crate) unsafe fn current_core<'a>(api: &'static str) -> &'a Core {
    let p = CORE.with(Cell::get);
    if p.is_null() {
        outside_runtime(api);
    }
    // SAFETY: non-null only inside `enter`, which borrows the core for its
    // whole extent; the caller does not keep the reference past its call,
    // which runs inside that extent.
    unsafe { &*p }
}

/// Calls `f` with the running core.
///
/// # Panics
///
/// Panics with a message naming `api` when no runtime runs on this thread.
#[inline]
pub(crate) fn with_core<R>(api: &'static str, f: impl FnOnce(&Core) -> R) -> R {
    // SAFETY: the reference is lent to `f` for this call only.
    f(unsafe { current_core(api) })
}

#[cold]
#[inline(never)]
pub(crate) fn outside_runtime(api: &str) -> ! {
    panic!(
        "weft: `{api}` was called outside a green thread. Green blocking APIs only work \
         inside a task run by a weft Runtime (Runtime::run / Runtime::block_on); \
         from an OS thread, use the bridge (PollableQueue, Handle) instead"
    )
}

/// True when called from inside a green thread: a core runs on this thread
/// and is resuming one of its tasks.
#[inline]
pub(crate) fn in_green_thread() -> bool {
    try_with_core(Core::in_task).unwrap_or(false)
}

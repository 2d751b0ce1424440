//! Stack overflow in a green thread fails that task, not the process.
//!
//! Every task stack is a corosensei `DefaultStack`: one `PROT_NONE` guard
//! page below the usable range. A task that recurses too deep touches it and
//! the kernel raises `SIGSEGV` (or `SIGBUS`). The handler installed here runs
//! on an alternate signal stack (the faulting stack is full), and checks two
//! things: the fault address lies in the guard page of the coroutine being
//! resumed on this thread right now, and the interrupted stack pointer lies
//! inside that coroutine's stack. Only then does it use corosensei's
//! [`CoroutineTrapHandler::setup_trap_handler`](corosensei::trap::CoroutineTrapHandler)
//! to rewrite the interrupted registers, so that when the handler returns the
//! coroutine runs an empty function on its reset stack and returns to the
//! loop as if its body had ended. The loop sees that return, finds the trap
//! recorded by [`take_overflow`], and fails the task with
//! `JoinError::StackOverflow` (see `Core::finish_overflowed`).
//!
//! Any other fault (a null dereference, an overflow of the loop's own
//! stack, a fault on a thread with no runtime) goes to the handler that was
//! installed before ours: Rust's own main-thread overflow reporter, or the
//! default action, re-raised by returning with `SIG_DFL` restored.
//!
//! What the overflowed task cannot do is unwind: its frames are discarded,
//! not dropped. Whatever it owned only through its stack is leaked: heap
//! values (`Box`, `Rc` counts, so their referents never drop), descriptors
//! (its sockets stay open), guards (a `Lock` it held stays locked), and its
//! task-locals. A fault in the middle of an allocator call would leave the
//! allocator's lock held; that is the price of every such recovery (Wasmtime
//! and corosensei document the same), and why the stack it ran on is unmapped
//! instead of pooled.
//!
//! Supported on Linux x86_64 and aarch64; elsewhere [`install`] does nothing
//! and an overflow ends the process as before.

use std::cell::Cell;
use std::ptr;

use crate::fiber::Coro;

thread_local! {
    /// The coroutine being resumed on this thread, or null between resumes.
    /// Read by the signal handler: a const-initialised `Cell` of a pointer
    /// needs no lazy initialisation, so reading it there is async-signal-safe.
    static RUNNING: Cell<*const Coro> = const { Cell::new(ptr::null()) };
    /// The guard-page address of the last trapped overflow, 0 for none. Set
    /// by the handler, taken by the loop when the coroutine returns.
    static TRAPPED: Cell<usize> = const { Cell::new(0) };
}

/// Marks `co` as the coroutine this thread is about to resume.
#[inline]
pub(crate) fn arm(co: *const Coro) {
    RUNNING.with(|r| r.set(co));
}

/// Marks that no coroutine runs on this thread (the resume returned).
#[inline]
pub(crate) fn disarm() {
    RUNNING.with(|r| r.set(ptr::null()));
}

/// Whether the coroutine that just returned did so because it overflowed
/// its stack (and clears the record).
#[inline]
pub(crate) fn take_overflow() -> bool {
    TRAPPED.with(|t| t.replace(0)) != 0
}

/// Installs the fault handler (once per process) and makes sure this thread
/// has an alternate signal stack to run it on (once per thread).
pub(crate) fn install() {
    imp::install();
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod imp {
    use std::cell::Cell;
    use std::mem::{self, MaybeUninit};
    use std::ptr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Once, OnceLock};

    use super::{RUNNING, TRAPPED};

    /// The handlers in place before ours, for `SIGSEGV` and `SIGBUS`.
    struct Previous {
        segv: libc::sigaction,
        bus: libc::sigaction,
    }

    static PREVIOUS: OnceLock<Previous> = OnceLock::new();
    /// The page size, read once so the handler makes no `sysconf` call.
    static PAGE: AtomicUsize = AtomicUsize::new(4096);
    static INSTALL: Once = Once::new();

    thread_local! {
        /// Whether this thread's alternate signal stack has been checked.
        static ALTSTACK_READY: Cell<bool> = const { Cell::new(false) };
    }

    /// Size of the alternate signal stack we map when a thread has none.
    const ALTSTACK_SIZE: usize = 64 * 1024;

    pub(super) fn install() {
        INSTALL.call_once(|| {
            PAGE.store(crate::stack::page_size(), Ordering::Relaxed);
            let segv = set_handler(libc::SIGSEGV);
            let bus = set_handler(libc::SIGBUS);
            if let (Some(segv), Some(bus)) = (segv, bus) {
                // `PREVIOUS` is written before a fault can read it: the
                // handler treats a missing `PREVIOUS` as "restore SIG_DFL".
                let _ = PREVIOUS.set(Previous { segv, bus });
            }
        });
        if !ALTSTACK_READY.with(Cell::get) {
            ensure_altstack();
            ALTSTACK_READY.with(|r| r.set(true));
        }
    }

    /// Installs `on_fault` for `sig` and returns the action it replaced.
    fn set_handler(sig: libc::c_int) -> Option<libc::sigaction> {
        // SAFETY: an all-zero `sigaction` is a valid value (empty mask, no
        // flags), then filled in below.
        let mut action: libc::sigaction = unsafe { mem::zeroed() };
        action.sa_sigaction = on_fault as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        let mut previous = MaybeUninit::<libc::sigaction>::uninit();
        // SAFETY: both pointers are valid for the call; `sigemptyset` only
        // writes the mask it is given.
        let ok = unsafe {
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, previous.as_mut_ptr())
        } == 0;
        // SAFETY: `sigaction` succeeded, so it wrote the previous action.
        ok.then(|| unsafe { previous.assume_init() })
    }

    /// Gives this thread an alternate signal stack unless it has one (std
    /// gives its main thread and the threads it spawns one).
    fn ensure_altstack() {
        // SAFETY: `current` is a valid out-pointer; a null new stack only queries.
        let mut current: libc::stack_t = unsafe { mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::sigaltstack(ptr::null(), &mut current) } != 0 {
            return;
        }
        if current.ss_flags & libc::SS_DISABLE == 0 {
            return;
        }
        let page = crate::stack::page_size();
        // SAFETY: a fresh anonymous private mapping; no existing memory is touched.
        let map = unsafe {
            libc::mmap(
                ptr::null_mut(),
                ALTSTACK_SIZE + page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return;
        }
        // SAFETY: `map` is the start of the mapping made above; the lowest
        // page becomes a guard for the signal stack itself.
        unsafe { libc::mprotect(map, page, libc::PROT_NONE) };
        let stack = libc::stack_t {
            // SAFETY: `page` bytes into a mapping of `ALTSTACK_SIZE + page`.
            ss_sp: unsafe { map.cast::<u8>().add(page) }.cast(),
            ss_flags: 0,
            ss_size: ALTSTACK_SIZE,
        };
        // SAFETY: `stack` describes memory mapped above, which is never
        // unmapped: the thread keeps it until it exits (one per thread that
        // runs a runtime, and only when it had none).
        unsafe { libc::sigaltstack(&stack, ptr::null_mut()) };
    }

    /// The `SIGSEGV`/`SIGBUS` handler.
    extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid `siginfo_t` and `ucontext_t` to a
        // `SA_SIGINFO` handler; everything below only reads thread-locals
        // that need no initialisation and the running coroutine's stack
        // bounds, and allocates nothing.
        unsafe {
            if trap_overflow(info, ctx.cast()) {
                return;
            }
            forward(sig, info, ctx);
        }
    }

    /// Redirects the running coroutine if the fault is an overflow into its
    /// guard page. Returns whether it did.
    ///
    /// # Safety
    ///
    /// `info` and `ctx` are the arguments of a `SA_SIGINFO` handler.
    unsafe fn trap_overflow(info: *mut libc::siginfo_t, ctx: *mut libc::ucontext_t) -> bool {
        let co = RUNNING.with(Cell::get);
        if co.is_null() {
            return false;
        }
        // SAFETY: `RUNNING` is non-null only while the loop resumes that
        // coroutine (set just before `resume`, cleared just after), and the
        // fiber head holding it (at the top of its stack) does not move or
        // die during the resume.
        let trap = unsafe { (*co).trap_handler() };
        // SAFETY: the kernel filled `info` for this fault.
        let addr = unsafe { (*info).si_addr() } as usize;
        // SAFETY: `ctx` is this fault's saved register context.
        let sp = unsafe { stack_pointer(ctx) };
        // corosensei's bounds include the guard page, so an overflowed stack
        // pointer is still "in bounds".
        if !trap.stack_ptr_in_bounds(sp) || !in_guard_page(&trap, addr) {
            return false;
        }
        TRAPPED.with(|t| t.set(addr.max(1)));
        // SAFETY: the interrupted stack pointer is inside the coroutine (just
        // checked), and the function we make it run returns at once, touching
        // nothing outside its own (reset) stack; the registers corosensei
        // asks for are written into the context right below.
        let regs = unsafe { trap.setup_trap_handler(|| ()) };
        // SAFETY: `ctx` is this fault's saved register context, which the
        // kernel restores when the handler returns.
        unsafe { set_registers(ctx, regs) };
        true
    }

    /// Whether `addr` is in the guard page just below the usable stack.
    fn in_guard_page(trap: &corosensei::trap::CoroutineTrapHandler<()>, addr: usize) -> bool {
        let page = PAGE.load(Ordering::Relaxed);
        // `addr` is in the stack's mapping (guard included) but the page
        // above it is not entirely: i.e. it is the lowest page.
        trap.stack_ptr_in_bounds(addr) && !trap.stack_ptr_in_bounds(addr.saturating_sub(page))
    }

    /// Hands the fault to whoever handled it before us.
    ///
    /// # Safety
    ///
    /// The arguments of a `SA_SIGINFO` handler for `sig`.
    unsafe fn forward(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        let previous = PREVIOUS.get().map(|p| match sig {
            libc::SIGBUS => p.bus,
            _ => p.segv,
        });
        match previous {
            Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
                if p.sa_flags & libc::SA_SIGINFO != 0 {
                    // SAFETY: a handler installed with `SA_SIGINFO` has this
                    // signature; we pass it our own arguments unchanged.
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        unsafe { mem::transmute(p.sa_sigaction) };
                    f(sig, info, ctx);
                } else {
                    // SAFETY: a handler installed without `SA_SIGINFO` takes
                    // only the signal number.
                    let f: extern "C" fn(libc::c_int) = unsafe { mem::transmute(p.sa_sigaction) };
                    f(sig);
                }
            }
            _ => {
                // Restore the default action and return: the faulting
                // instruction runs again and the kernel ends the process
                // (with a core dump) as if we had never been here.
                // SAFETY: a zeroed `sigaction` with `SIG_DFL` is valid.
                let mut dfl: libc::sigaction = unsafe { mem::zeroed() };
                dfl.sa_sigaction = libc::SIG_DFL;
                // SAFETY: valid pointers; `sigaction` is async-signal-safe.
                unsafe { libc::sigaction(sig, &dfl, ptr::null_mut()) };
            }
        }
    }

    /// The interrupted stack pointer.
    ///
    /// # Safety
    ///
    /// `ctx` is a valid `ucontext_t`.
    #[cfg(target_arch = "x86_64")]
    unsafe fn stack_pointer(ctx: *const libc::ucontext_t) -> usize {
        // SAFETY: per the contract.
        unsafe { (*ctx).uc_mcontext.gregs[libc::REG_RSP as usize] as usize }
    }

    /// Points the interrupted context at corosensei's trap trampoline.
    ///
    /// # Safety
    ///
    /// `ctx` is a valid `ucontext_t` the kernel will restore.
    #[cfg(target_arch = "x86_64")]
    unsafe fn set_registers(ctx: *mut libc::ucontext_t, regs: corosensei::trap::TrapHandlerRegs) {
        let corosensei::trap::TrapHandlerRegs {
            rip,
            rsp,
            rbp,
            rdi,
            rsi,
        } = regs;
        // SAFETY: per the contract.
        let gregs = unsafe { &mut (*ctx).uc_mcontext.gregs };
        gregs[libc::REG_RIP as usize] = rip as i64;
        gregs[libc::REG_RSP as usize] = rsp as i64;
        gregs[libc::REG_RBP as usize] = rbp as i64;
        gregs[libc::REG_RDI as usize] = rdi as i64;
        gregs[libc::REG_RSI as usize] = rsi as i64;
    }

    /// The interrupted stack pointer.
    ///
    /// # Safety
    ///
    /// `ctx` is a valid `ucontext_t`.
    #[cfg(target_arch = "aarch64")]
    unsafe fn stack_pointer(ctx: *const libc::ucontext_t) -> usize {
        // SAFETY: per the contract.
        unsafe { (*ctx).uc_mcontext.sp as usize }
    }

    /// Points the interrupted context at corosensei's trap trampoline.
    ///
    /// # Safety
    ///
    /// `ctx` is a valid `ucontext_t` the kernel will restore.
    #[cfg(target_arch = "aarch64")]
    unsafe fn set_registers(ctx: *mut libc::ucontext_t, regs: corosensei::trap::TrapHandlerRegs) {
        let corosensei::trap::TrapHandlerRegs {
            pc,
            sp,
            x0,
            x1,
            x29,
            lr,
        } = regs;
        // SAFETY: per the contract.
        let mc = unsafe { &mut (*ctx).uc_mcontext };
        mc.pc = pc;
        mc.sp = sp;
        mc.regs[0] = x0;
        mc.regs[1] = x1;
        mc.regs[29] = x29;
        mc.regs[30] = lr;
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod imp {
    pub(super) fn install() {}
}

//! Cache prefetch hints: the loop asks for the memory the next task will
//! touch while the current one runs.
//!
//! With a thousand connections, the lines a round trip touches per task (its
//! stack around where it parked, its coroutine's head) have all left the
//! cache by the time its next event comes: each is a miss to the L3 or to
//! memory, paid one after the other while the task runs. The dispatch knows
//! which task the next event wakes, so it asks for that task's lines before
//! it resumes the current one; they arrive while the current task makes its
//! syscalls.
//!
//! A prefetch is only a hint. It reads nothing into the program, never
//! faults and never changes what the program computes, whatever the
//! address (an unmapped one, a stack since recycled): a wrong hint costs
//! one wasted cache fill, nothing else. That is why the unsafe blocks below
//! are sound for any address. Architectures without an instruction here
//! get no hint.

/// Asks for the cache line holding `addr` (any address).
#[inline(always)]
fn line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is in SSE, which every x86_64 CPU has; it neither
    // faults nor reads into a register, so any address is fine (see above).
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::without_provenance(addr));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: `prfm` is a hint: it never faults and writes no register or
    // memory, so any address is fine (see above).
    unsafe {
        std::arch::asm!(
            "prfm pldl1keep, [{0}]",
            in(reg) addr,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = addr;
}

/// Asks for the `N` lines from `from` on (`from` need not be aligned: the
/// last line then holds only the range's end).
#[inline(always)]
pub(crate) fn lines<const N: usize>(from: usize) {
    for i in 0..N {
        line(from.wrapping_add(i * 64));
    }
}

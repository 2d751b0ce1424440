//! The stack pool: guard-paged coroutine stacks, validated, and reused.
//!
//! A fresh stack costs an `mmap` plus an `mprotect` (about 6 µs and two kernel
//! memory maps); a pooled one costs a `Vec::pop`. Finished tasks give their
//! stack back here and the next spawn of the same size takes it.
//!
//! The top [`HEAD_SPACE`] bytes of every stack are not the coroutine's: they
//! hold the task's fiber head (its coroutine and its cold fields, see
//! `fiber.rs`), in the page the task's first frames make resident anyway.

use std::io;
use std::ptr::NonNull;
use std::sync::Arc;

use corosensei::stack::{DefaultStack, Stack as _, StackPointer};

use crate::fiber::HEAD_SPACE;

use crate::metrics::Counter;
use crate::watch::Watch;

/// The smallest stack a task may ask for (the seeds' "at least 32,768 bytes").
pub const MIN_STACK_SIZE: usize = 32 * 1024;

/// The stack size tasks get unless the runtime or task builder says otherwise.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// The largest stack a task may ask for; beyond this a mistake is likelier
/// than a need.
pub const MAX_STACK_SIZE: usize = 1 << 30;

/// How many idle stacks of each size the pool keeps before unmapping extras.
const DEFAULT_POOL_LIMIT: usize = 4096;

/// Returns the system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// Checks a requested stack size and rounds it up to whole pages.
///
/// # Errors
///
/// `InvalidInput` when `size` is below [`MIN_STACK_SIZE`] or above
/// [`MAX_STACK_SIZE`], with a message saying which bound was crossed.
pub fn validate_stack_size(size: usize) -> io::Result<usize> {
    if size < MIN_STACK_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("stack size {size} bytes is too small: a green thread needs at least {MIN_STACK_SIZE} bytes"),
        ));
    }
    if size > MAX_STACK_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("stack size {size} bytes is too large: the limit is {MAX_STACK_SIZE} bytes"),
        ));
    }
    let page = page_size();
    Ok(size.div_ceil(page) * page)
}

/// Idle stacks, one free list per size (tasks almost always use one size).
pub(crate) struct StackPool {
    /// The runtime's default stack size, the one almost every task uses:
    /// its free list is `common`, reached without a scan.
    common_size: usize,
    /// Idle stacks of `common_size` bytes.
    common: Vec<Stack>,
    /// `(size, idle stacks of that size)` for the other sizes (tasks given
    /// their own with `task::Builder::stack_size`); a short list scanned
    /// linearly.
    free: Vec<(usize, Vec<Stack>)>,
    /// Idle stacks kept per size; stacks returned past it are unmapped.
    limit: usize,
    /// Where the pool keeps its two figures (stacks mapped, stacks idle):
    /// the loop's shared counters, so `metrics()` reads them from any
    /// thread and no spawn or exit has to copy them there.
    watch: Arc<Watch>,
}

/// A pooled stack: corosensei's mmap stack with its guard page, of which the
/// coroutine runs below the top [`HEAD_SPACE`] bytes.
pub(crate) struct Stack {
    mapping: DefaultStack,
    /// Where the coroutine's stack starts: `HEAD_SPACE` below the top of
    /// the mapping. Kept, not computed: every resume asks for it.
    base: StackPointer,
}

impl Stack {
    fn new(mapping: DefaultStack) -> Stack {
        let base = mapping.base().get() - HEAD_SPACE;
        Stack {
            mapping,
            base: StackPointer::new(base).expect("a stack lies above address 0"),
        }
    }

    /// The start of the head space: `HEAD_SPACE` bytes up to the top of the
    /// mapping, aligned to 16, that nothing but the fiber head uses.
    #[inline]
    pub(crate) fn head(&self) -> NonNull<u8> {
        NonNull::new(self.base.get() as *mut u8).expect("a stack lies above address 0")
    }
}

// SAFETY: the range handed to corosensei, `[limit, top - HEAD_SPACE)`, lies
// inside `DefaultStack`'s own valid range, stays mapped as long as the value
// lives (it owns the mapping), and its base is aligned: the top of the
// mapping is page-aligned and `HEAD_SPACE` a multiple of `STACK_ALIGNMENT`.
unsafe impl corosensei::stack::Stack for Stack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.base
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        self.mapping.limit()
    }
}

impl StackPool {
    /// A pool whose fast path serves stacks of `common_size` bytes (already
    /// validated): the runtime's default.
    pub(crate) fn new(watch: Arc<Watch>, common_size: usize) -> Self {
        StackPool {
            common_size,
            common: Vec::new(),
            free: Vec::new(),
            limit: DEFAULT_POOL_LIMIT,
            watch,
        }
    }

    /// Stacks ever mapped and not yet unmapped.
    #[inline]
    fn mapped_counter(&self) -> &Counter {
        &self.watch.counters.stacks_mapped
    }

    /// Stacks idle in `free`.
    #[inline]
    fn idle_counter(&self) -> &Counter {
        &self.watch.counters.stacks_pooled
    }

    /// Takes an idle stack of `size` bytes (already validated), or maps one.
    #[inline(always)]
    pub(crate) fn take(&mut self, size: usize) -> io::Result<Stack> {
        if size == self.common_size {
            if let Some(stack) = self.common.pop() {
                let idle = self.idle_counter();
                idle.set(idle.get() - 1);
                return Ok(stack);
            }
        }
        self.take_other(size)
    }

    /// `take` of a stack of a size other than the common one, or when
    /// none is idle (out of line: a task with a stack size of its own, or
    /// the pool's growth).
    #[cold]
    fn take_other(&mut self, size: usize) -> io::Result<Stack> {
        if size != self.common_size {
            if let Some((_, list)) = self.free.iter_mut().find(|(s, _)| *s == size) {
                if let Some(stack) = list.pop() {
                    let idle = self.idle_counter();
                    idle.set(idle.get() - 1);
                    return Ok(stack);
                }
            }
        }
        self.map(size)
    }

    #[cold]
    fn map(&mut self, size: usize) -> io::Result<Stack> {
        match DefaultStack::new(size) {
            Ok(stack) => {
                self.mapped_counter().bump();
                Ok(Stack::new(stack))
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOMEM) => Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "could not map a {size}-byte green-thread stack ({e}) with {} stacks mapped: \
                     the kernel's memory-map limit is probably reached (each stack takes two maps; \
                     see `sysctl vm.max_map_count`, default 65530). Raise it with \
                     `sysctl -w vm.max_map_count=262144`, use fewer tasks, or check memory limits",
                    self.mapped()
                ),
            )),
            Err(e) => Err(e),
        }
    }

    /// Returns a stack that finished its task.
    #[inline]
    pub(crate) fn put(&mut self, size: usize, stack: Stack) {
        if size == self.common_size && self.common.len() < self.limit {
            self.common.push(stack);
            self.idle_counter().bump();
        } else {
            self.put_other(size, stack);
        }
    }

    /// `put` for a stack of a size other than the common one, or past the
    /// limit (out of line: a task with a stack size of its own, or a burst
    /// that ended).
    #[cold]
    fn put_other(&mut self, size: usize, stack: Stack) {
        if size == self.common_size {
            return self.discard(stack);
        }
        let limit = self.limit;
        match self.free.iter_mut().find(|(s, _)| *s == size) {
            Some((_, list)) if list.len() < limit => list.push(stack),
            Some(_) => return self.discard(stack),
            None => self.free.push((size, vec![stack])),
        }
        self.idle_counter().bump();
    }

    /// Stacks currently mapped, in use or idle.
    pub(crate) fn mapped(&self) -> usize {
        self.mapped_counter().get() as usize
    }

    /// Stacks idle in the pool.
    #[cfg(test)]
    fn idle(&self) -> usize {
        self.idle_counter().get() as usize
    }

    /// Unmaps a stack instead of pooling it: one a task overflowed.
    pub(crate) fn discard(&mut self, stack: Stack) {
        drop(stack);
        let mapped = self.mapped_counter();
        mapped.set(mapped.get() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_validated_and_rounded() {
        assert!(validate_stack_size(4096).is_err());
        assert!(validate_stack_size(usize::MAX).is_err());
        let page = page_size();
        assert_eq!(
            validate_stack_size(MIN_STACK_SIZE + 1).unwrap(),
            MIN_STACK_SIZE + page
        );
        assert_eq!(
            validate_stack_size(DEFAULT_STACK_SIZE).unwrap(),
            DEFAULT_STACK_SIZE
        );
    }

    #[test]
    fn stacks_are_reused() {
        let mut pool = StackPool::new(Watch::new(), DEFAULT_STACK_SIZE);
        for size in [MIN_STACK_SIZE, DEFAULT_STACK_SIZE] {
            let a = pool.take(size).unwrap();
            pool.put(size, a);
            let b = pool.take(size).unwrap();
            pool.put(size, b);
        }
        assert_eq!(pool.mapped(), 2);
        assert_eq!(pool.idle(), 2);
        let a = pool.take(DEFAULT_STACK_SIZE).unwrap();
        let b = pool.take(DEFAULT_STACK_SIZE).unwrap();
        assert_eq!(pool.mapped(), 3, "one idle stack of the size, one new");
        pool.put(DEFAULT_STACK_SIZE, a);
        pool.put(DEFAULT_STACK_SIZE, b);
        assert_eq!(pool.idle(), 3);
    }

    #[test]
    fn idle_stacks_are_capped_per_size() {
        let mut pool = StackPool::new(Watch::new(), DEFAULT_STACK_SIZE);
        pool.limit = 1;
        for size in [MIN_STACK_SIZE, DEFAULT_STACK_SIZE] {
            let a = pool.take(size).unwrap();
            let b = pool.take(size).unwrap();
            pool.put(size, a);
            pool.put(size, b);
        }
        assert_eq!(pool.idle(), 2);
        assert_eq!(pool.mapped(), 2, "the stacks past the limit are unmapped");
    }
}

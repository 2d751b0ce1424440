//! `Semaphore`: a counter of permits, handed to waiters in arrival order.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use super::wait_list::WaitList;
use super::{deadline_after, ReleaseError};

/// A green counting semaphore, like Python's `threading.Semaphore`.
///
/// [`acquire`](Semaphore::acquire) takes a permit, parking while none is
/// left; [`release`](Semaphore::release) gives one back, straight to the
/// oldest waiter if there is one (rules [5](crate#scheduling-rules) and [7](crate#scheduling-rules)), otherwise to the count,
/// which may grow past its initial value (see
/// [`BoundedSemaphore`](super::BoundedSemaphore) for the checked kind).
/// Waits are interruptible by cancellation; a cancelled waiter that had
/// already been handed a permit passes it on.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::Semaphore>();
/// ```
///
/// # Examples
///
/// The seed's `Semaphore(0)` worker pool: workers wait in order, and each
/// release lets the oldest one go.
///
/// ```
/// use std::rc::Rc;
/// use weft::sync::Semaphore;
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let sema = Rc::new(Semaphore::new(0));
///     let workers: Vec<_> = (0..3)
///         .map(|n| {
///             let s = sema.clone();
///             weft::spawn(move || {
///                 s.acquire();
///                 format!("Working {n}")
///             })
///         })
///         .collect();
///     weft::yield_now(); // all three park, in spawn order
///     for _ in 0..3 {
///         sema.release();
///     }
///     let done: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
///     assert_eq!(done, ["Working 0", "Working 1", "Working 2"]);
/// }).unwrap();
/// ```
pub struct Semaphore {
    /// Free permits. Never above zero while a live waiter is queued.
    permits: Cell<usize>,
    /// Tasks parked in `acquire`, oldest first.
    waiters: WaitList,
    /// The most free permits allowed (`usize::MAX` unless bounded).
    bound: usize,
    /// The reason waiters park with (`"Semaphore"`, `"BoundedSemaphore"`).
    what: &'static str,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore::with_bound(permits, usize::MAX, "Semaphore")
    }

    pub(crate) const fn with_bound(permits: usize, bound: usize, what: &'static str) -> Semaphore {
        Semaphore {
            permits: Cell::new(permits),
            waiters: WaitList::new(),
            bound,
            what,
        }
    }

    /// Takes a permit, parking until one is handed over if none is free.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    #[inline]
    pub fn acquire(&self) {
        self.acquire_until(None);
    }

    /// Takes a permit if one is free, without waiting; returns whether it did.
    pub fn try_acquire(&self) -> bool {
        match self.permits.get() {
            0 => false,
            n => {
                self.permits.set(n - 1);
                true
            }
        }
    }

    /// Takes a permit, waiting at most `timeout`; returns whether it did.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.acquire_until(deadline_after(timeout))
    }

    /// Gives a permit back: to the oldest waiter, or to the count.
    pub fn release(&self) {
        // Unbounded, this cannot fail short of `usize::MAX` permits.
        let _ = self.release_checked();
    }

    /// Gives a permit back unless the count is at its bound.
    pub(crate) fn release_checked(&self) -> Result<(), ReleaseError> {
        let permits = self.permits.get();
        if permits >= self.bound {
            return Err(ReleaseError::TooManyReleases);
        }
        if !self.waiters.notify_one(|_, _| ()) {
            self.permits.set(permits + 1);
        }
        Ok(())
    }

    /// Free permits right now.
    pub fn available_permits(&self) -> usize {
        self.permits.get()
    }

    /// Takes a permit and returns a guard that gives it back when dropped
    /// (Python's `with sema:`).
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn permit(&self) -> SemaphorePermit<'_> {
        self.acquire();
        SemaphorePermit { semaphore: self }
    }

    #[inline(always)]
    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        if self.try_acquire() {
            return true;
        }
        // A waiter that unwinds after a permit was handed to it passes it on.
        let on_unwind = |handed, _| {
            if handed {
                let _ = self.release_checked();
            }
        };
        self.waiters
            .wait(self.what, deadline, None, on_unwind)
            .notified
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.permits.get())
            .field("waiters", &self.waiters)
            .finish()
    }
}

/// A permit taken from a [`Semaphore`]; given back when dropped.
#[must_use = "the permit is given back as soon as it is dropped"]
#[derive(Debug)]
pub struct SemaphorePermit<'a> {
    semaphore: &'a Semaphore,
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        // Fails only for a bounded semaphore that was also released by
        // hand; then the count is already full.
        let _ = self.semaphore.release_checked();
    }
}

//! `BoundedSemaphore`: a semaphore that refuses to grow past its start.

use std::fmt;
use std::time::Duration;

use super::{ReleaseError, Semaphore, SemaphorePermit};

/// A [`Semaphore`] whose count may not exceed its initial value, like
/// Python's `threading.BoundedSemaphore`: releasing more than was acquired
/// is an error, which catches the bug of a double release (seed 004's candy
/// machine refills only up to its capacity).
///
/// Waiting is the same as `Semaphore`'s: FIFO, with permits handed to the
/// oldest waiter.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::BoundedSemaphore>();
/// ```
///
/// # Examples
///
/// ```
/// use weft::sync::{BoundedSemaphore, ReleaseError};
///
/// let candy = BoundedSemaphore::new(2);
/// assert!(candy.try_acquire());
/// assert_eq!(candy.release(), Ok(()));
/// let err = candy.release().unwrap_err();
/// assert_eq!(err, ReleaseError::TooManyReleases);
/// assert_eq!(err.to_string(), "Semaphore released too many times");
/// assert_eq!(candy.available_permits(), 2);
/// ```
pub struct BoundedSemaphore {
    inner: Semaphore,
    /// The initial count, which the count may not exceed.
    bound: usize,
}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits, which is also its maximum.
    pub const fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            inner: Semaphore::with_bound(permits, permits, "BoundedSemaphore"),
            bound: permits,
        }
    }

    /// Takes a permit, parking until one is handed over if none is free.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    #[inline]
    pub fn acquire(&self) {
        self.inner.acquire();
    }

    /// Takes a permit if one is free, without waiting; returns whether it did.
    pub fn try_acquire(&self) -> bool {
        self.inner.try_acquire()
    }

    /// Takes a permit, waiting at most `timeout`; returns whether it did.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.inner.acquire_timeout(timeout)
    }

    /// Gives a permit back: to the oldest waiter, or to the count.
    ///
    /// # Errors
    ///
    /// [`ReleaseError::TooManyReleases`] (`Semaphore released too many
    /// times`) when the count is already at its initial value; nothing changes.
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.inner.release_checked()
    }

    /// Free permits right now.
    pub fn available_permits(&self) -> usize {
        self.inner.available_permits()
    }

    /// The maximum (and initial) number of permits.
    pub fn bound(&self) -> usize {
        self.bound
    }

    /// Takes a permit and returns a guard that gives it back when dropped.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn permit(&self) -> SemaphorePermit<'_> {
        self.inner.permit()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("permits", &self.inner.available_permits())
            .field("bound", &self.bound)
            .finish()
    }
}

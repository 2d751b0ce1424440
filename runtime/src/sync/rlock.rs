//! `RLock`: a reentrant lock with an owner and a count.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::condition::{ConditionLock, Token};
use super::wait_list::WaitList;
use super::{deadline_after, ReleaseError};
use crate::context;
use crate::deadlock;
use crate::lock_cycle::LockIdent;
use crate::park::Unparker;
use crate::task::TaskId;

/// A reentrant green lock, like Python's `threading.RLock`.
///
/// The task that holds it may acquire it again; it is free once that task
/// has released it as many times as it acquired it. Only the owner may
/// release it. Like [`Lock`](super::Lock), waiters are served first come,
/// first served and a release hands the lock to the oldest one (rules [5](crate#scheduling-rules)
/// and [7](crate#scheduling-rules)); waiting is uninterruptible except by cancellation.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::RLock>();
/// ```
///
/// # Examples
///
/// ```
/// use weft::sync::{RLock, ReleaseError};
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let lock = std::rc::Rc::new(RLock::new());
///     let outer = lock.lock();
///     let inner = lock.lock(); // the owner may take it again
///     assert_eq!(lock.count(), 2);
///     let l = lock.clone();
///     let stranger = weft::spawn(move || l.release());
///     assert_eq!(stranger.join().unwrap(), Err(ReleaseError::NotOwner));
///     drop((inner, outer));
///     assert!(!lock.is_locked());
/// }).unwrap();
/// ```
pub struct RLock {
    /// Name and creation site, and the task holding it (or just handed it).
    ident: Rc<LockIdent>,
    /// How many more releases the owner owes.
    count: Cell<usize>,
    /// Tasks parked in `acquire`, oldest first.
    waiters: WaitList,
}

impl RLock {
    /// A new, unlocked reentrant lock, known in reports by where it was
    /// created.
    #[track_caller]
    pub fn new() -> RLock {
        RLock::with_name(None)
    }

    /// A new, unlocked reentrant lock with a name for deadlock reports and dumps.
    #[track_caller]
    pub fn named(name: impl Into<Cow<'static, str>>) -> RLock {
        RLock::with_name(Some(name.into()))
    }

    #[track_caller]
    fn with_name(name: Option<Cow<'static, str>>) -> RLock {
        RLock {
            ident: LockIdent::new("RLock", name, Location::caller()),
            count: Cell::new(0),
            waiters: WaitList::new(),
        }
    }

    /// Takes the lock (again, if the caller owns it), parking while another
    /// task holds it.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    #[inline]
    pub fn acquire(&self) {
        self.acquire_until(None);
    }

    /// Takes the lock if it is free or already the caller's, without waiting.
    /// Returns whether it was taken.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn try_acquire(&self) -> bool {
        self.try_take(me())
    }

    /// Takes the lock, waiting at most `timeout`; returns whether it was taken.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.acquire_until(deadline_after(timeout))
    }

    /// Gives back one acquisition; the last one frees the lock, handing it to
    /// the oldest waiter.
    ///
    /// # Errors
    ///
    /// [`ReleaseError::NotOwner`] (`cannot release un-acquired lock`) when
    /// the caller does not own it; nothing changes.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn release(&self) -> Result<(), ReleaseError> {
        if self.ident.owner.get() != Some(me()) {
            return Err(ReleaseError::NotOwner);
        }
        let count = self.count.get() - 1;
        self.count.set(count);
        if count == 0 {
            self.unlock();
        }
        Ok(())
    }

    /// True while some task holds the lock.
    pub fn is_locked(&self) -> bool {
        self.ident.owner.get().is_some()
    }

    /// True when the calling task holds the lock.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn is_owned(&self) -> bool {
        self.ident.owner.get() == Some(me())
    }

    /// The owner's recursion count (0 when free).
    pub fn count(&self) -> usize {
        self.count.get()
    }

    /// Takes the lock and returns a guard that releases it once when dropped.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn lock(&self) -> RLockGuard<'_> {
        self.acquire();
        RLockGuard::new(self)
    }

    /// The guard if the lock is free or the caller's, without waiting.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn try_lock(&self) -> Option<RLockGuard<'_>> {
        self.try_acquire().then(|| RLockGuard::new(self))
    }

    /// The guard if the lock could be taken within `timeout`.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub fn lock_timeout(&self, timeout: Duration) -> Option<RLockGuard<'_>> {
        self.acquire_timeout(timeout).then(|| RLockGuard::new(self))
    }

    fn try_take(&self, me: TaskId) -> bool {
        match self.ident.owner.get() {
            None => {
                self.ident.owner.set(Some(me));
                self.count.set(1);
                true
            }
            Some(owner) if owner == me => {
                self.count.set(self.count.get() + 1);
                true
            }
            Some(_) => false,
        }
    }

    #[inline(always)]
    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        if self.try_take(me()) {
            return true;
        }
        let _waiting = deadlock::wait_for(&self.ident, deadline.is_some());
        // A waiter that unwinds after the lock was handed to it passes it on.
        let on_unwind = |handed, _| {
            if handed {
                self.unlock();
            }
        };
        self.waiters
            .wait("RLock", deadline, None, on_unwind)
            .notified
    }

    /// Hands the lock to the oldest live waiter (count 1), or frees it.
    fn unlock(&self) {
        let handed = self.waiters.notify_one(|u, _| {
            self.ident.owner.set(Some(u.task()));
            self.count.set(1);
        });
        if !handed {
            self.ident.owner.set(None);
            self.count.set(0);
        }
    }
}

/// The calling task's id, cheaply.
fn me() -> TaskId {
    if !context::in_green_thread() {
        context::outside_runtime("RLock");
    }
    Unparker::current().task()
}

impl Default for RLock {
    fn default() -> Self {
        RLock::new()
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock")
            .field("owner", &self.ident.owner.get())
            .field("count", &self.count.get())
            .finish()
    }
}

/// One acquisition of an [`RLock`]; released when dropped.
#[must_use = "the acquisition is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
    /// False only while a `Condition` wait has let go of the lock.
    held: bool,
}

impl<'a> RLockGuard<'a> {
    fn new(lock: &'a RLock) -> Self {
        RLockGuard { lock, held: true }
    }

    /// The lock this guard holds.
    pub fn lock(&self) -> &'a RLock {
        self.lock
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        if self.held {
            // Fails only if a cancelled Condition wait left the lock with
            // another task; then this guard has nothing left to release.
            let _ = self.lock.release();
        }
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard")
            .field("lock", &self.lock)
            .finish()
    }
}

impl ConditionLock for RLock {
    type Guard<'a> = RLockGuard<'a>;

    fn lock_guard(&self, _: Token) -> RLockGuard<'_> {
        self.lock()
    }

    fn guard_owner(guard: &RLockGuard<'_>, _: Token) -> *const RLock {
        guard.lock
    }

    fn unlock_for_wait(guard: &mut RLockGuard<'_>, _: Token) -> usize {
        let lock = guard.lock;
        assert!(
            lock.is_owned(),
            "Condition::wait: {}",
            ReleaseError::NotOwner
        );
        guard.held = false;
        let saved = lock.count.get();
        lock.unlock();
        saved
    }

    fn relock_after_wait(guard: &mut RLockGuard<'_>, saved: usize, _: Token) {
        let lock = guard.lock;
        lock.acquire_until(None);
        lock.count.set(saved);
        guard.held = true;
    }
}

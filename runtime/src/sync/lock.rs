//! `Lock`: the seed's non-reentrant lock, handed to the oldest waiter.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::condition::{ConditionLock, Token};
use super::wait_list::WaitList;
use super::{deadline_after, ReleaseError};
use crate::deadlock;
use crate::lock_cycle::LockIdent;

/// Hands out lock ids in creation order (see [`acquire_ordered`](super::acquire_ordered)).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A green lock with no owner, like Python's `threading.Lock`.
///
/// `acquire` parks the calling green thread while the lock is held ([rule 6](crate#scheduling-rules):
/// taking a free lock never suspends). Waiters are served first come,
/// first served, and `release` hands the lock straight to the oldest one
/// ([rule 7](crate#scheduling-rules)), so a task that releases and re-acquires without yielding
/// queues behind the waiters instead of starving them. The woken task goes
/// to the tail of the ready queue; the releaser keeps running ([rule 4](crate#scheduling-rules)).
///
/// The lock is not reentrant (a second `acquire` by the same task waits
/// forever, which the runtime reports as a deadlock; use [`RLock`](super::RLock)),
/// and any task may release it. Prefer the guard API ([`lock`](Lock::lock)),
/// which cannot release a lock it does not hold; [`Mutex`](super::Mutex)
/// adds the data it protects.
///
/// Waiting for a lock is uninterruptible except by cancellation: a
/// cancelled waiter unwinds, and if the lock had already been handed to it,
/// passes it on to the next waiter.
///
/// For deadlock detection the lock's *owner* is the task that acquired it
/// (or was handed it) until someone releases it: a task that waits for a
/// lock whose owner waits, through a chain of owned locks, for a lock the
/// first task owns closes a cycle, which is reported at once (see
/// [`LockCycleAction`](crate::LockCycleAction)). Reports name the lock by
/// [`Lock::named`]'s name or by where it was created.
///
/// `!Send`: the lock belongs to the runtime thread; share it between green
/// threads with an `Rc`.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::Lock>();
/// ```
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use weft::sync::Lock;
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let lock = Rc::new(Lock::new());
///     let guard = lock.lock();
///     let l = lock.clone();
///     let other = weft::spawn(move || {
///         let _g = l.lock(); // parks until main releases
///         "got it"
///     });
///     weft::yield_now(); // `other` runs and parks on the lock
///     drop(guard); // hands the lock to `other`
///     assert_eq!(other.join().unwrap(), "got it");
///     assert!(!lock.is_locked());
/// }).unwrap();
/// ```
pub struct Lock {
    /// Held by someone (including a waiter it was just handed to).
    locked: Cell<bool>,
    /// Tasks parked in `acquire`, oldest first.
    waiters: WaitList,
    /// Stable id, the order `acquire_ordered` takes locks in.
    id: u64,
    /// Name, creation site and owner, for deadlock reports and dumps.
    ident: Rc<LockIdent>,
}

impl Lock {
    /// A new, unlocked lock, known in reports by where it was created.
    #[track_caller]
    pub fn new() -> Lock {
        Lock::with_ident("Lock", None, Location::caller())
    }

    /// A new, unlocked lock with a name for deadlock reports and dumps.
    ///
    /// # Examples
    ///
    /// ```
    /// let accounts = weft::sync::Lock::named("accounts");
    /// assert!(format!("{accounts:?}").contains("accounts"));
    /// ```
    #[track_caller]
    pub fn named(name: impl Into<Cow<'static, str>>) -> Lock {
        Lock::with_ident("Lock", Some(name.into()), Location::caller())
    }

    pub(crate) fn with_ident(
        kind: &'static str,
        name: Option<Cow<'static, str>>,
        site: &'static Location<'static>,
    ) -> Lock {
        Lock {
            locked: Cell::new(false),
            waiters: WaitList::new(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            ident: LockIdent::new(kind, name, site),
        }
    }

    /// Takes the lock, parking until it is handed over if it is held.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    #[inline]
    pub fn acquire(&self) {
        self.acquire_until("Lock", None);
    }

    /// Takes the lock if it is free, without waiting (Python's
    /// `acquire(False)`). Returns whether it was taken.
    pub fn try_acquire(&self) -> bool {
        let taken = !self.locked.replace(true);
        if taken {
            self.ident.owner.set(deadlock::current_task());
        }
        taken
    }

    /// Takes the lock, waiting at most `timeout`; returns whether it was taken.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn acquire_timeout(&self, timeout: Duration) -> bool {
        self.acquire_until("Lock", deadline_after(timeout))
    }

    /// Releases the lock, handing it to the oldest waiter if there is one.
    ///
    /// # Errors
    ///
    /// [`ReleaseError::Unlocked`] (`release unlocked lock`) if nobody holds
    /// it; nothing changes.
    pub fn release(&self) -> Result<(), ReleaseError> {
        if !self.locked.get() {
            return Err(ReleaseError::Unlocked);
        }
        self.unlock();
        Ok(())
    }

    /// True while someone holds the lock (Python's `locked()`).
    pub fn is_locked(&self) -> bool {
        self.locked.get()
    }

    /// Takes the lock and returns a guard that releases it when dropped.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn lock(&self) -> LockGuard<'_> {
        self.acquire();
        LockGuard::new(self)
    }

    /// The guard if the lock is free now, without waiting.
    pub fn try_lock(&self) -> Option<LockGuard<'_>> {
        self.try_acquire().then(|| LockGuard::new(self))
    }

    /// The guard if the lock could be taken within `timeout`.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn lock_timeout(&self, timeout: Duration) -> Option<LockGuard<'_>> {
        self.acquire_timeout(timeout).then(|| LockGuard::new(self))
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Takes the lock, parking with `what` until it is
    /// handed over or `deadline` passes.
    #[inline(always)]
    pub(crate) fn acquire_until(&self, what: &'static str, deadline: Option<Instant>) -> bool {
        if self.try_acquire() {
            return true;
        }
        let _waiting = deadlock::wait_for(&self.ident, deadline.is_some());
        // A waiter that unwinds after the lock was handed to it passes it on.
        let on_unwind = |handed, _| {
            if handed {
                self.unlock();
            }
        };
        self.waiters.wait(what, deadline, None, on_unwind).notified
    }

    /// Hands the (held) lock to the oldest live waiter, or frees it.
    pub(crate) fn unlock(&self) {
        let owner = &self.ident.owner;
        if !self.waiters.notify_one(|u, _| owner.set(Some(u.task()))) {
            self.locked.set(false);
            owner.set(None);
        }
    }
}

impl Default for Lock {
    fn default() -> Self {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("id", &self.id)
            .field("name", &self.ident.describe())
            .field("locked", &self.locked.get())
            .field("owner", &self.ident.owner.get())
            .finish()
    }
}

/// Holds a [`Lock`]; releases it (to the oldest waiter) when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
    /// False only while a `Condition` wait has let go of the lock.
    held: bool,
}

impl<'a> LockGuard<'a> {
    fn new(lock: &'a Lock) -> Self {
        LockGuard { lock, held: true }
    }

    /// The lock this guard holds.
    pub fn lock(&self) -> &'a Lock {
        self.lock
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        if self.held {
            self.lock.unlock();
        }
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("lock", &self.lock)
            .finish()
    }
}

impl ConditionLock for Lock {
    type Guard<'a> = LockGuard<'a>;

    fn lock_guard(&self, _: Token) -> LockGuard<'_> {
        self.lock()
    }

    fn guard_owner(guard: &LockGuard<'_>, _: Token) -> *const Lock {
        guard.lock
    }

    fn unlock_for_wait(guard: &mut LockGuard<'_>, _: Token) -> usize {
        guard.held = false;
        guard.lock.unlock();
        0
    }

    fn relock_after_wait(guard: &mut LockGuard<'_>, _saved: usize, _: Token) {
        guard.lock.acquire_until("Lock", None);
        guard.held = true;
    }
}

//! `Mutex<T>`: data behind a green [`Lock`], the Rust way.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use super::condition::{ConditionLock, Token};
use super::{deadline_after, Lock};

/// A green mutex: a [`Lock`] that owns the data it protects, with a guard
/// that gives access to it.
///
/// It behaves like `Lock` (FIFO handoff to the oldest waiter, [rule 7](crate#scheduling-rules);
/// waiting parks the green thread, never the OS thread). Differences from
/// `std::sync::Mutex`: there is no poisoning (a task that panics while
/// holding the guard simply releases it as it unwinds), and it is `!Send`
/// and `!Sync`: it belongs to the runtime thread; share it between green
/// threads with an `Rc`.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::Mutex<u32>>();
/// ```
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use weft::sync::Mutex;
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let total = Rc::new(Mutex::new(0));
///     let workers: Vec<_> = (1..=3)
///         .map(|n| {
///             let total = total.clone();
///             weft::spawn(move || {
///                 let mut t = total.lock();
///                 weft::yield_now(); // others queue up meanwhile
///                 *t += n;
///             })
///         })
///         .collect();
///     for w in workers {
///         w.join().unwrap();
///     }
///     assert_eq!(*total.lock(), 6);
/// }).unwrap();
/// ```
pub struct Mutex<T: ?Sized> {
    lock: Lock,
    data: UnsafeCell<T>,
}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`, known in deadlock reports by
    /// where it was created.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Mutex {
            lock: Lock::with_ident("Mutex", None, std::panic::Location::caller()),
            data: UnsafeCell::new(value),
        }
    }

    /// A new, unlocked mutex holding `value`, with a name for deadlock
    /// reports and dumps.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = weft::sync::Mutex::named("balance", 10);
    /// assert_eq!(m.into_inner(), 10);
    /// ```
    #[track_caller]
    pub fn named(name: impl Into<std::borrow::Cow<'static, str>>, value: T) -> Self {
        Mutex {
            lock: Lock::with_ident("Mutex", Some(name.into()), std::panic::Location::caller()),
            data: UnsafeCell::new(value),
        }
    }

    /// The data, taking the mutex apart.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, parking until it is handed over if it is held.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.lock.acquire_until("Mutex", None);
        MutexGuard::new(self)
    }

    /// The guard if the mutex is free now, without waiting.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.lock.try_acquire().then(|| MutexGuard::new(self))
    }

    /// The guard if the mutex could be locked within `timeout`.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn lock_timeout(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        self.lock
            .acquire_until("Mutex", deadline_after(timeout))
            .then(|| MutexGuard::new(self))
    }

    /// True while a guard is alive.
    pub fn is_locked(&self) -> bool {
        self.lock.is_locked()
    }

    /// The data, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Access to a [`Mutex`]'s data; unlocks (handing the mutex to the oldest
/// waiter) when dropped.
#[must_use = "the mutex is unlocked as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// False only while a `Condition` wait has let go of the lock.
    held: bool,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    fn new(mutex: &'a Mutex<T>) -> Self {
        MutexGuard { mutex, held: true }
    }

    fn check_held(&self) {
        assert!(
            self.held,
            "MutexGuard used after a cancelled Condition wait gave the mutex up"
        );
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.check_held();
        // SAFETY: `held` means this guard holds the mutex's lock, and the
        // lock admits one guard at a time; the mutex is `!Sync`, so no other
        // thread can reach the data. Shared access for the borrow's length
        // is therefore exclusive to this guard.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.check_held();
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow
        // through the guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if self.held {
            self.mutex.lock.unlock();
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized> ConditionLock for Mutex<T> {
    type Guard<'a>
        = MutexGuard<'a, T>
    where
        T: 'a;

    fn lock_guard(&self, _: Token) -> MutexGuard<'_, T> {
        self.lock()
    }

    fn guard_owner(guard: &MutexGuard<'_, T>, _: Token) -> *const Self {
        guard.mutex
    }

    fn unlock_for_wait(guard: &mut MutexGuard<'_, T>, _: Token) -> usize {
        guard.held = false;
        guard.mutex.lock.unlock();
        0
    }

    fn relock_after_wait(guard: &mut MutexGuard<'_, T>, _saved: usize, _: Token) {
        guard.mutex.lock.acquire_until("Mutex", None);
        guard.held = true;
    }
}

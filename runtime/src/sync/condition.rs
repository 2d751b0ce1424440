//! `Condition`: wait for a notification while letting go of a lock.

use std::fmt;
use std::ptr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::wait_list::WaitList;
use super::{deadline_after, Lock};

mod sealed {
    /// Only this crate's locks can back a `Condition`.
    pub trait Sealed {}

    /// Proof that a `ConditionLock` method is called from this crate: it
    /// cannot be named, so the hidden methods cannot be called elsewhere.
    #[derive(Debug, Clone, Copy)]
    pub struct Token;
}

pub(crate) use sealed::Token;

/// A lock a [`Condition`] can wait on: [`Lock`], [`RLock`](super::RLock)
/// or [`Mutex<T>`](super::Mutex). Sealed.
pub trait ConditionLock: sealed::Sealed {
    /// The guard that proves the lock is held, which `wait` and `notify` take.
    type Guard<'a>
    where
        Self: 'a;

    #[doc(hidden)]
    fn lock_guard(&self, _: Token) -> Self::Guard<'_>;

    #[doc(hidden)]
    fn guard_owner(guard: &Self::Guard<'_>, _: Token) -> *const Self;

    /// Lets go of the lock completely (an `RLock` whatever its count) and
    /// marks the guard as not holding it; returns what to restore.
    #[doc(hidden)]
    fn unlock_for_wait(guard: &mut Self::Guard<'_>, _: Token) -> usize;

    /// Takes the lock back (parking if needed) and restores what
    /// `unlock_for_wait` saved.
    #[doc(hidden)]
    fn relock_after_wait(guard: &mut Self::Guard<'_>, saved: usize, _: Token);
}

impl sealed::Sealed for Lock {}
impl sealed::Sealed for super::RLock {}
impl<T: ?Sized> sealed::Sealed for super::Mutex<T> {}

/// A green condition variable, like Python's `threading.Condition`.
///
/// `Condition::new()` owns its own [`Lock`]; [`with_lock`](Condition::with_lock)
/// shares a [`Lock`], an [`RLock`](super::RLock) or a [`Mutex<T>`](super::Mutex)
/// (several conditions can share one lock, like a queue's "not empty" and
/// "not full"). Waiting and notifying take the lock's guard, so doing either
/// without holding the lock does not compile.
///
/// [`wait`](Condition::wait) lets go of the lock, parks until notified, and
/// takes the lock back before it returns (an `RLock` gets back its full
/// recursion count). Waiters are woken first come, first served:
/// [`notify(n)`](Condition::notify) wakes the `n` oldest, and
/// [`notify_all`](Condition::notify_all) wakes all of them in arrival order
/// ([rule 5](crate#scheduling-rules)). Notifying never switches tasks ([rule 4](crate#scheduling-rules)): the woken waiters run
/// after the notifier's next suspension point, and each one then queues for
/// the lock in wake order. A notification is never lost to a waiter that
/// timed out or was cancelled at the same moment: it goes to the next one.
///
/// Waits are interruptible by cancellation. A cancelled waiter unwinds
/// without the lock: its guard no longer holds it, so dropping the guard
/// releases nothing.
///
/// `!Send`, like every green primitive:
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::Condition>();
/// ```
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use weft::sync::Condition;
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let cond = Rc::new(Condition::new());
///     let ready = Rc::new(Cell::new(false));
///     let (c, r) = (cond.clone(), ready.clone());
///     let consumer = weft::spawn(move || {
///         let mut guard = c.lock();
///         c.wait_for(&mut guard, |_| r.get());
///         "consumed"
///     });
///     weft::yield_now(); // the consumer parks in wait_for
///     let guard = cond.lock();
///     ready.set(true);
///     cond.notify(&guard, 1);
///     drop(guard);
///     assert_eq!(consumer.join().unwrap(), "consumed");
/// }).unwrap();
/// ```
pub struct Condition<L: ConditionLock = Lock> {
    /// The lock waits let go of and take back.
    lock: Rc<L>,
    /// Tasks parked in `wait`, oldest first.
    waiters: WaitList,
}

impl Condition<Lock> {
    /// A condition with its own [`Lock`].
    pub fn new() -> Self {
        Condition::with_lock(Rc::new(Lock::new()))
    }
}

impl Default for Condition<Lock> {
    fn default() -> Self {
        Condition::new()
    }
}

impl<L: ConditionLock> Condition<L> {
    /// A condition over a lock that may be shared with other conditions.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::rc::Rc;
    /// use weft::sync::{Condition, RLock};
    ///
    /// weft::Runtime::new().unwrap().block_on(|| {
    ///     let lock = Rc::new(RLock::new());
    ///     let not_empty = Condition::with_lock(lock.clone());
    ///     let not_full = Condition::with_lock(lock.clone());
    ///     let outer = lock.lock();
    ///     let mut inner = not_empty.lock(); // reentrant: count 2
    ///     assert!(!not_full.wait_timeout(&mut inner, std::time::Duration::from_millis(1)));
    ///     assert_eq!(lock.count(), 2); // the whole count came back
    ///     drop((inner, outer));
    /// }).unwrap();
    /// ```
    pub fn with_lock(lock: Rc<L>) -> Self {
        Condition {
            lock,
            waiters: WaitList::new(),
        }
    }

    /// The lock this condition waits with.
    pub fn as_lock(&self) -> &Rc<L> {
        &self.lock
    }

    /// Takes the condition's lock (Python's `with cv:`).
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn lock(&self) -> L::Guard<'_> {
        self.lock.lock_guard(Token)
    }

    /// Lets go of the lock, parks until notified, and takes the lock back.
    ///
    /// A wakeup means a notification, not that your condition holds: check
    /// it in a loop, or use [`wait_for`](Condition::wait_for).
    ///
    /// # Panics
    ///
    /// Panics if `guard` holds a different lock, or outside a green thread.
    #[inline]
    pub fn wait(&self, guard: &mut L::Guard<'_>) {
        self.wait_until(guard, None);
    }

    /// Like [`wait`](Condition::wait), giving up after `timeout`. Returns
    /// true if notified, false if the time ran out (the lock is held again
    /// either way).
    ///
    /// # Panics
    ///
    /// As for [`wait`](Condition::wait).
    pub fn wait_timeout(&self, guard: &mut L::Guard<'_>, timeout: Duration) -> bool {
        self.wait_until(guard, deadline_after(timeout))
    }

    /// Waits until `predicate` returns true (checked first, and after every
    /// wakeup, with the lock held).
    ///
    /// # Panics
    ///
    /// As for [`wait`](Condition::wait).
    pub fn wait_for<'a>(
        &self,
        guard: &mut L::Guard<'a>,
        mut predicate: impl FnMut(&mut L::Guard<'a>) -> bool,
    ) {
        while !predicate(guard) {
            self.wait(guard);
        }
    }

    /// Like [`wait_for`](Condition::wait_for), giving up once `timeout` has
    /// passed. Returns the predicate's last value.
    ///
    /// # Panics
    ///
    /// As for [`wait`](Condition::wait).
    pub fn wait_for_timeout<'a>(
        &self,
        guard: &mut L::Guard<'a>,
        timeout: Duration,
        mut predicate: impl FnMut(&mut L::Guard<'a>) -> bool,
    ) -> bool {
        let deadline = deadline_after(timeout);
        loop {
            if predicate(guard) {
                return true;
            }
            if !self.wait_until(guard, deadline) {
                return predicate(guard);
            }
        }
    }

    /// Wakes the `n` oldest waiters (fewer if fewer wait).
    ///
    /// # Panics
    ///
    /// Panics if `guard` holds a different lock.
    pub fn notify(&self, guard: &L::Guard<'_>, n: usize) {
        self.check(guard, "notify");
        self.waiters.notify(n);
    }

    /// Wakes every waiter, in arrival order.
    ///
    /// # Panics
    ///
    /// Panics if `guard` holds a different lock.
    pub fn notify_all(&self, guard: &L::Guard<'_>) {
        self.check(guard, "notify_all");
        self.waiters.notify_all();
    }

    #[inline(always)]
    fn wait_until(&self, guard: &mut L::Guard<'_>, deadline: Option<Instant>) -> bool {
        self.check(guard, "wait");
        let saved = L::unlock_for_wait(guard, Token);
        // A waiter that unwinds after being notified passes the notification on.
        let on_unwind = |notified, _| {
            if notified {
                self.waiters.notify(1);
            }
        };
        let waited = self.waiters.wait("Condition", deadline, None, on_unwind);
        L::relock_after_wait(guard, saved, Token);
        waited.notified
    }

    fn check(&self, guard: &L::Guard<'_>, api: &str) {
        assert!(
            ptr::eq(L::guard_owner(guard, Token), Rc::as_ptr(&self.lock)),
            "Condition::{api}: the guard holds a different lock than this condition's"
        );
    }
}

impl<L: ConditionLock> fmt::Debug for Condition<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiters", &self.waiters)
            .finish_non_exhaustive()
    }
}

//! `Event`: a sticky flag that green threads wait for.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use super::deadline_after;
use super::wait_list::WaitList;

/// A flag green threads can wait for, like Python's `threading.Event`.
///
/// [`set`](Event::set) raises the flag and wakes every waiter in arrival
/// order ([rule 5](crate#scheduling-rules)); it never switches tasks ([rule 4](crate#scheduling-rules)). The flag stays up
/// until [`clear`](Event::clear): waiting on a set event returns at once.
/// A waiter present at `set` is released even if the flag is cleared again
/// before it runs; a task that starts waiting after the `clear` waits for
/// the next `set` (for repeated signalling, prefer a [`Condition`](super::Condition)).
///
/// Waits are interruptible by cancellation.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::Event>();
/// ```
///
/// # Examples
///
/// The seed's "determining that a thread has started":
///
/// ```
/// use std::rc::Rc;
/// use weft::sync::Event;
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let started = Rc::new(Event::new());
///     let s = started.clone();
///     weft::spawn(move || {
///         s.set();
///         // ... the countdown runs on ...
///     });
///     started.wait();
///     assert!(started.is_set());
/// }).unwrap();
/// ```
pub struct Event {
    /// The flag.
    flag: Cell<bool>,
    /// Tasks parked in `wait`, oldest first.
    waiters: WaitList,
}

impl Event {
    /// A new event with the flag down.
    pub const fn new() -> Event {
        Event {
            flag: Cell::new(false),
            waiters: WaitList::new(),
        }
    }

    /// Raises the flag and wakes every waiter, oldest first.
    pub fn set(&self) {
        self.flag.set(true);
        self.waiters.notify_all();
    }

    /// Lowers the flag.
    pub fn clear(&self) {
        self.flag.set(false);
    }

    /// True while the flag is up.
    pub fn is_set(&self) -> bool {
        self.flag.get()
    }

    /// Parks until the flag is set (returns at once if it is).
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    #[inline]
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Parks until the flag is set or `timeout` passes. Returns true if it
    /// was set (or woken by a `set`), false on timeout.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(deadline_after(timeout))
    }

    #[inline(always)]
    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        if self.flag.get() {
            return true;
        }
        self.waiters
            .wait("Event", deadline, None, |_, _| ())
            .notified
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.flag.get())
            .field("waiters", &self.waiters)
            .finish()
    }
}

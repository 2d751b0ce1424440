//! Deadlock avoidance by lock ordering (seed 003's `acquire(*locks)`).

use std::cell::RefCell;
use std::error::Error;
use std::fmt;

use super::Lock;

crate::task_local! {
    /// Ids of the locks this task took through `acquire_ordered`, ascending.
    static HELD: RefCell<Vec<u64>> = RefCell::new(Vec::new());
}

/// Takes several locks in one global order, so tasks that need overlapping
/// sets of locks cannot deadlock on each other.
///
/// Every [`Lock`] has a stable id (its creation order); the locks are taken
/// in ascending id order whatever order they are passed in. Each task keeps
/// a task-local list of the locks it holds this way, and refuses to take a
/// lock whose id is not above every lock it already holds: taking locks out
/// of order could deadlock, so it is reported at once instead. The list is
/// per task (a `thread_local!` would be shared by every green thread on the
/// runtime's thread and raise false violations). The scheme only works if
/// all locking of these locks goes through this function.
///
/// The guard releases the locks, newest first, when dropped. Taking each
/// lock may park (FIFO, handed over like [`Lock::lock`]).
///
/// # Errors
///
/// [`LockOrderViolation`] (`Lock Order Violation`) if the calling task
/// already holds, through `acquire_ordered`, a lock whose id is not below
/// all of `locks` (or if `locks` names one lock twice). Nothing is taken.
///
/// # Panics
///
/// Panics outside a green thread.
///
/// # Examples
///
/// ```
/// use weft::sync::{acquire_ordered, Lock};
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let (x, y) = (Lock::new(), Lock::new());
///     {
///         let _both = acquire_ordered(&[&y, &x]).unwrap(); // takes x, then y
///         assert!(x.is_locked() && y.is_locked());
///     }
///     let _y = acquire_ordered(&[&y]).unwrap();
///     let err = acquire_ordered(&[&x]).unwrap_err(); // x sorts before y
///     assert_eq!(err.to_string(), "Lock Order Violation");
/// }).unwrap();
/// ```
pub fn acquire_ordered<'a>(locks: &[&'a Lock]) -> Result<OrderedGuard<'a>, LockOrderViolation> {
    let mut sorted = locks.to_vec();
    sorted.sort_by_key(|lock| lock.id());
    let repeated = sorted.windows(2).any(|w| w[0].id() == w[1].id());
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        let out_of_order = match (held.last(), sorted.first()) {
            (Some(&top), Some(first)) => top >= first.id(),
            _ => false,
        };
        if out_of_order || repeated {
            return Err(LockOrderViolation);
        }
        held.extend(sorted.iter().map(|lock| lock.id()));
        Ok(())
    })?;
    let mut guard = OrderedGuard {
        taken: Vec::with_capacity(sorted.len()),
        ids: sorted.iter().map(|lock| lock.id()).collect(),
    };
    for lock in sorted {
        lock.acquire();
        guard.taken.push(lock);
    }
    Ok(guard)
}

/// The locks taken by [`acquire_ordered`]; released, newest first, on drop.
#[must_use = "the locks are released as soon as the guard is dropped"]
pub struct OrderedGuard<'a> {
    /// Locks taken so far, in ascending id order.
    taken: Vec<&'a Lock>,
    /// The ids this guard added to the task's held list.
    ids: Vec<u64>,
}

impl Drop for OrderedGuard<'_> {
    fn drop(&mut self) {
        for lock in self.taken.iter().rev() {
            lock.unlock();
        }
        HELD.with(|held| held.borrow_mut().retain(|id| !self.ids.contains(id)));
    }
}

impl fmt::Debug for OrderedGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderedGuard")
            .field("lock_ids", &self.ids)
            .finish()
    }
}

/// [`acquire_ordered`] was asked to take a lock out of the global order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockOrderViolation;

impl fmt::Display for LockOrderViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Lock Order Violation")
    }
}

impl Error for LockOrderViolation {}

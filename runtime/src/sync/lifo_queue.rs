//! `LifoQueue<T>`: a last-in, first-out queue for green threads.

use std::fmt;
use std::time::Duration;

use super::channel::{Channel, Names};
use super::deadline_after;
use super::queue_error::{
    GetError, GetTimeoutError, PutError, PutTimeoutError, TaskDoneError, TryGetError, TryPutError,
};

const NAMES: Names = Names {
    get: "LifoQueue::get",
    put: "LifoQueue::put",
    join: "LifoQueue::join",
};

/// A last-in, first-out queue between green threads (a stack), like
/// Python's `queue.LifoQueue`.
///
/// Everything but the order is as for [`Queue`](super::Queue): bounded or
/// not, FIFO service of parked getters and putters, `task_done`/`join`,
/// `close`, and errors that give the item back.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::LifoQueue<u32>>();
/// ```
///
/// # Examples
///
/// ```
/// use weft::sync::LifoQueue;
///
/// let q = LifoQueue::new(0);
/// for i in 1..=3 {
///     q.try_put(i).unwrap();
/// }
/// let order: Vec<_> = std::iter::from_fn(|| q.try_get().ok()).collect();
/// assert_eq!(order, [3, 2, 1]);
/// ```
pub struct LifoQueue<T> {
    inner: Channel<T, Vec<T>>,
}

impl<T> LifoQueue<T> {
    /// A queue holding at most `maxsize` items (0: no limit).
    pub const fn new(maxsize: usize) -> Self {
        LifoQueue {
            inner: Channel::new(Vec::new(), maxsize, NAMES),
        }
    }

    /// Adds `item` on top, parking while the queue is full.
    ///
    /// # Errors
    ///
    /// [`PutError`] with the item if the queue is (or gets) closed.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.inner
            .put_until(item, None)
            .map_err(|e| PutError(e.into_inner()))
    }

    /// Adds `item` if there is room now (Python's `put_nowait`).
    ///
    /// # Errors
    ///
    /// [`TryPutError::Full`] or [`TryPutError::Closed`], with the item.
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.inner.try_put(item)
    }

    /// Adds `item`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`PutTimeoutError::Timeout`] or [`PutTimeoutError::Closed`], with the item.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutTimeoutError<T>> {
        self.inner.put_until(item, deadline_after(timeout))
    }

    /// Takes the top item, parking while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`GetError`] once the queue is closed and drained.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn get(&self) -> Result<T, GetError> {
        self.inner.get_until(None).map_err(|_| GetError)
    }

    /// Takes the top item if there is one (Python's `get_nowait`).
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`], or [`TryGetError::Closed`] once closed and drained.
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.inner.try_get()
    }

    /// Takes the top item, waiting at most `timeout` for one.
    ///
    /// # Errors
    ///
    /// [`GetTimeoutError::Timeout`], or [`GetTimeoutError::Closed`] once
    /// closed and drained.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetTimeoutError> {
        self.inner.get_until(deadline_after(timeout))
    }

    /// Marks one item taken from the queue as processed; when every item put
    /// so far is processed, [`join`](LifoQueue::join)ers wake.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] (`task_done() called too many times`) when no item
    /// is unfinished; nothing changes.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        self.inner.task_done()
    }

    /// Parks until every item put so far has been marked with
    /// [`task_done`](LifoQueue::task_done); returns at once if none is unfinished.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn join(&self) {
        self.inner.join();
    }

    /// Items put and not yet marked done.
    pub fn unfinished(&self) -> usize {
        self.inner.unfinished()
    }

    /// Items waiting in the queue.
    pub fn qsize(&self) -> usize {
        self.inner.qsize()
    }

    /// True when no item waits in the queue.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// True when the queue is at its `maxsize` (never for an unbounded one).
    pub fn full(&self) -> bool {
        self.inner.full()
    }

    /// The bound given to [`new`](LifoQueue::new) (0: none).
    pub fn maxsize(&self) -> usize {
        self.inner.maxsize()
    }

    /// Closes the queue: puts fail from now on (parked putters get their
    /// items back), and gets fail once the items already queued are taken.
    pub fn close(&self) {
        self.inner.close();
    }

    /// True once [`close`](LifoQueue::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

impl<T> Default for LifoQueue<T> {
    /// An unbounded queue.
    fn default() -> Self {
        LifoQueue::new(0)
    }
}

impl<T> fmt::Debug for LifoQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

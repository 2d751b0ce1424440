//! `Queue<T>`: the seed's FIFO queue for green threads.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use super::channel::{Channel, Names};
use super::deadline_after;
use super::queue_error::{
    GetError, GetTimeoutError, PutError, PutTimeoutError, TaskDoneError, TryGetError, TryPutError,
};

const NAMES: Names = Names {
    get: "Queue::get",
    put: "Queue::put",
    join: "Queue::join",
};

/// A FIFO queue between green threads, like Python's `queue.Queue`.
///
/// `maxsize` bounds it (0 means unbounded). [`get`](Queue::get) parks while
/// it is empty and [`put`](Queue::put) while it is full; neither suspends
/// when it does not have to (rule G6). Parked getters and putters are served
/// first come, first served: an item put while getters wait goes straight to
/// the oldest one, and a slot freed in a full queue goes to the oldest
/// parked putter (rules G5, G7). Waking never switches tasks (rule G4).
///
/// [`task_done`](Queue::task_done) and [`join`](Queue::join) track work as in
/// Python. [`close`](Queue::close) ends the stream: puts fail, giving the
/// item back, and gets fail once the queue is drained; use it (or an enum
/// message) instead of a sentinel value.
///
/// [`qsize`](Queue::qsize), [`empty`](Queue::empty) and [`full`](Queue::full)
/// are exact, not Python's "approximate": only green threads of this runtime
/// touch the queue. An item handed straight to a parked getter is never
/// counted in `qsize`. Items are moved, not shared.
///
/// Waits are interruptible by cancellation. A cancelled getter that had an
/// item handed to it gives it back (to the next getter, or the front of the
/// queue), so no item is lost.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::Queue<u32>>();
/// ```
///
/// # Examples
///
/// A producer and a consumer (seed 001):
///
/// ```
/// use std::rc::Rc;
/// use weft::sync::Queue;
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let q = Rc::new(Queue::new(2));
///     let consumer = {
///         let q = q.clone();
///         weft::spawn(move || {
///             let mut got = Vec::new();
///             while let Ok(item) = q.get() {
///                 got.push(item);
///                 q.task_done().unwrap();
///             }
///             got
///         })
///     };
///     for i in 0..5 {
///         q.put(i).unwrap(); // parks while 2 items wait
///     }
///     q.join(); // every item was marked done
///     q.close();
///     assert_eq!(consumer.join().unwrap(), [0, 1, 2, 3, 4]);
/// }).unwrap();
/// ```
pub struct Queue<T> {
    inner: Channel<T, VecDeque<T>>,
}

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items (0: no limit).
    pub const fn new(maxsize: usize) -> Self {
        Queue {
            inner: Channel::new(VecDeque::new(), maxsize, NAMES),
        }
    }

    /// Adds `item` at the back, parking while the queue is full.
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

    /// Takes the front item, parking while the queue is empty.
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

    /// Takes the front item if there is one (Python's `get_nowait`).
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`], or [`TryGetError::Closed`] once closed and drained.
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.inner.try_get()
    }

    /// Takes the front item, waiting at most `timeout` for one.
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
    /// so far is processed, [`join`](Queue::join)ers wake.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] (`task_done() called too many times`) when no item
    /// is unfinished; nothing changes.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        self.inner.task_done()
    }

    /// Parks until every item put so far has been marked with
    /// [`task_done`](Queue::task_done); returns at once if none is unfinished.
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

    /// The bound given to [`new`](Queue::new) (0: none).
    pub fn maxsize(&self) -> usize {
        self.inner.maxsize()
    }

    /// Closes the queue: puts fail from now on (parked putters get their
    /// items back), and gets fail once the items already queued are taken.
    pub fn close(&self) {
        self.inner.close();
    }

    /// True once [`close`](Queue::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

impl<T> Default for Queue<T> {
    /// An unbounded queue.
    fn default() -> Self {
        Queue::new(0)
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

//! `PriorityQueue<T>`: highest item first, FIFO among equals.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::time::Duration;

use super::channel::{Channel, Names, Order};
use super::deadline_after;
use super::queue_error::{
    GetError, GetTimeoutError, PutError, PutTimeoutError, TaskDoneError, TryGetError, TryPutError,
};

const NAMES: Names = Names {
    get: "PriorityQueue::get",
    put: "PriorityQueue::put",
    join: "PriorityQueue::join",
};

/// A priority queue between green threads: [`get`](PriorityQueue::get)
/// returns the greatest item first (like `std::collections::BinaryHeap`),
/// and items that compare equal come out in the order they were put.
///
/// Seed 003's `PriorityQueue.push(item, priority)` is `put((priority, item))`
/// here; to keep equal priorities first-in, first-out whatever the items,
/// give the item type an `Ord` that compares the priority only. Python's
/// `queue.PriorityQueue` returns the *lowest* first: wrap the priority in
/// `std::cmp::Reverse` for that.
///
/// Everything but the order is as for [`Queue`](super::Queue): bounded or
/// not, FIFO service of parked getters and putters, `task_done`/`join`,
/// `close`, and errors that give the item back.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::PriorityQueue<u32>>();
/// ```
///
/// # Examples
///
/// ```
/// use weft::sync::PriorityQueue;
///
/// let q = PriorityQueue::new(0);
/// q.try_put((1, "low")).unwrap();
/// q.try_put((5, "high")).unwrap();
/// q.try_put((3, "mid")).unwrap();
/// let order: Vec<_> = std::iter::from_fn(|| q.try_get().ok()).map(|(_, s)| s).collect();
/// assert_eq!(order, ["high", "mid", "low"]);
/// ```
pub struct PriorityQueue<T: Ord> {
    inner: Channel<T, Heap<T>>,
}

impl<T: Ord> PriorityQueue<T> {
    /// A queue holding at most `maxsize` items (0: no limit).
    pub const fn new(maxsize: usize) -> Self {
        PriorityQueue {
            inner: Channel::new(Heap::new(), maxsize, NAMES),
        }
    }

    /// Adds `item`, parking while the queue is full.
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

    /// Takes the greatest item, parking while the queue is empty.
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

    /// Takes the greatest item if there is one (Python's `get_nowait`).
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`], or [`TryGetError::Closed`] once closed and drained.
    pub fn try_get(&self) -> Result<T, TryGetError> {
        self.inner.try_get()
    }

    /// Takes the greatest item, waiting at most `timeout` for one.
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
    /// so far is processed, [`join`](PriorityQueue::join)ers wake.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] (`task_done() called too many times`) when no item
    /// is unfinished; nothing changes.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        self.inner.task_done()
    }

    /// Parks until every item put so far has been marked with
    /// [`task_done`](PriorityQueue::task_done); returns at once if none is unfinished.
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

    /// The bound given to [`new`](PriorityQueue::new) (0: none).
    pub fn maxsize(&self) -> usize {
        self.inner.maxsize()
    }

    /// Closes the queue: puts fail from now on (parked putters get their
    /// items back), and gets fail once the items already queued are taken.
    pub fn close(&self) {
        self.inner.close();
    }

    /// True once [`close`](PriorityQueue::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

impl<T: Ord> Default for PriorityQueue<T> {
    /// An unbounded queue.
    fn default() -> Self {
        PriorityQueue::new(0)
    }
}

impl<T: Ord> fmt::Debug for PriorityQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// A max-heap that breaks ties by arrival.
pub(crate) struct Heap<T> {
    heap: BinaryHeap<Entry<T>>,
    /// Arrival stamp for the next push (counts up).
    next: i64,
    /// Stamp for the next restored item (counts down, so it beats arrivals).
    front: i64,
}

impl<T> Heap<T> {
    const fn new() -> Self {
        Heap {
            heap: BinaryHeap::new(),
            next: 0,
            front: -1,
        }
    }
}

impl<T: Ord> Order<T> for Heap<T> {
    fn push(&mut self, item: T) {
        let stamp = self.next;
        self.next += 1;
        self.heap.push(Entry { item, stamp });
    }

    fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|e| e.item)
    }

    fn len(&self) -> usize {
        self.heap.len()
    }

    fn restore(&mut self, item: T) {
        let stamp = self.front;
        self.front -= 1;
        self.heap.push(Entry { item, stamp });
    }
}

/// An item and its arrival stamp: greater items first, then earlier stamps.
struct Entry<T> {
    item: T,
    stamp: i64,
}

impl<T: Ord> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.item
            .cmp(&other.item)
            .then_with(|| other.stamp.cmp(&self.stamp))
    }
}

impl<T: Ord> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T: Ord> Eq for Entry<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compares by priority only, so ties show the arrival order.
    #[derive(Debug, PartialEq, Eq)]
    struct Job(u8, &'static str);

    impl Ord for Job {
        fn cmp(&self, other: &Self) -> Ordering {
            self.0.cmp(&other.0)
        }
    }

    impl PartialOrd for Job {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }

    #[test]
    fn highest_first_fifo_among_equals_restored_first() {
        let mut h = Heap::new();
        for job in [Job(1, "a"), Job(2, "b"), Job(1, "c"), Job(2, "d")] {
            h.push(job);
        }
        let first = h.pop().unwrap();
        assert_eq!(first, Job(2, "b"));
        h.push(Job(2, "e"));
        h.restore(first);
        let names: Vec<_> = std::iter::from_fn(|| h.pop()).map(|j| j.1).collect();
        assert_eq!(names, ["b", "d", "e", "a", "c"]);
    }
}

//! `PriorityQueue<T>`: highest item first, FIFO among equals.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::api::queue_api;
use super::engine::{Order, QueueEngine};

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
/// Everything but the order is as for [`Queue`](crate::sync::Queue): bounded or
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
    inner: QueueEngine<T, Heap<T>>,
}

queue_api!(PriorityQueue<T: Ord>, Heap::new(), put "", get "greatest");

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

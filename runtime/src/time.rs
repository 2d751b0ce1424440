//! Timers: a binary heap of deadlines whose entries can be removed by key.
//!
//! Entries are ordered by `(deadline, registration sequence)` ([rule 8](crate#scheduling-rules): ties
//! go to the earliest registration). A task that parks with a deadline owns a
//! timer; when something else wakes it first, the timer is removed at once,
//! so the heap holds exactly the live deadlines and never grows with stale
//! ones. After warm-up the slab and heap reuse their storage: no allocation.

use std::time::{Duration, Instant};

use slab::Slab;

use crate::park::{self, Reason, Unparker};

/// A timer's key in the heap, handed back to remove it.
pub(crate) type TimerKey = usize;

#[derive(Debug)]
struct Entry {
    /// When it fires.
    deadline: Instant,
    /// Registration order, the tie-breaker among equal deadlines.
    seq: u64,
    /// The parked task it wakes.
    unparker: Unparker,
    /// Where this entry sits in `TimerHeap::heap`, kept up to date on swaps.
    pos: usize,
}

/// The runtime's timers.
#[derive(Debug, Default)]
pub(crate) struct TimerHeap {
    /// Entry storage, addressed by `TimerKey`.
    entries: Slab<Entry>,
    /// A min-heap of keys into `entries`.
    heap: Vec<TimerKey>,
    /// The next registration sequence number.
    next_seq: u64,
}

impl TimerHeap {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The earliest deadline, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.first().map(|&k| self.entries[k].deadline)
    }

    /// When the timer `key` fires, if it is still set.
    pub(crate) fn deadline_of(&self, key: TimerKey) -> Option<Instant> {
        self.entries.get(key).map(|e| e.deadline)
    }

    pub(crate) fn insert(&mut self, deadline: Instant, unparker: Unparker) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let pos = self.heap.len();
        let key = self.entries.insert(Entry {
            deadline,
            seq,
            unparker,
            pos,
        });
        self.heap.push(key);
        self.sift_up(pos);
        key
    }

    pub(crate) fn remove(&mut self, key: TimerKey) {
        let pos = self.entries.remove(key).pos;
        let last = self.heap.pop().expect("timer heap holds the removed entry");
        if pos < self.heap.len() {
            self.heap[pos] = last;
            self.entries[last].pos = pos;
            self.sift_down(pos);
            self.sift_up(pos);
        }
    }

    /// Removes and returns the earliest timer if its deadline is at or before `now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Unparker> {
        let &key = self.heap.first()?;
        if self.entries[key].deadline > now {
            return None;
        }
        let unparker = self.entries[key].unparker;
        self.remove(key);
        Some(unparker)
    }

    fn less(&self, a: TimerKey, b: TimerKey) -> bool {
        let (a, b) = (&self.entries[a], &self.entries[b]);
        (a.deadline, a.seq) < (b.deadline, b.seq)
    }

    fn sift_up(&mut self, mut pos: usize) {
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if !self.less(self.heap[pos], self.heap[parent]) {
                break;
            }
            self.swap(pos, parent);
            pos = parent;
        }
    }

    fn sift_down(&mut self, mut pos: usize) {
        loop {
            let (l, r) = (2 * pos + 1, 2 * pos + 2);
            let mut min = pos;
            if l < self.heap.len() && self.less(self.heap[l], self.heap[min]) {
                min = l;
            }
            if r < self.heap.len() && self.less(self.heap[r], self.heap[min]) {
                min = r;
            }
            if min == pos {
                break;
            }
            self.swap(pos, min);
            pos = min;
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        let (ka, kb) = (self.heap[a], self.heap[b]);
        self.entries[ka].pos = a;
        self.entries[kb].pos = b;
    }
}

/// Puts the current green thread to sleep for at least `duration`.
///
/// Other green threads run meanwhile; the OS thread blocks in the poller only
/// when nothing else is ready. A zero duration still yields once.
///
/// # Panics
///
/// Panics when called outside a green thread.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let start = Instant::now();
///     weft::sleep(Duration::from_millis(10));
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// }).unwrap();
/// ```
#[inline]
pub fn sleep(duration: Duration) {
    match Instant::now().checked_add(duration) {
        Some(deadline) => sleep_until(deadline),
        None => loop {
            park::park(Reason::Sleep);
        },
    }
}

/// Puts the current green thread to sleep until `deadline`.
///
/// A deadline in the past yields once and returns.
///
/// # Panics
///
/// Panics when called outside a green thread.
#[inline]
pub fn sleep_until(deadline: Instant) {
    if deadline <= Instant::now() {
        crate::yield_now();
        return;
    }
    // A stray unpark does not end a sleep; an interrupt does.
    while park::park_until(Reason::Sleep, deadline) == park::Wake::Unparked {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskId;

    fn u(n: u32) -> Unparker {
        Unparker::new(TaskId::from_parts(n, 0), 0)
    }

    #[test]
    fn fires_in_deadline_then_registration_order() {
        let mut h = TimerHeap::default();
        let t0 = Instant::now();
        let late = t0 + Duration::from_secs(2);
        let early = t0 + Duration::from_secs(1);
        h.insert(late, u(1));
        h.insert(early, u(2));
        h.insert(early, u(3));
        let gone = h.insert(early, u(4));
        h.remove(gone);
        let order: Vec<_> = std::iter::from_fn(|| h.pop_expired(late))
            .map(|u| u.task().index())
            .collect();
        assert_eq!(order, [2, 3, 1]);
        assert!(h.is_empty());
    }

    #[test]
    fn not_yet_expired_stays() {
        let mut h = TimerHeap::default();
        let t0 = Instant::now();
        h.insert(t0 + Duration::from_secs(5), u(1));
        assert!(h.pop_expired(t0).is_none());
        assert_eq!(h.len(), 1);
    }
}

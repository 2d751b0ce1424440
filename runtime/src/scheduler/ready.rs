//! The ready FIFO (rules 2–4): the tasks to resume, oldest first.
//!
//! The loop's queue holds each ready task's head (`fiber::Queued`), not its
//! id, so resuming a queued task needs no table lookup: its hot fields say
//! its id and state, and its coroutine lies next to them. Those handles
//! are only valid while their tasks live, and they do for as long as they
//! are queued: a task is queued when it is spawned, woken from a park or
//! yields, at most once (its state says which: `Ready`, or `Running` after
//! a yield), and it leaves the task table only when it ends, which it does
//! while it runs, after it was taken off the queue; shutdown empties the
//! queue before it drops the tasks that would not end.
//!
//! A ring whose capacity is a power of two, so the loop's push
//! and pop are an index, a mask and a store (`VecDeque`'s wrap-around
//! arithmetic cost about 14 instructions each way, twice per `yield_now`).
//! It only grows: a loop that once had 10,000 tasks ready keeps the room.
//!
//! The loop pushes and pops through `&self`: the ring sits in an
//! `UnsafeCell`, not a `RefCell`, whose borrow flag was four instructions
//! on each side of every `yield_now`. That is sound for the reason a
//! `RefCell` borrow here could never fail: the queue is `!Sync` (one
//! thread), and each method below is the whole of its access: it takes the
//! one reference to the ring, calls nothing that could reach the queue
//! again (no task code, no callback, no allocation hook of ours) and lets
//! no reference out. The only `unsafe` of the scheduler's queue is here,
//! with the two unchecked slot accesses of a power-of-two ring.

use std::cell::UnsafeCell;

/// A FIFO of `T`s (the scheduler's: `fiber::Queued`).
pub(super) struct ReadyQueue<T> {
    ring: UnsafeCell<Ring<T>>,
}

impl<T: Copy> ReadyQueue<T> {
    /// An empty queue; `empty` fills the slots that hold nothing (it is
    /// never popped).
    pub(super) fn new(empty: T) -> ReadyQueue<T> {
        ReadyQueue {
            ring: UnsafeCell::new(Ring::new(empty)),
        }
    }

    /// Runs `f` on the ring.
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut Ring<T>) -> R) -> R {
        // SAFETY: see the module's text: `ReadyQueue` is `!Sync`, and `f` is
        // one of the `Ring` methods below, which neither reach this queue
        // again nor keep the reference, so it is the only one while it lives.
        f(unsafe { &mut *self.ring.get() })
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.with(|r| r.len)
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.with(|r| r.len == 0)
    }

    /// Queues `task` at the tail.
    #[inline]
    pub(super) fn push_back(&self, task: T) {
        self.with(|r| r.push_back(task));
    }

    /// Takes the oldest task.
    #[inline]
    pub(super) fn pop_front(&self) -> Option<T> {
        self.with(Ring::pop_front)
    }

    /// The oldest task, left in place.
    #[inline]
    pub(super) fn front(&self) -> Option<T> {
        self.with(|r| {
            // SAFETY: as in `Ring::pop_front`: `head` is below `slots.len()`.
            (r.len != 0).then(|| *unsafe { r.slots.get_unchecked(r.head) })
        })
    }

    pub(super) fn clear(&self) {
        self.with(|r| {
            r.head = 0;
            r.len = 0;
        });
    }
}

struct Ring<T> {
    /// `slots.len()` is a power of two.
    slots: Box<[T]>,
    /// Where the oldest task sits.
    head: usize,
    len: usize,
    /// What slots that hold no task are filled with.
    empty: T,
}

impl<T: Copy> Ring<T> {
    fn new(empty: T) -> Ring<T> {
        Ring {
            slots: vec![empty; 64].into_boxed_slice(),
            head: 0,
            len: 0,
            empty,
        }
    }

    #[inline]
    fn push_back(&mut self, task: T) {
        if self.len == self.slots.len() {
            self.grow();
        }
        let at = (self.head + self.len) & (self.slots.len() - 1);
        // SAFETY: `slots.len()` is a power of two (64, doubled by `grow`),
        // so masking with `len - 1` gives an index below `len`.
        *unsafe { self.slots.get_unchecked_mut(at) } = task;
        self.len += 1;
    }

    #[inline]
    fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        // SAFETY: `head` is always masked with `slots.len() - 1` (and reset
        // to 0 by `grow`), a power of two less one: it is below `len`.
        let task = *unsafe { self.slots.get_unchecked(self.head) };
        self.head = (self.head + 1) & (self.slots.len() - 1);
        self.len -= 1;
        Some(task)
    }

    /// Doubles the ring, the oldest task first in the new one.
    #[cold]
    fn grow(&mut self) {
        let old = self.slots.len();
        let mut slots = vec![self.empty; old * 2].into_boxed_slice();
        for (i, slot) in slots.iter_mut().take(self.len).enumerate() {
            *slot = self.slots[(self.head + i) & (old - 1)];
        }
        self.slots = slots;
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskId;

    #[test]
    fn fifo_across_wrap_and_growth() {
        let q = ReadyQueue::new(TaskId::from_parts(u32::MAX, 0));
        let id = |i: u32| TaskId::from_parts(i, i + 1);
        let mut next_in = 0;
        let mut next_out = 0;
        // Wrap the ring several times, then grow it while wrapped.
        for round in 0..10 {
            for _ in 0..(40 + round * 20) {
                q.push_back(id(next_in));
                next_in += 1;
            }
            for _ in 0..30 {
                assert_eq!(q.pop_front(), Some(id(next_out)));
                next_out += 1;
            }
        }
        assert_eq!(q.len(), (next_in - next_out) as usize);
        while let Some(got) = q.pop_front() {
            assert_eq!(got, id(next_out));
            next_out += 1;
        }
        assert_eq!(next_out, next_in);
        assert!(q.is_empty());
        assert_eq!(q.pop_front(), None);
    }
}

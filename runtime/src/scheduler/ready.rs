//! The ready FIFO (rules 2–4): the tasks to resume, oldest first.
//!
//! A ring of task ids whose capacity is a power of two, so the loop's push
//! and pop are an index, a mask and a store (`VecDeque`'s wrap-around
//! arithmetic cost about 14 instructions each way, twice per `yield_now`).
//! It only grows: a loop that once had 10,000 tasks ready keeps the room.

use crate::task::TaskId;

/// What the slots of an empty ring hold; never read as a task.
const EMPTY: TaskId = TaskId::from_parts(u32::MAX, 0);

pub(super) struct ReadyQueue {
    /// `slots.len()` is a power of two.
    slots: Box<[TaskId]>,
    /// Where the oldest task sits.
    head: usize,
    len: usize,
}

impl ReadyQueue {
    pub(super) fn new() -> ReadyQueue {
        ReadyQueue {
            slots: vec![EMPTY; 64].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues `id` at the tail.
    #[inline]
    pub(super) fn push_back(&mut self, id: TaskId) {
        if self.len == self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        self.slots[(self.head + self.len) & mask] = id;
        self.len += 1;
    }

    /// Takes the oldest task.
    #[inline]
    pub(super) fn pop_front(&mut self) -> Option<TaskId> {
        if self.len == 0 {
            return None;
        }
        let id = self.slots[self.head];
        self.head = (self.head + 1) & (self.slots.len() - 1);
        self.len -= 1;
        Some(id)
    }

    pub(super) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Doubles the ring, the oldest task first in the new one.
    #[cold]
    fn grow(&mut self) {
        let old = self.slots.len();
        let mut slots = vec![EMPTY; old * 2].into_boxed_slice();
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

    #[test]
    fn fifo_across_wrap_and_growth() {
        let mut q = ReadyQueue::new();
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

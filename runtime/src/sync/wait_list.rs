//! The FIFO wait list every green primitive parks on.
//!
//! Waiters are kept in a slab threaded into a doubly linked list, so pushing,
//! popping the oldest and unlinking a waiter that gave up are all O(1) and,
//! once the slab has grown to the largest number of simultaneous waiters, no
//! wait allocates.
//!
//! A waiter owns its slot for the whole wait: the waker only unlinks it and
//! marks it, and the waiter frees it when it resumes (or unwinds). So the
//! waiter always learns, exactly once, whether it was notified, and a value
//! can travel through the slot in either direction (an item handed to a
//! parked `get`, or an item a parked `put` offers).

use std::cell::RefCell;
use std::fmt;
use std::time::Instant;

use slab::Slab;

use crate::context;
use crate::park::{self, Reason, Unparker};
use crate::scheduler::Core;

/// Marks the end of the linked list.
const NIL: usize = usize::MAX;

/// Where a slot is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// Linked into the list, waiting.
    Queued,
    /// Unlinked by a waker whose unpark reached it: it got what it waited for.
    Notified,
    /// Unlinked by a waker whose unpark found the park already over (timed
    /// out or cancelled): it got nothing.
    Skipped,
}

/// One parked waiter.
struct Slot<T> {
    /// Wakes this waiter's park (stale once that park ended).
    unparker: Unparker,
    /// Neighbours in the list while `Queued` (`NIL` at the ends).
    prev: usize,
    next: usize,
    mark: Mark,
    /// A value passed between waker and waiter (see the module docs).
    value: Option<T>,
}

/// The list proper, kept behind one `RefCell` that is never borrowed across
/// a park or a user callback.
struct Inner<T> {
    slots: Slab<Slot<T>>,
    /// Oldest queued waiter.
    head: usize,
    /// Newest queued waiter.
    tail: usize,
    /// Queued waiters (stale ones included until a waker skips them).
    queued: usize,
}

/// What a finished wait learned.
#[derive(Debug)]
pub(crate) struct Waited<T> {
    /// True when a waker chose this waiter; false when the deadline passed.
    pub(crate) notified: bool,
    /// The slot's value as the waiter left it.
    pub(crate) value: Option<T>,
}

/// A FIFO list of parked green threads ([rule 5](crate#scheduling-rules)).
pub(crate) struct WaitList<T = ()> {
    inner: RefCell<Inner<T>>,
}

impl<T> WaitList<T> {
    pub(crate) const fn new() -> Self {
        WaitList {
            inner: RefCell::new(Inner {
                slots: Slab::new(),
                head: NIL,
                tail: NIL,
                queued: 0,
            }),
        }
    }

    /// True when no waiter is queued (stale entries count until skipped).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.inner.borrow().queued == 0
    }

    /// Parks the calling green thread at the tail, as `Reason::Primitive(what)`,
    /// until a waker picks it or `deadline` passes. `value` rides in the slot; what the slot holds at
    /// the end comes back in [`Waited::value`].
    ///
    /// If the park unwinds (cancellation), the slot is freed and `on_unwind`
    /// gets whether this waiter had been notified and the slot's value, so
    /// the primitive can pass on whatever was handed to it.
    ///
    /// Inlined, with the park in the same frame: a task resumes where it
    /// parked, and every frame between that and the primitive's caller
    /// costs a mispredicted return there (and unbalances the return stack
    /// for the next switch).
    #[inline(always)]
    pub(crate) fn wait(
        &self,
        what: &'static str,
        deadline: Option<Instant>,
        value: Option<T>,
        on_unwind: impl FnOnce(bool, Option<T>),
    ) -> Waited<T> {
        if !context::in_green_thread() {
            context::outside_runtime(what);
        }
        // SAFETY: used for this wait only, not kept.
        let core = unsafe { context::current_core(what) };
        self.wait_in(core, what, deadline, value, on_unwind)
    }

    /// [`wait`](Self::wait), in green context, on `core`.
    #[inline(always)]
    fn wait_in(
        &self,
        core: &Core,
        what: &'static str,
        deadline: Option<Instant>,
        value: Option<T>,
        on_unwind: impl FnOnce(bool, Option<T>),
    ) -> Waited<T> {
        let mut value = value;
        let mut swallowed = false;
        let mut on_unwind = Some(on_unwind);
        loop {
            let key = self.push(core.current_unparker(), value);
            let mut guard = Leave {
                list: self,
                key,
                on_unwind: on_unwind.take(),
            };
            let wake = park::park_in(core, Reason::Primitive(what), deadline);
            on_unwind = guard.on_unwind.take();
            let waited = self.leave(key);
            // An untimed wait is uninterruptible: it queues again (at the
            // tail) and hands the interrupt on once it is over.
            if wake == park::Wake::Interrupted && deadline.is_none() && !waited.notified {
                swallowed = true;
                value = waited.value;
                continue;
            }
            if swallowed {
                core.keep_interrupt();
            }
            return waited;
        }
    }

    fn push(&self, unparker: Unparker, value: Option<T>) -> usize {
        let mut inner = self.inner.borrow_mut();
        let tail = inner.tail;
        let key = inner.slots.insert(Slot {
            unparker,
            prev: tail,
            next: NIL,
            mark: Mark::Queued,
            value,
        });
        match tail {
            NIL => inner.head = key,
            t => inner.slots[t].next = key,
        }
        inner.tail = key;
        inner.queued += 1;
        key
    }

    /// Frees the waiter's slot (unlinking it if no waker did).
    fn leave(&self, key: usize) -> Waited<T> {
        let mut inner = self.inner.borrow_mut();
        if inner.slots[key].mark == Mark::Queued {
            inner.unlink(key);
        }
        let slot = inner.slots.remove(key);
        Waited {
            notified: slot.mark == Mark::Notified,
            value: slot.value,
        }
    }

    /// Wakes the oldest waiter whose park is still going on, skipping stale
    /// ones, and lets `grant` see its unparker and slot value first. Returns
    /// false when no live waiter was queued.
    ///
    /// The woken task goes to the tail of the ready queue ([rule 4](crate#scheduling-rules)).
    pub(crate) fn notify_one(&self, grant: impl FnOnce(Unparker, &mut Option<T>)) -> bool {
        let mut inner = self.inner.borrow_mut();
        loop {
            let key = inner.head;
            if key == NIL {
                return false;
            }
            inner.unlink(key);
            let slot = &mut inner.slots[key];
            if slot.unparker.unpark() {
                slot.mark = Mark::Notified;
                grant(slot.unparker, &mut slot.value);
                return true;
            }
            slot.mark = Mark::Skipped;
        }
    }

    /// Wakes up to `n` waiters, oldest first; returns how many woke.
    pub(crate) fn notify(&self, n: usize) -> usize {
        let mut woken = 0;
        while woken < n && self.notify_one(|_, _| ()) {
            woken += 1;
        }
        woken
    }

    /// Wakes every waiter queued now, in arrival order; returns how many woke.
    pub(crate) fn notify_all(&self) -> usize {
        self.notify(usize::MAX)
    }
}

impl<T> Inner<T> {
    fn unlink(&mut self, key: usize) {
        let (prev, next) = (self.slots[key].prev, self.slots[key].next);
        match prev {
            NIL => self.head = next,
            p => self.slots[p].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.slots[n].prev = prev,
        }
        self.queued -= 1;
    }
}

impl<T> Default for WaitList<T> {
    fn default() -> Self {
        WaitList::new()
    }
}

impl<T> fmt::Debug for WaitList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.try_borrow() {
            Ok(inner) => f
                .debug_struct("WaitList")
                .field("queued", &inner.queued)
                .finish(),
            Err(_) => f.write_str("WaitList { .. }"),
        }
    }
}

/// Frees a waiter's slot if its park unwinds, and tells the primitive.
struct Leave<'a, T, F: FnOnce(bool, Option<T>)> {
    list: &'a WaitList<T>,
    key: usize,
    /// `Some` until the park returned normally.
    on_unwind: Option<F>,
}

impl<T, F: FnOnce(bool, Option<T>)> Drop for Leave<'_, T, F> {
    fn drop(&mut self) {
        if let Some(on_unwind) = self.on_unwind.take() {
            let Waited { notified, value } = self.list.leave(self.key);
            on_unwind(notified, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskId;

    fn list_keys(list: &WaitList<u32>) -> Vec<usize> {
        let inner = list.inner.borrow();
        let mut keys = Vec::new();
        let mut k = inner.head;
        while k != NIL {
            keys.push(k);
            k = inner.slots[k].next;
        }
        keys
    }

    #[test]
    fn push_unlink_keeps_fifo_links() {
        let list = WaitList::<u32>::new();
        let u = Unparker::new(TaskId::from_parts(0, 1), 0);
        let a = list.push(u, None);
        let b = list.push(u, None);
        let c = list.push(u, None);
        assert_eq!(list_keys(&list), [a, b, c]);
        list.leave(b);
        assert_eq!(list_keys(&list), [a, c]);
        list.leave(a);
        list.leave(c);
        assert!(list.is_empty());
        assert_eq!(list_keys(&list), []);
        // Freed slots are reused: no growth after warm-up.
        let d = list.push(u, Some(7));
        assert!(d <= c);
        assert_eq!(list.leave(d).value, Some(7));
    }

    #[test]
    fn notify_outside_a_runtime_skips_everyone() {
        let list = WaitList::<u32>::new();
        let key = list.push(Unparker::new(TaskId::from_parts(0, 1), 0), None);
        assert!(!list.notify_one(|_, _| unreachable!()));
        assert!(list.is_empty());
        assert!(!list.leave(key).notified);
    }
}

//! The reactor: one `mio::Poll`, and per registered source its readiness
//! flags and the green threads parked on each direction, any number of
//! them, woken oldest first, one per readiness.
//!
//! mio is edge-triggered, so every operation is try-then-park: attempt it,
//! and only on `WouldBlock` leave an `Unparker` in the source's slot and
//! park; after the wake, attempt it again. Readiness that arrives while
//! nobody waits is remembered in a flag, so the next attempt is made at once.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Poll, Token};

use super::waiters::{Records, Slot, WaiterKey, Waiters};
use crate::park::Unparker;

/// The token of the cross-thread waker (see `handle.rs`).
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

/// Which way an operation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// The runtime's poller and the waiters of its sources.
pub(crate) struct Reactor {
    /// The OS poller (epoll on Linux), edge-triggered.
    poll: RefCell<Poll>,
    /// Reused for every poll: no allocation per readiness event.
    events: RefCell<Events>,
    /// Each registered source's waiters and readiness, at the address that
    /// is its token (see `waiters.rs`).
    records: Records,
    /// Waiters after the first of a direction, oldest first (acceptor
    /// pools, several readers of one stream): rare, so kept out of the
    /// per-source record, and allocated only when first needed.
    more: RefCell<HashMap<(usize, Direction), VecDeque<Unparker>>>,
    /// Slots marked `shared`: while there are none, `hand_on` has nothing
    /// to look at, which keeps it off the hot path of one waiter a source.
    shared_slots: Cell<usize>,
    /// Live registrations: with none, polling can be skipped while tasks
    /// are ready.
    registrations: Cell<usize>,
}

impl Reactor {
    pub(crate) fn new(event_capacity: usize) -> io::Result<Self> {
        Ok(Reactor {
            poll: RefCell::new(Poll::new()?),
            events: RefCell::new(Events::with_capacity(event_capacity)),
            records: Records::default(),
            more: RefCell::new(HashMap::new()),
            shared_slots: Cell::new(0),
            registrations: Cell::new(0),
        })
    }

    pub(crate) fn registry(&self) -> io::Result<mio::Registry> {
        self.poll.borrow().registry().try_clone()
    }

    pub(crate) fn registrations(&self) -> usize {
        self.registrations.get()
    }

    /// Registers `source` for read and write readiness, with a new record.
    pub(crate) fn register(&self, source: &mut impl Source) -> io::Result<WaiterKey> {
        let key = self
            .records
            .register(self.poll.borrow().registry(), source)?;
        self.registrations.set(self.registrations.get() + 1);
        Ok(key)
    }

    /// Takes `source` out of the poller and forgets its waiters. Records
    /// deregistered during a dispatch stay until it ends, so a source
    /// registered meanwhile cannot take a token that has events left in the
    /// batch (a stale hang-up would mark it closed).
    pub(crate) fn deregister(&self, source: &mut impl Source, key: WaiterKey) -> io::Result<()> {
        let w = key.get();
        for dir in [Direction::Read, Direction::Write] {
            let slot = w.slot(dir);
            if slot.more.get() {
                self.more.borrow_mut().remove(&(w.token(), dir));
                slot.more.set(false);
            }
            if slot.shared.get() {
                slot.shared.set(false);
                self.shared_slots.set(self.shared_slots.get() - 1);
            }
        }
        self.registrations.set(self.registrations.get() - 1);
        self.records
            .deregister(self.poll.borrow().registry(), source, key)
    }

    /// Whether an operation in `dir` is worth trying before parking.
    #[inline]
    pub(crate) fn is_ready(&self, w: &Waiters, dir: Direction) -> bool {
        w.closed() || w.slot(dir).ready.get()
    }

    #[inline]
    pub(crate) fn set_ready(&self, w: &Waiters, dir: Direction, ready: bool) {
        w.slot(dir).ready.set(ready);
    }

    /// Queues `me` behind the waiters already on `dir` of `w`; a readiness
    /// event in that direction unparks the oldest one still parked.
    #[inline]
    pub(crate) fn arm(&self, w: &Waiters, dir: Direction, me: Unparker) {
        let slot = w.slot(dir);
        if slot.first.get().is_none() {
            slot.first.set(Some(me));
            return;
        }
        self.queue(w, dir, me, false);
    }

    /// Queues `me` ahead of every other waiter on `dir` of `w`: for a task
    /// that was woken, found nothing (`WouldBlock`) and waits again, so a
    /// spurious wake does not cost it its place.
    pub(crate) fn arm_first(&self, w: &Waiters, dir: Direction, me: Unparker) {
        self.queue(w, dir, me, true);
    }

    #[cold]
    fn queue(&self, w: &Waiters, dir: Direction, me: Unparker, front: bool) {
        let slot = w.slot(dir);
        let Some(first) = slot.first.get() else {
            slot.first.set(Some(me));
            return;
        };
        if first == me {
            return;
        }
        slot.more.set(true);
        if !slot.shared.get() {
            slot.shared.set(true);
            self.shared_slots.set(self.shared_slots.get() + 1);
        }
        let mut more = self.more.borrow_mut();
        let queue = more.entry((w.token(), dir)).or_default();
        if front {
            queue.push_front(first);
            slot.first.set(Some(me));
        } else {
            queue.push_back(me);
        }
    }

    /// Takes `me` back out of `dir`'s waiters. Returns `false` when it was
    /// no longer there: a readiness event (or a hand-on) took it.
    pub(crate) fn disarm(&self, w: &Waiters, dir: Direction, me: Unparker) -> bool {
        let slot = w.slot(dir);
        if slot.first.get() == Some(me) {
            slot.first.set(self.take_more(w, dir, slot));
            self.settle(slot);
            return true;
        }
        if !slot.more.get() {
            return false;
        }
        let mut more = self.more.borrow_mut();
        let Some(queue) = more.get_mut(&(w.token(), dir)) else {
            return false;
        };
        let Some(at) = queue.iter().position(|&u| u == me) else {
            return false;
        };
        queue.remove(at);
        if queue.is_empty() {
            more.remove(&(w.token(), dir));
            slot.more.set(false);
        }
        true
    }

    /// The oldest queued waiter behind `slot.first`, taken out of `more`.
    #[inline]
    fn take_more(&self, w: &Waiters, dir: Direction, slot: &Slot) -> Option<Unparker> {
        if !slot.more.get() {
            return None;
        }
        self.take_more_slow(w, dir, slot)
    }

    #[cold]
    fn take_more_slow(&self, w: &Waiters, dir: Direction, slot: &Slot) -> Option<Unparker> {
        let mut more = self.more.borrow_mut();
        let queue = more.get_mut(&(w.token(), dir))?;
        let next = queue.pop_front();
        if queue.is_empty() {
            more.remove(&(w.token(), dir));
            slot.more.set(false);
        }
        next
    }

    /// Takes the oldest waiter out of `dir` of `w`.
    #[inline]
    fn pop(&self, w: &Waiters, dir: Direction) -> Option<Unparker> {
        let slot = w.slot(dir);
        // Copied out, not `take`n: `first` is overwritten just below, and
        // a slot with no waiter (the usual writer) is left untouched.
        let first = slot.first.get()?;
        slot.first.set(self.take_more(w, dir, slot));
        self.settle(slot);
        Some(first)
    }

    /// Clears `shared` once the slot has no waiter left.
    #[inline]
    fn settle(&self, slot: &Slot) {
        if slot.shared.get() && slot.first.get().is_none() {
            slot.shared.set(false);
            self.shared_slots.set(self.shared_slots.get() - 1);
        }
    }

    /// Unparks the oldest waiter of `dir` that is still parked (skipping
    /// those whose park already ended: timed out, cancelled, woken by
    /// another source of a `select`).
    #[cold]
    fn wake_one(&self, w: &Waiters, dir: Direction, wake: &mut impl FnMut(Unparker) -> bool) {
        while let Some(u) = self.pop(w, dir) {
            if wake(u) {
                return;
            }
        }
    }

    /// Takes `me` out of `dir`'s waiters when its wait ends without using
    /// a readiness (timed out, interrupted, cancelled); if readiness had
    /// already picked it, hands that on to the next waiter.
    #[cold]
    pub(crate) fn leave(&self, w: &Waiters, dir: Direction, me: Unparker) {
        if !self.disarm(w, dir, me) {
            self.hand_on(w, dir);
        }
    }

    /// Called by a task that was woken for `dir` and is done with the
    /// readiness (its operation succeeded, failed, or it was cancelled):
    /// if the source may still be ready and others wait, the oldest of them
    /// is woken to try too. So a readiness edge is never swallowed by a
    /// waiter that did not drain the source.
    #[inline]
    pub(crate) fn hand_on(&self, w: &Waiters, dir: Direction) {
        if self.shared_slots.get() == 0 {
            return; // no source has had two waiters on a direction
        }
        self.hand_on_shared(w, dir);
    }

    #[cold]
    fn hand_on_shared(&self, w: &Waiters, dir: Direction) {
        let slot = w.slot(dir);
        if slot.first.get().is_some() && (slot.ready.get() || w.closed()) {
            self.wake_one(w, dir, &mut |u| u.unpark());
        }
    }

    /// Polls the OS once (for at most `timeout`; `None` blocks until an
    /// event), leaving the events for [`dispatch`](Self::dispatch). A signal
    /// that interrupts a bounded wait ends it with no events.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> io::Result<()> {
        let mut events = self.events.borrow_mut();
        loop {
            match self.poll.borrow_mut().poll(&mut events, timeout) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if timeout.is_none() {
                        continue;
                    }
                    events.clear();
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Hands, per direction the last [`poll`](Self::poll) found ready, the
    /// oldest waiter to `wake` (and the next, as long as `wake` says the
    /// park had already ended). `wake` may run the woken task before it
    /// returns: nothing here is borrowed across the call but the event
    /// batch, which only `poll` touches. Returns whether the cross-thread
    /// waker fired.
    ///
    /// With `ahead`, before each event's wake it gets the waiter the event
    /// after it will wake (its oldest reader, else its oldest writer), so
    /// the loop can prefetch that task while this one runs.
    #[inline]
    pub(crate) fn dispatch(
        &self,
        mut wake: impl FnMut(Unparker) -> bool,
        ahead: Option<impl FnMut(Unparker)>,
    ) -> bool {
        let events = self.events.borrow();
        let next = ahead.map(|mut ahead| {
            move |w: &Waiters| {
                if let Some(u) = w.read.first.get().or(w.write.first.get()) {
                    ahead(u);
                }
            }
        });
        self.records.dispatch(
            &events,
            |w, event| {
                let err = event.is_error();
                if err || event.is_read_closed() || event.is_write_closed() {
                    w.set_closed();
                }
                let reader = if event.is_readable() || event.is_read_closed() || err {
                    w.read.ready.set(true);
                    self.pop(w, Direction::Read)
                } else {
                    None
                };
                let writer = if event.is_writable() || event.is_write_closed() || err {
                    w.write.ready.set(true);
                    self.pop(w, Direction::Write)
                } else {
                    None
                };
                // A waiter whose park already ended passes the readiness on.
                if let Some(u) = reader {
                    if !wake(u) {
                        self.wake_one(w, Direction::Read, &mut wake);
                    }
                }
                if let Some(u) = writer {
                    if !wake(u) {
                        self.wake_one(w, Direction::Write, &mut wake);
                    }
                }
            },
            next,
        )
    }
}

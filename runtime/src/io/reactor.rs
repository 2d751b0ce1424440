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
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::park::Unparker;

/// The token of the cross-thread waker (see `handle.rs`).
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

/// Which way an operation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// One direction of one source: who waits on it, and whether an operation
/// might succeed.
#[derive(Debug)]
struct Slot {
    /// The oldest waiter. Nearly every source has at most one waiter per
    /// direction, so it lives here; later ones queue in `Reactor::more`.
    first: Option<Unparker>,
    /// Whether `Reactor::more` holds further waiters for this slot.
    more: bool,
    /// Whether a second waiter queued here since the slot was last empty:
    /// then a waiter done with a readiness may have to hand it on.
    shared: bool,
    /// Whether an operation might succeed: set by every readiness event,
    /// cleared when an operation hits `WouldBlock` (or a stream read drains
    /// the source). While it is clear, an operation parks at once instead
    /// of making a doomed syscall.
    ready: bool,
}

impl Default for Slot {
    fn default() -> Self {
        // Nothing is known of a new source: try before parking.
        Slot {
            first: None,
            more: false,
            shared: false,
            ready: true,
        }
    }
}

/// Who is parked on one registered source, per direction.
#[derive(Debug, Default)]
struct Waiters {
    read: Slot,
    write: Slot,
    /// The peer closed its side or the socket failed: operations never park
    /// again, whatever a drain hint said, so end of file and errors are
    /// always seen.
    closed: bool,
}

impl Waiters {
    fn slot(&mut self, dir: Direction) -> &mut Slot {
        match dir {
            Direction::Read => &mut self.read,
            Direction::Write => &mut self.write,
        }
    }
}

/// The runtime's poller and its waiter table.
pub(crate) struct Reactor {
    /// The OS poller (epoll on Linux), edge-triggered.
    poll: RefCell<Poll>,
    /// Reused for every poll: no allocation per readiness event.
    events: RefCell<Events>,
    /// Each registered source's waiters and readiness, indexed by token.
    waiters: RefCell<Slab<Waiters>>,
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
    /// Set while `dispatch` runs, which may resume tasks.
    dispatching: Cell<bool>,
    /// Tokens deregistered during a dispatch. Their records stay until it
    /// ends, so a source registered meanwhile cannot take a token that has
    /// events left in the batch (a stale hang-up would mark it closed).
    retired: RefCell<Vec<usize>>,
}

impl Reactor {
    pub(crate) fn new(event_capacity: usize) -> io::Result<Self> {
        Ok(Reactor {
            poll: RefCell::new(Poll::new()?),
            events: RefCell::new(Events::with_capacity(event_capacity)),
            waiters: RefCell::new(Slab::new()),
            more: RefCell::new(HashMap::new()),
            shared_slots: Cell::new(0),
            registrations: Cell::new(0),
            dispatching: Cell::new(false),
            retired: RefCell::new(Vec::new()),
        })
    }

    pub(crate) fn registry(&self) -> io::Result<mio::Registry> {
        self.poll.borrow().registry().try_clone()
    }

    pub(crate) fn registrations(&self) -> usize {
        self.registrations.get()
    }

    /// Registers `source` for read and write readiness under a new token.
    pub(crate) fn register(&self, source: &mut impl Source) -> io::Result<usize> {
        let token = self.waiters.borrow_mut().insert(Waiters::default());
        let registered = self.poll.borrow().registry().register(
            source,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        );
        if let Err(e) = registered {
            self.waiters.borrow_mut().remove(token);
            return Err(e);
        }
        self.registrations.set(self.registrations.get() + 1);
        Ok(token)
    }

    /// Takes `source` out of the poller and forgets its waiters.
    pub(crate) fn deregister(&self, source: &mut impl Source, token: usize) -> io::Result<()> {
        let result = self.poll.borrow().registry().deregister(source);
        if self.dispatching.get() {
            self.retired.borrow_mut().push(token);
        } else {
            self.forget(token);
        }
        self.registrations.set(self.registrations.get() - 1);
        result
    }

    /// Drops the record of a deregistered token.
    fn forget(&self, token: usize) {
        if let Some(w) = self.waiters.borrow_mut().try_remove(token) {
            for (dir, slot) in [(Direction::Read, &w.read), (Direction::Write, &w.write)] {
                if slot.more {
                    self.more.borrow_mut().remove(&(token, dir));
                }
                if slot.shared {
                    self.shared_slots.set(self.shared_slots.get() - 1);
                }
            }
        }
    }

    /// Whether an operation in `dir` is worth trying before parking.
    #[inline]
    pub(crate) fn is_ready(&self, token: usize, dir: Direction) -> bool {
        let mut waiters = self.waiters.borrow_mut();
        let w = &mut waiters[token];
        w.closed || w.slot(dir).ready
    }

    #[inline]
    pub(crate) fn set_ready(&self, token: usize, dir: Direction, ready: bool) {
        self.waiters.borrow_mut()[token].slot(dir).ready = ready;
    }

    /// `is_ready` and `arm` in one borrow: true when an operation in `dir`
    /// is worth trying now; otherwise `me` is queued (as by `arm`) and the
    /// caller parks.
    #[inline]
    pub(crate) fn ready_or_arm(&self, token: usize, dir: Direction, me: Unparker) -> bool {
        {
            let mut waiters = self.waiters.borrow_mut();
            let w = &mut waiters[token];
            if w.closed {
                return true;
            }
            let slot = w.slot(dir);
            if slot.ready {
                return true;
            }
            if slot.first.is_none() {
                slot.first = Some(me);
                return false;
            }
        }
        self.queue(token, dir, me, false);
        false
    }

    /// Queues `me` behind the waiters already on `dir` of `token`; a
    /// readiness event in that direction unparks the oldest one still parked.
    #[inline]
    pub(crate) fn arm(&self, token: usize, dir: Direction, me: Unparker) {
        {
            let mut waiters = self.waiters.borrow_mut();
            let slot = waiters[token].slot(dir);
            if slot.first.is_none() {
                slot.first = Some(me);
                return;
            }
        }
        self.queue(token, dir, me, false);
    }

    /// Queues `me` ahead of every other waiter on `dir` of `token`: for a
    /// task that was woken, found nothing (`WouldBlock`) and waits again,
    /// so a spurious wake does not cost it its place.
    pub(crate) fn arm_first(&self, token: usize, dir: Direction, me: Unparker) {
        self.queue(token, dir, me, true);
    }

    #[cold]
    fn queue(&self, token: usize, dir: Direction, me: Unparker, front: bool) {
        let mut waiters = self.waiters.borrow_mut();
        let slot = waiters[token].slot(dir);
        let Some(first) = slot.first else {
            slot.first = Some(me);
            return;
        };
        if first == me {
            return;
        }
        slot.more = true;
        if !slot.shared {
            slot.shared = true;
            self.shared_slots.set(self.shared_slots.get() + 1);
        }
        let mut more = self.more.borrow_mut();
        let queue = more.entry((token, dir)).or_default();
        if front {
            queue.push_front(first);
            slot.first = Some(me);
        } else {
            queue.push_back(me);
        }
    }

    /// Takes `me` back out of `dir`'s waiters. Returns `false` when it was
    /// no longer there: a readiness event (or a hand-on) took it.
    pub(crate) fn disarm(&self, token: usize, dir: Direction, me: Unparker) -> bool {
        let mut waiters = self.waiters.borrow_mut();
        let Some(w) = waiters.get_mut(token) else {
            return false;
        };
        let slot = w.slot(dir);
        if slot.first == Some(me) {
            slot.first = self.take_more(token, dir, slot);
            self.settle(slot);
            return true;
        }
        if !slot.more {
            return false;
        }
        let mut more = self.more.borrow_mut();
        let Some(queue) = more.get_mut(&(token, dir)) else {
            return false;
        };
        let Some(at) = queue.iter().position(|&u| u == me) else {
            return false;
        };
        queue.remove(at);
        if queue.is_empty() {
            more.remove(&(token, dir));
            slot.more = false;
        }
        true
    }

    /// The oldest queued waiter behind `slot.first`, taken out of `more`.
    #[inline]
    fn take_more(&self, token: usize, dir: Direction, slot: &mut Slot) -> Option<Unparker> {
        if !slot.more {
            return None;
        }
        self.take_more_slow(token, dir, slot)
    }

    #[cold]
    fn take_more_slow(&self, token: usize, dir: Direction, slot: &mut Slot) -> Option<Unparker> {
        let mut more = self.more.borrow_mut();
        let queue = more.get_mut(&(token, dir))?;
        let next = queue.pop_front();
        if queue.is_empty() {
            more.remove(&(token, dir));
            slot.more = false;
        }
        next
    }

    /// Takes the oldest waiter of `dir` out of its queue, if any.
    fn pop(&self, token: usize, dir: Direction) -> Option<Unparker> {
        let mut waiters = self.waiters.borrow_mut();
        let slot = waiters.get_mut(token)?.slot(dir);
        self.pop_slot(token, dir, slot)
    }

    /// Takes the oldest waiter out of `slot` (of `dir` of `token`).
    #[inline]
    fn pop_slot(&self, token: usize, dir: Direction, slot: &mut Slot) -> Option<Unparker> {
        // Copied out, not `take`n: `first` is overwritten just below, and
        // a slot with no waiter (the usual writer) is left untouched.
        let first = slot.first?;
        slot.first = self.take_more(token, dir, slot);
        self.settle(slot);
        Some(first)
    }

    /// Clears `shared` once the slot has no waiter left.
    #[inline]
    fn settle(&self, slot: &mut Slot) {
        if slot.shared && slot.first.is_none() {
            slot.shared = false;
            self.shared_slots.set(self.shared_slots.get() - 1);
        }
    }

    /// Unparks the oldest waiter of `dir` that is still parked (skipping
    /// those whose park already ended: timed out, cancelled, woken by
    /// another source of a `select`).
    #[cold]
    fn wake_one(&self, token: usize, dir: Direction, wake: &mut impl FnMut(Unparker) -> bool) {
        while let Some(u) = self.pop(token, dir) {
            if wake(u) {
                return;
            }
        }
    }

    /// Takes `me` out of `dir`'s waiters when its wait ends without using
    /// a readiness (timed out, interrupted, cancelled); if readiness had
    /// already picked it, hands that on to the next waiter.
    #[cold]
    pub(crate) fn leave(&self, token: usize, dir: Direction, me: Unparker) {
        if !self.disarm(token, dir, me) {
            self.hand_on(token, dir);
        }
    }

    /// Called by a task that was woken for `dir` and is done with the
    /// readiness (its operation succeeded, failed, or it was cancelled):
    /// if the source may still be ready and others wait, the oldest of them
    /// is woken to try too. So a readiness edge is never swallowed by a
    /// waiter that did not drain the source.
    #[inline]
    pub(crate) fn hand_on(&self, token: usize, dir: Direction) {
        if self.shared_slots.get() == 0 {
            return; // no source has had two waiters on a direction
        }
        self.hand_on_shared(token, dir);
    }

    #[cold]
    fn hand_on_shared(&self, token: usize, dir: Direction) {
        let waiting = {
            let mut waiters = self.waiters.borrow_mut();
            let Some(w) = waiters.get_mut(token) else {
                return;
            };
            let closed = w.closed;
            let slot = w.slot(dir);
            slot.first.is_some() && (slot.ready || closed)
        };
        if waiting {
            self.wake_one(token, dir, &mut |u| u.unpark());
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
    #[inline]
    pub(crate) fn dispatch(&self, mut wake: impl FnMut(Unparker) -> bool) -> bool {
        /// Ends the dispatch, even if a resumed task's unwinding reaches here.
        struct Dispatching<'a>(&'a Reactor);
        impl Drop for Dispatching<'_> {
            fn drop(&mut self) {
                self.0.dispatching.set(false);
                // `forget` touches the waiter table, not this list.
                for token in self.0.retired.borrow_mut().drain(..) {
                    self.0.forget(token);
                }
            }
        }
        self.dispatching.set(true);
        let _dispatching = Dispatching(self);
        let events = self.events.borrow();
        let mut remote = false;
        for event in events.iter() {
            if event.token() == WAKER_TOKEN {
                remote = true;
                continue;
            }
            let token = event.token().0;
            let (reader, writer) = {
                let mut waiters = self.waiters.borrow_mut();
                let Some(w) = waiters.get_mut(token) else {
                    continue;
                };
                let err = event.is_error();
                w.closed |= err || event.is_read_closed() || event.is_write_closed();
                let reader = if event.is_readable() || event.is_read_closed() || err {
                    w.read.ready = true;
                    self.pop_slot(token, Direction::Read, &mut w.read)
                } else {
                    None
                };
                let writer = if event.is_writable() || event.is_write_closed() || err {
                    w.write.ready = true;
                    self.pop_slot(token, Direction::Write, &mut w.write)
                } else {
                    None
                };
                (reader, writer)
            };
            // A waiter whose park already ended passes the readiness on.
            if let Some(u) = reader {
                if !wake(u) {
                    self.wake_one(token, Direction::Read, &mut wake);
                }
            }
            if let Some(u) = writer {
                if !wake(u) {
                    self.wake_one(token, Direction::Write, &mut wake);
                }
            }
        }
        remote
    }
}

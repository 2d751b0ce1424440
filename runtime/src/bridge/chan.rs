//! The state a `PollableQueue` shares with its `Sender`s, and the wake
//! protocol that lets producers on any thread feed an edge-triggered
//! consumer without ever blocking on the socketpair or losing a wakeup.
//!
//! The protocol, with `signalled` guarded by the same mutex as the items:
//!
//! - A put pushes its item and, if `signalled` was clear, sets it and rings
//!   one wake byte (after unlocking). So a flood of puts writes one byte per
//!   consumer drain, however fast it comes.
//! - A consumer that finds nothing first drains the wake bytes to
//!   `WouldBlock`, then looks at the items under the lock, and only if there
//!   are none clears `signalled` and waits on the read end. Any put after
//!   that look rings a fresh byte, which is a fresh readiness edge.
//! - If the drain ate a byte but items turned up, the consumer rings the
//!   byte back: while items wait, the read end stays readable, so a plain
//!   `poll(2)` user that takes one item per readiness (the seed) never stalls.
//!
//! A bounded queue counts, against its capacity, the items in the shared
//! queue and those the consumer moved into its batch but has not handed out
//! yet, so it never holds more than `capacity` items, like `sync_channel`.
//! The consumer takes the whole queue under one lock and gives the room of
//! served items back every `capacity / 8` items (and whenever its batch runs
//! dry, so it never parks on room it holds), waking only as many waiting
//! producers as there is room for, oldest first (see `RoomWaiters`).

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

use super::room_waiters::RoomWaiters;
use super::wake::{WakeReader, WakeWriter};
use crate::context;
use crate::park::{self, Reason};

/// The shared half of a queue.
pub(crate) struct Chan<T> {
    state: Mutex<State<T>>,
    /// Rings the consumer's read end.
    bell: WakeWriter,
    /// Capacity of a bounded queue; `None` when unbounded.
    cap: Option<usize>,
    /// How many items the consumer of a bounded queue hands out before it
    /// takes the lock to give their room back (capacity / 8, at least 1):
    /// one lock and one round of wakes per chunk instead of per item.
    chunk: usize,
}

struct State<T> {
    /// Items put and not yet moved out by the consumer, oldest first.
    items: VecDeque<T>,
    /// A wake byte was rung since the consumer last cleared this, so puts
    /// need not ring again (coalescing).
    signalled: bool,
    /// `Sender` handles alive: at zero, an empty queue is disconnected.
    senders: usize,
    /// The consumer closed the queue or is gone: puts fail.
    closed: bool,
    /// Bounded only: items the consumer moved into its [`Batch`] whose room
    /// it has not given back yet. They count against the capacity, so the
    /// queue never holds more than `cap` items that are not handed out.
    lent: usize,
    /// Producers (green or OS threads) waiting until a bounded queue has room.
    waiters: RoomWaiters,
}

/// The consumer's side of the queue: items moved out of the shared queue
/// under one lock, served without it.
pub(crate) struct Batch<T> {
    /// Items moved out of the shared queue, not handed out yet.
    items: VecDeque<T>,
    /// Bounded only: items handed out since the room was last given back.
    served: usize,
}

impl<T> Batch<T> {
    pub(crate) fn new() -> Self {
        Batch {
            items: VecDeque::new(),
            served: 0,
        }
    }

    /// Items moved out and not handed out yet.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

/// What a consumer that found no item should do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Items are queued: take one.
    Ready,
    /// Empty, and nothing can ever arrive.
    Closed,
    /// Empty; the next put rings the read end, so wait on it.
    Idle,
}

/// Why a put did not queue its item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Full,
    TimedOut,
    Closed,
}

impl<T> Chan<T> {
    pub(crate) fn new(bell: WakeWriter, cap: Option<usize>) -> Self {
        Chan {
            state: Mutex::new(State {
                items: VecDeque::new(),
                signalled: false,
                senders: 0,
                closed: false,
                lent: 0,
                waiters: RoomWaiters::new(),
            }),
            bell,
            cap,
            chunk: cap.map_or(1, |cap| cap.div_ceil(8)),
        }
    }

    /// The lock; a panic elsewhere cannot leave the queue inconsistent, so
    /// poisoning is ignored.
    #[inline]
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        self.cap
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Free slots of a bounded queue (`usize::MAX` when unbounded).
    #[inline]
    fn room(&self, st: &State<T>) -> usize {
        self.cap.map_or(usize::MAX, |cap| {
            cap.saturating_sub(st.items.len() + st.lent)
        })
    }

    /// Queues `item`. While a bounded queue is full it waits for room until
    /// `wait` says stop: `None` means do not wait, `Some(None)` wait for ever.
    #[inline]
    pub(crate) fn put(&self, item: T, wait: Option<Option<Instant>>) -> Result<(), (T, Refusal)> {
        let mut st = self.lock();
        loop {
            if st.closed {
                return Err((item, Refusal::Closed));
            }
            if self.room(&st) > 0 {
                break;
            }
            let Some(deadline) = wait else {
                return Err((item, Refusal::Full));
            };
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err((item, Refusal::TimedOut));
            }
            st = self.wait_for_room(st, deadline);
        }
        st.items.push_back(item);
        let ring = !std::mem::replace(&mut st.signalled, true);
        drop(st);
        if ring {
            self.bell.ring();
        }
        Ok(())
    }

    /// Queues the caller among the producers waiting for room and waits
    /// for a wake (or the deadline); returns the lock to look again with.
    #[cold]
    fn wait_for_room<'a>(
        &'a self,
        mut st: MutexGuard<'a, State<T>>,
        deadline: Option<Instant>,
    ) -> MutexGuard<'a, State<T>> {
        if context::in_green_thread() {
            let leave = LeaveOnDrop {
                chan: self,
                waiter: st.waiters.push_green(),
            };
            drop(st);
            park::park_timed(Reason::Bridge("PollableQueue::put"), deadline);
            let waiter = leave.disarm(); // the wait ended normally: look again
            let mut st = self.lock();
            st.waiters.leave(waiter);
            return st;
        }
        let me = st.waiters.push_thread();
        drop(st);
        match deadline {
            None => thread::park(),
            Some(d) => thread::park_timeout(d.saturating_duration_since(Instant::now())),
        }
        let mut st = self.lock();
        st.waiters.leave(me);
        st
    }

    /// Takes the next item for the consumer, refilling `batch` from the
    /// shared queue when it is empty: one lock per batch, not per item. A
    /// bounded queue gives the room of served items back every `chunk`
    /// items, and whenever the batch runs dry.
    #[inline]
    pub(crate) fn take(&self, batch: &mut Batch<T>) -> Option<T> {
        if batch.items.is_empty() {
            self.refill(batch);
        }
        let item = batch.items.pop_front()?;
        if self.cap.is_some() {
            batch.served += 1;
            if batch.served >= self.chunk {
                self.refill(batch);
            }
        }
        Some(item)
    }

    /// Gives back the room of the items `batch` served, moves every queued
    /// item into it, and wakes as many waiting producers as there is room for.
    fn refill(&self, batch: &mut Batch<T>) {
        let mut st = self.lock();
        if batch.items.is_empty() {
            std::mem::swap(&mut st.items, &mut batch.items);
        } else {
            batch.items.extend(st.items.drain(..));
        }
        if self.cap.is_none() {
            return;
        }
        batch.served = 0;
        st.lent = batch.items.len();
        let room = self.room(&st);
        let woken = st.waiters.take_for(room, self.chunk);
        drop(st);
        woken.wake();
    }

    /// The consumer found no item: drain the wake bytes, look again, and
    /// clear `signalled` if it is to wait (see the module docs).
    #[cold]
    pub(crate) fn prepare_wait(&self, bell: &WakeReader) -> Readiness {
        let drained = bell.drain();
        let mut st = self.lock();
        let readiness = if !st.items.is_empty() {
            Readiness::Ready
        } else if st.closed || st.senders == 0 {
            Readiness::Closed
        } else {
            st.signalled = false;
            return Readiness::Idle;
        };
        drop(st);
        if drained > 0 {
            // Keep the read end readable while items wait (or once
            // disconnected, like a socket at end of file).
            self.bell.ring();
        }
        readiness
    }

    pub(crate) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// The last sender leaving disconnects the queue: wake the consumer.
    pub(crate) fn drop_sender(&self) {
        let mut st = self.lock();
        st.senders -= 1;
        if st.senders == 0 && !st.closed && !std::mem::replace(&mut st.signalled, true) {
            drop(st);
            self.bell.ring();
        }
    }

    /// Refuses further puts and wakes every producer waiting for room (they
    /// get their item back). With `discard`, queued items are dropped too
    /// (outside the lock, so their `Drop` may touch the queue).
    pub(crate) fn close(&self, discard: bool) {
        let mut st = self.lock();
        st.closed = true;
        let dropped = if discard {
            std::mem::take(&mut st.items)
        } else {
            VecDeque::new()
        };
        let woken = st.waiters.take_all();
        let ring = !std::mem::replace(&mut st.signalled, true);
        drop(st);
        woken.wake();
        if ring {
            self.bell.ring();
        }
        drop(dropped);
    }
}

/// Takes a green producer's entry out of the waiters when its wait is
/// unwound by cancellation, so entries never pile up, and passes on a wake
/// it had received, so the room it was woken for is not left unclaimed.
struct LeaveOnDrop<'a, T> {
    chan: &'a Chan<T>,
    /// The entry's id in `RoomWaiters`.
    waiter: u64,
}

impl<T> LeaveOnDrop<'_, T> {
    /// The wait ended without unwinding: the caller takes the entry back
    /// itself, under the lock it takes anyway. Returns the entry's id.
    fn disarm(self) -> u64 {
        let waiter = self.waiter;
        std::mem::forget(self);
        waiter
    }
}

impl<T> Drop for LeaveOnDrop<'_, T> {
    fn drop(&mut self) {
        let mut st = self.chan.lock();
        if st.waiters.leave(self.waiter) {
            let room = self.chan.room(&st);
            let woken = st.waiters.take_for(room, self.chan.chunk);
            drop(st);
            woken.wake();
        }
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Chan")
            .field("len", &st.items.len())
            .field("capacity", &self.cap)
            .field("lent", &st.lent)
            .field("waiters", &st.waiters)
            .field("senders", &st.senders)
            .field("closed", &st.closed)
            .finish()
    }
}

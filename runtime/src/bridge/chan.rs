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

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::remote_unparker::RemoteUnparker;
use super::wake::{WakeReader, WakeWriter};
use crate::context;
use crate::park::{self, Reason};

/// The shared half of a queue.
pub(crate) struct Chan<T> {
    state: Mutex<State<T>>,
    /// OS-thread producers blocked on a full bounded queue wait here.
    room: Condvar,
    /// Rings the consumer's read end.
    bell: WakeWriter,
    /// Capacity of a bounded queue; `None` when unbounded.
    cap: Option<usize>,
}

struct State<T> {
    items: VecDeque<T>,
    /// A wake byte was rung since the consumer last cleared this, so puts
    /// need not ring again (coalescing).
    signalled: bool,
    /// `Sender` handles alive: at zero, an empty queue is disconnected.
    senders: usize,
    /// The consumer closed the queue or is gone: puts fail.
    closed: bool,
    /// Green producers parked until a bounded queue has room.
    green_waiters: Vec<RemoteUnparker>,
    /// OS-thread producers blocked on `room`.
    os_waiters: usize,
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
                green_waiters: Vec::new(),
                os_waiters: 0,
            }),
            room: Condvar::new(),
            bell,
            cap,
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

    /// Queues `item`. While a bounded queue is full it waits for room until
    /// `wait` says stop: `None` means do not wait, `Some(None)` wait for ever.
    #[inline]
    pub(crate) fn put(&self, item: T, wait: Option<Option<Instant>>) -> Result<(), (T, Refusal)> {
        let mut st = self.lock();
        loop {
            if st.closed {
                return Err((item, Refusal::Closed));
            }
            if self.cap.is_none_or(|cap| st.items.len() < cap) {
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

    #[cold]
    fn wait_for_room<'a>(
        &'a self,
        mut st: MutexGuard<'a, State<T>>,
        deadline: Option<Instant>,
    ) -> MutexGuard<'a, State<T>> {
        if context::in_green_thread() {
            let me = RemoteUnparker::current();
            let leave = LeaveOnDrop {
                chan: self,
                waiter: me.id(),
            };
            st.green_waiters.push(me);
            drop(st);
            park::park_timed(Reason::Bridge("PollableQueue::put"), deadline);
            drop(leave);
            return self.lock();
        }
        st.os_waiters += 1;
        let mut st = match deadline {
            None => self.room.wait(st).unwrap_or_else(|e| e.into_inner()),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                self.room
                    .wait_timeout(st, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
        st.os_waiters -= 1;
        st
    }

    /// Moves queued items into the consumer's empty `local` buffer: all of
    /// them when unbounded (one lock per batch), one when bounded (so the
    /// capacity counts every item not yet handed out).
    #[inline]
    pub(crate) fn take_into(&self, local: &mut VecDeque<T>) {
        debug_assert!(local.is_empty());
        let mut st = self.lock();
        if st.items.is_empty() {
            return;
        }
        match self.cap {
            None => std::mem::swap(&mut st.items, local),
            Some(_) => local.extend(st.items.pop_front()),
        }
        if st.os_waiters > 0 {
            self.room.notify_all();
        }
        if !st.green_waiters.is_empty() {
            let waiters = std::mem::take(&mut st.green_waiters);
            drop(st);
            waiters.into_iter().for_each(RemoteUnparker::unpark);
        }
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
        let waiters = std::mem::take(&mut st.green_waiters);
        if st.os_waiters > 0 {
            self.room.notify_all();
        }
        let ring = !std::mem::replace(&mut st.signalled, true);
        drop(st);
        waiters.into_iter().for_each(RemoteUnparker::unpark);
        if ring {
            self.bell.ring();
        }
        drop(dropped);
    }
}

/// Takes a green producer's entry out of `green_waiters` when its wait ends
/// (woken, timed out, or unwound by cancellation), so entries never pile up
/// and a stale one never keeps the loop waiting for a wake.
struct LeaveOnDrop<'a, T> {
    chan: &'a Chan<T>,
    /// The `RemoteUnparker::id` of the entry.
    waiter: u64,
}

impl<T> Drop for LeaveOnDrop<'_, T> {
    fn drop(&mut self) {
        let mut st = self.chan.lock();
        st.green_waiters.retain(|w| w.id() != self.waiter);
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Chan")
            .field("len", &st.items.len())
            .field("capacity", &self.cap)
            .field("senders", &st.senders)
            .field("closed", &st.closed)
            .finish()
    }
}

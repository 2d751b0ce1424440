//! `RoomWaiters`: the producers waiting for room in a full bounded
//! `PollableQueue`, green threads and OS threads in one FIFO, so the
//! consumer can wake exactly as many of them as it freed room for.
//!
//! Every entry is either taken by a wake (and counted in `waking` until its
//! producer runs again) or taken back by its producer when its wait ends
//! (room, timeout, close, cancellation). A producer that finds no room after
//! its wake queues again at the back; one that runs without a wake just
//! looks again; one cancelled after its wake passes the wake on. So no
//! producer is woken without room for it (unless one that was not waiting
//! took the room first), and none sleeps while there is room and nobody
//! will wake it.

use std::collections::VecDeque;
use std::fmt;
use std::thread::{self, Thread};

use super::remote_unparker::RemoteUnparker;

/// One waiting producer.
enum Sleeper {
    /// A green thread parked in `put`, woken through its runtime's waker.
    Green(RemoteUnparker),
    /// An OS thread in `thread::park`.
    Thread(Thread),
}

/// The waiting producers of one queue, oldest first. Lives under the
/// queue's lock.
pub(crate) struct RoomWaiters {
    /// The entries, each with the id its producer takes it back by.
    queue: VecDeque<(u64, Sleeper)>,
    /// Producers woken whose wait has not ended yet: the room they were
    /// woken for is theirs, so a second wake does not promise it again.
    waking: usize,
    /// The id of the next entry (unique within this queue).
    next_id: u64,
}

/// Producers taken out of the queue, to be woken once the lock is released.
#[must_use = "the producers are only woken by `wake`"]
pub(crate) struct Woken(Vec<Sleeper>);

impl RoomWaiters {
    pub(crate) const fn new() -> Self {
        RoomWaiters {
            queue: VecDeque::new(),
            waking: 0,
            next_id: 0,
        }
    }

    /// Queues the calling green thread for its next park; returns its id.
    pub(crate) fn push_green(&mut self) -> u64 {
        self.push(Sleeper::Green(RemoteUnparker::current()))
    }

    /// Queues the calling OS thread for its next `thread::park`; returns its id.
    pub(crate) fn push_thread(&mut self) -> u64 {
        self.push(Sleeper::Thread(thread::current()))
    }

    fn push(&mut self, sleeper: Sleeper) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push_back((id, sleeper));
        id
    }

    /// The producer `id`'s wait ended: takes its entry back, or, if a wake
    /// took it first, counts that wake as arrived and returns true.
    pub(crate) fn leave(&mut self, id: u64) -> bool {
        if let Some(at) = self.queue.iter().position(|(i, _)| *i == id) {
            self.queue.remove(at);
            false
        } else {
            self.waking = self.waking.saturating_sub(1);
            true
        }
    }

    /// Takes the oldest producers to fill `room` free slots: one per
    /// `chunk` slots (at least one while there is any room), less those
    /// already woken. A woken producer goes on putting until the queue is
    /// full, so each wake buys about `chunk` items, not one.
    #[inline]
    pub(crate) fn take_for(&mut self, room: usize, chunk: usize) -> Woken {
        let n = room
            .div_ceil(chunk)
            .saturating_sub(self.waking)
            .min(self.queue.len());
        self.take(n)
    }

    /// Takes every producer (the queue closed: each must see it).
    pub(crate) fn take_all(&mut self) -> Woken {
        self.take(self.queue.len())
    }

    fn take(&mut self, n: usize) -> Woken {
        if n == 0 {
            return Woken(Vec::new());
        }
        self.waking += n;
        Woken(self.queue.drain(..n).map(|(_, s)| s).collect())
    }
}

impl Woken {
    /// Wakes the producers (call it after unlocking the queue).
    pub(crate) fn wake(self) {
        for sleeper in self.0 {
            match sleeper {
                Sleeper::Green(unparker) => unparker.unpark(),
                Sleeper::Thread(thread) => thread.unpark(),
            }
        }
    }
}

impl fmt::Debug for RoomWaiters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomWaiters")
            .field("waiting", &self.queue.len())
            .field("waking", &self.waking)
            .finish()
    }
}

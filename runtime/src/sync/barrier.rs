//! `Barrier`: green threads wait until a set number of them arrive.

use std::cell::Cell;
use std::fmt;

use super::wait_list::WaitList;

/// Makes a fixed number of green threads wait for each other, like
/// `std::sync::Barrier` (and Python's `threading.Barrier` without timeouts).
///
/// The first `n - 1` callers of [`wait`](Barrier::wait) park; the `n`-th
/// wakes them all in arrival order ([rule 5](crate#scheduling-rules)), keeps running ([rule 4](crate#scheduling-rules)), and is
/// the leader. The barrier then resets for the next round. A waiter that
/// unwinds (cancelled) before its round is released is taken off the count.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::Barrier>();
/// ```
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use weft::sync::Barrier;
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let barrier = Rc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = barrier.clone();
///             weft::spawn(move || b.wait().is_leader())
///         })
///         .collect();
///     let leaders: Vec<bool> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
///     assert_eq!(leaders, [false, false, true]); // the last to arrive leads
/// }).unwrap();
/// ```
pub struct Barrier {
    /// How many must arrive to release a round.
    parties: usize,
    /// How many have arrived in the current round.
    arrived: Cell<usize>,
    /// Counts released rounds, so a late unwinder knows its round is over.
    round: Cell<u64>,
    /// The current round's parked arrivals, oldest first.
    waiters: WaitList,
}

/// What [`Barrier::wait`] tells each task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    leader: bool,
}

impl BarrierWaitResult {
    /// True for exactly one task per round: the one whose arrival released it.
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

impl Barrier {
    /// A barrier for `parties` tasks (0 behaves like 1).
    pub const fn new(parties: usize) -> Barrier {
        Barrier {
            parties: if parties == 0 { 1 } else { parties },
            arrived: Cell::new(0),
            round: Cell::new(0),
            waiters: WaitList::new(),
        }
    }

    /// Parks until `parties` tasks have called `wait` this round.
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    #[inline]
    pub fn wait(&self) -> BarrierWaitResult {
        let arrived = self.arrived.get() + 1;
        if arrived == self.parties {
            self.arrived.set(0);
            self.round.set(self.round.get() + 1);
            self.waiters.notify_all();
            return BarrierWaitResult { leader: true };
        }
        self.arrived.set(arrived);
        let round = self.round.get();
        let on_unwind = |_, _| {
            if self.round.get() == round {
                self.arrived.set(self.arrived.get() - 1);
            }
        };
        self.waiters.wait("Barrier", None, None, on_unwind);
        BarrierWaitResult { leader: false }
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout`: `None` if the
    /// round was not complete by then (this arrival is withdrawn, so the
    /// round still needs `parties` others).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// weft::Runtime::new().unwrap().block_on(|| {
    ///     let barrier = weft::sync::Barrier::new(2);
    ///     assert!(barrier.wait_timeout(Duration::from_millis(10)).is_none());
    ///     assert_eq!(barrier.n_waiting(), 0);
    /// }).unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// Panics when it has to wait outside a green thread.
    pub fn wait_timeout(&self, timeout: std::time::Duration) -> Option<BarrierWaitResult> {
        let arrived = self.arrived.get() + 1;
        if arrived == self.parties {
            return Some(self.wait());
        }
        self.arrived.set(arrived);
        let round = self.round.get();
        let withdraw = || {
            if self.round.get() == round {
                self.arrived.set(self.arrived.get() - 1);
            }
        };
        let deadline = super::deadline_after(timeout);
        let waited = self
            .waiters
            .wait("Barrier", deadline, None, |_, _| withdraw());
        if self.round.get() != round || waited.notified {
            Some(BarrierWaitResult { leader: false })
        } else {
            withdraw();
            None
        }
    }

    /// How many tasks each round needs.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many tasks are waiting in the current round.
    pub fn n_waiting(&self) -> usize {
        self.arrived.get()
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("arrived", &self.arrived.get())
            .finish()
    }
}

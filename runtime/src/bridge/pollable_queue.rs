//! `PollableQueue`: the consumer end of a thread-safe queue with a
//! socketpair doorbell, the seed's "Polling Multiple Thread Queues" done
//! right for an edge-triggered loop.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cached_registration::CachedRegistration;
use super::chan::{Batch, Chan, Readiness};
use super::wake::{self, WakeReader};
use super::Sender;
use crate::context;
use crate::park::{self, Reason, Unparker, Wake};
use crate::sync::{GetError, GetTimeoutError, TryGetError};
use crate::task::TaskId;

/// A queue that OS threads and green threads feed through [`Sender`]s and
/// one consumer drains, in a green thread or on an OS thread.
///
/// Producers never block on the wakeup: a put pushes the item and writes a
/// wake byte only when the consumer has asked for one, so a flood of puts
/// costs one byte per drain. A green consumer's [`get`](Self::get) parks on
/// the read end's readiness (`Reason::Bridge("PollableQueue")`, never counted
/// as a deadlock); an OS-thread consumer blocks in `poll(2)`. The read end is
/// exposed with [`AsRawFd`], so a plain `poll`/`select` outside weft can wait
/// on the queue like on a socket, as in the seed: when it reports readable,
/// take items with [`try_get`](Self::try_get) (one or all of them).
///
/// A queue is closed once no [`Sender`] is left (disconnected), or by
/// [`close`](Self::close): gets drain what is queued, then return a
/// `Closed` error. [`bounded`](Self::bounded) queues give backpressure.
///
/// `Send` but not `Sync`: one consumer at a time. Share the queue between
/// green threads of one runtime through an `Rc` if you like, but only one of
/// them may wait on it at a time (see `# Panics` on [`get`](Self::get)).
///
/// # Examples
///
/// ```
/// use weft::bridge::PollableQueue;
///
/// let q = PollableQueue::new().unwrap();
/// let tx = q.sender();
/// let producer = std::thread::spawn(move || {
///     for i in 0..3 {
///         tx.put(i).unwrap();
///     }
/// }); // dropping `tx` disconnects the queue
/// let got = weft::Runtime::new().unwrap().block_on(move || {
///     let mut got = Vec::new();
///     while let Ok(i) = q.get() {
///         got.push(i); // parks between items; the loop sleeps in epoll
///     }
///     got
/// });
/// producer.join().unwrap();
/// assert_eq!(got.unwrap(), [0, 1, 2]);
/// ```
///
/// The consumer can move to another thread, but not be shared by two:
///
/// ```compile_fail
/// let q = weft::bridge::PollableQueue::<u8>::new().unwrap();
/// let q = std::sync::Arc::new(q);
/// std::thread::spawn(move || q.try_get()); // PollableQueue is not Sync
/// ```
pub struct PollableQueue<T> {
    chan: Arc<Chan<T>>,
    /// `bell`'s registration with the runtime whose green threads wait here.
    /// Declared before `bell`: it must be dropped while the fd is still open.
    registration: CachedRegistration,
    /// The socketpair's read end.
    bell: WakeReader,
    /// Items already moved out of `chan`, served before looking there again
    /// (one lock per batch instead of one per item).
    local: RefCell<Batch<T>>,
    /// The green consumer parked on `bell`, if any: one queue has one
    /// consumer at a time, so a second one is refused loudly rather than
    /// left to wait on a wakeup the first one takes.
    /// Kept as its parts: an `Unparker` is `!Send`, the queue is not.
    consumer: Cell<Option<(TaskId, u32)>>,
}

impl<T> PollableQueue<T> {
    /// An unbounded queue.
    ///
    /// # Errors
    ///
    /// Any error creating the socketpair (for example `EMFILE`).
    pub fn new() -> io::Result<Self> {
        Self::with_capacity(None)
    }

    /// A queue holding at most `capacity` items: [`Sender::put`] waits for
    /// room (parking a green thread, blocking an OS thread) and
    /// [`Sender::try_put`] hands the item back.
    ///
    /// Items the consumer has moved into its local batch but not taken yet
    /// count against the capacity, as in `std::sync::mpsc::sync_channel`.
    /// Room comes back to producers in chunks of `capacity / 8` taken items
    /// (at least 1, and all of it whenever the consumer runs out), and only
    /// as many waiting producers are woken as that room can take: a flood of
    /// producers costs one lock and a few wakes per chunk, not per item.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a capacity of 0; any error creating the socketpair.
    pub fn bounded(capacity: usize) -> io::Result<Self> {
        if capacity == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a bounded PollableQueue needs a capacity of at least 1",
            ));
        }
        Self::with_capacity(Some(capacity))
    }

    fn with_capacity(cap: Option<usize>) -> io::Result<Self> {
        let (ring, bell) = wake::pair()?;
        Ok(PollableQueue {
            chan: Arc::new(Chan::new(ring, cap)),
            registration: CachedRegistration::new(),
            bell,
            local: RefCell::new(Batch::new()),
            consumer: Cell::new(None),
        })
    }

    /// A new producer handle. The queue stays connected while any exists.
    pub fn sender(&self) -> Sender<T> {
        Sender::new(self.chan.clone())
    }

    /// Takes the next item, waiting while the queue is empty: a green
    /// thread parks, an OS thread blocks.
    ///
    /// # Errors
    ///
    /// [`GetError`] once the queue is empty and closed (no sender left).
    ///
    /// # Panics
    ///
    /// In a green thread: if another green thread is already waiting on this
    /// queue (a queue has one consumer at a time), or the read end cannot be
    /// registered with the OS poller.
    pub fn get(&self) -> Result<T, GetError> {
        self.get_deadline(None).map_err(|_| GetError)
    }

    /// Takes the next item if one is queued, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`] if none is; [`TryGetError::Closed`] if
    /// none ever will be.
    #[inline]
    pub fn try_get(&self) -> Result<T, TryGetError> {
        loop {
            if let Some(item) = self.take() {
                return Ok(item);
            }
            match self.chan.prepare_wait(&self.bell) {
                Readiness::Ready => continue,
                Readiness::Closed => return Err(TryGetError::Closed),
                Readiness::Idle => return Err(TryGetError::Empty),
            }
        }
    }

    /// Like [`get`](Self::get), giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// [`GetTimeoutError::Timeout`] if nothing arrived in time,
    /// [`GetTimeoutError::Closed`] as for `get`.
    ///
    /// # Panics
    ///
    /// As for [`get`](Self::get).
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetTimeoutError> {
        self.get_deadline(Instant::now().checked_add(timeout))
    }

    fn get_deadline(&self, deadline: Option<Instant>) -> Result<T, GetTimeoutError> {
        loop {
            match self.try_get() {
                Ok(item) => return Ok(item),
                Err(TryGetError::Closed) => return Err(GetTimeoutError::Closed),
                Err(TryGetError::Empty) => {}
            }
            if !self.wait(deadline) {
                return self.try_get().map_err(|e| match e {
                    TryGetError::Empty => GetTimeoutError::Timeout,
                    TryGetError::Closed => GetTimeoutError::Closed,
                });
            }
        }
    }

    /// Items queued and not yet taken.
    pub fn len(&self) -> usize {
        self.local.borrow().len() + self.chan.len()
    }

    /// True when no item is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity of a bounded queue; `None` when unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }

    /// Refuses further puts (they return the item in an error, and producers
    /// waiting for room wake up with theirs). Items already queued can still
    /// be taken; after them, gets return a `Closed` error.
    pub fn close(&self) {
        self.chan.close(false);
    }

    /// Takes an item from the local batch, refilling it from the shared queue.
    #[inline]
    fn take(&self) -> Option<T> {
        self.chan.take(&mut self.local.borrow_mut())
    }

    /// Waits for the read end (after `prepare_wait` said `Idle`). Returns
    /// `false` once `deadline` has passed; may return `true` spuriously.
    fn wait(&self, deadline: Option<Instant>) -> bool {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        if !context::in_green_thread() {
            return self.bell.wait(deadline);
        }
        let me = Unparker::current();
        if let Some((task, seq)) = self.consumer.get() {
            let other = Unparker::new(task, seq);
            if other != me && other.is_parked() {
                panic!(
                    "weft: PollableQueue::get: another green thread is already waiting on \
                     this queue (one consumer at a time)"
                );
            }
        }
        self.arm(me)
            .unwrap_or_else(|e| panic!("weft: PollableQueue::get: {e}"));
        self.consumer.set(Some((me.task(), me.seq())));
        let wake = park::park_timed(Reason::Bridge("PollableQueue"), deadline);
        self.consumer.set(None);
        self.disarm(me);
        // An interrupt is a spurious wake here: bridge waits are not
        // interruptible (`JoinHandle::interrupt`).
        wake != Wake::TimedOut
    }

    /// Leaves `waiter` where the read end's next readiness finds it.
    pub(crate) fn arm(&self, waiter: Unparker) -> io::Result<()> {
        self.registration
            .with(self.bell.as_raw_fd(), |reg| reg.arm_read(waiter))
    }

    /// Takes `waiter` back; returns whether readiness took it first.
    pub(crate) fn disarm(&self, waiter: Unparker) -> bool {
        self.registration
            .with(self.bell.as_raw_fd(), |reg| !reg.disarm_read(waiter))
            .unwrap_or(false)
    }

    /// Level check for `select`: an item is queued or the queue is
    /// disconnected. When not, the queue is left ready to ring on the next put.
    pub(crate) fn ready(&self) -> bool {
        self.local.borrow().len() > 0 || self.chan.prepare_wait(&self.bell) != Readiness::Idle
    }
}

impl<T> AsRawFd for PollableQueue<T> {
    /// The socketpair's read end: readable when an item may be waiting.
    fn as_raw_fd(&self) -> RawFd {
        self.bell.as_raw_fd()
    }
}

impl<T> Drop for PollableQueue<T> {
    fn drop(&mut self) {
        self.chan.close(true);
    }
}

impl<T> fmt::Debug for PollableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollableQueue")
            .field("fd", &self.bell.as_raw_fd())
            .field("chan", &self.chan)
            .finish_non_exhaustive()
    }
}

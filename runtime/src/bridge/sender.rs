//! `Sender`: the producer end of a `PollableQueue`, usable from any thread.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::chan::{Chan, Refusal};
use super::error::{SendError, SendTimeoutError, TrySendError};

/// Puts items on a [`PollableQueue`](super::PollableQueue) from any OS
/// thread or green thread. `Send + Sync + Clone`; the queue is disconnected
/// when the last clone is dropped.
///
/// On an unbounded queue a put never waits. On a bounded one, a full queue
/// makes [`put`](Self::put) wait for room: an OS thread blocks, a green
/// thread parks (`Reason::Bridge("PollableQueue::put")`).
///
/// # Examples
///
/// ```
/// use weft::bridge::{PollableQueue, TrySendError};
///
/// let q = PollableQueue::bounded(1).unwrap();
/// let tx = q.sender();
/// tx.put("first").unwrap();
/// // Full: the item comes back.
/// assert_eq!(tx.try_put("second"), Err(TrySendError::Full("second")));
/// assert_eq!(q.try_get(), Ok("first"));
/// drop(q);
/// assert_eq!(tx.put("third").unwrap_err().into_inner(), "third");
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    pub(crate) fn new(chan: Arc<Chan<T>>) -> Self {
        chan.add_sender();
        Sender { chan }
    }

    /// Queues `item`, waiting for room while a bounded queue is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the item if the queue was closed or its consumer
    /// dropped (also while waiting for room).
    #[inline]
    pub fn put(&self, item: T) -> Result<(), SendError<T>> {
        self.chan
            .put(item, Some(None))
            .map_err(|(item, _)| SendError(item))
    }

    /// Queues `item` if there is room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] with the item if a bounded queue is at
    /// capacity; [`TrySendError::Disconnected`] with it if the queue is closed.
    #[inline]
    pub fn try_put(&self, item: T) -> Result<(), TrySendError<T>> {
        self.chan.put(item, None).map_err(|(item, why)| match why {
            Refusal::Closed => TrySendError::Disconnected(item),
            Refusal::Full | Refusal::TimedOut => TrySendError::Full(item),
        })
    }

    /// Like [`put`](Self::put), giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] with the item if a bounded queue stayed
    /// full; [`SendTimeoutError::Disconnected`] with it if the queue is closed.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let deadline = Instant::now().checked_add(timeout);
        self.chan
            .put(item, Some(deadline))
            .map_err(|(item, why)| match why {
                Refusal::Closed => SendTimeoutError::Disconnected(item),
                Refusal::Full | Refusal::TimedOut => SendTimeoutError::Timeout(item),
            })
    }

    /// True once the queue refuses puts (closed, or its consumer dropped).
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Items queued and not yet moved out by the consumer.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// True when [`len`](Self::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity of a bounded queue; `None` when unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.chan.capacity()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender::new(self.chan.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("chan", &self.chan).finish()
    }
}

//! `Sender`: the producer end of a `PollableQueue`, usable from any thread.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::chan::{Chan, Refusal};
use crate::sync::{PutError, PutTimeoutError, TryPutError};

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
/// use weft::bridge::{PollableQueue, TryPutError};
///
/// let q = PollableQueue::bounded(1).unwrap();
/// let tx = q.sender();
/// tx.put("first").unwrap();
/// // Full: the item comes back.
/// assert_eq!(tx.try_put("second"), Err(TryPutError::Full("second")));
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
    /// [`PutError`] with the item if the queue was closed or its consumer
    /// dropped (also while waiting for room).
    #[inline]
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.chan
            .put(item, Some(None))
            .map_err(|(item, _)| PutError(item))
    }

    /// Queues `item` if there is room now.
    ///
    /// # Errors
    ///
    /// [`TryPutError::Full`] with the item if a bounded queue is at
    /// capacity; [`TryPutError::Closed`] with it if the queue is closed.
    #[inline]
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.chan.put(item, None).map_err(|(item, why)| match why {
            Refusal::Closed => TryPutError::Closed(item),
            Refusal::Full | Refusal::TimedOut => TryPutError::Full(item),
        })
    }

    /// Like [`put`](Self::put), giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// [`PutTimeoutError::Timeout`] with the item if a bounded queue stayed
    /// full; [`PutTimeoutError::Closed`] with it if the queue is closed.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutTimeoutError<T>> {
        let deadline = Instant::now().checked_add(timeout);
        self.chan
            .put(item, Some(deadline))
            .map_err(|(item, why)| match why {
                Refusal::Closed => PutTimeoutError::Closed(item),
                Refusal::Full | Refusal::TimedOut => PutTimeoutError::Timeout(item),
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

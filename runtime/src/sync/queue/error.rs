//! The errors of the queue family, in crossbeam-channel's style: the send
//! side always gives the unsent item back.

use std::error::Error;
use std::fmt;

/// `put` on a closed queue; the item comes back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PutError<T>(pub T);

/// Why `try_put` did not put; the item comes back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue is at its `maxsize` (Python's `queue.Full`).
    Full(T),
    /// The queue is closed.
    Closed(T),
}

/// Why `put_timeout` did not put; the item comes back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutTimeoutError<T> {
    /// The queue stayed full until the timeout (Python's `queue.Full`).
    Timeout(T),
    /// The queue is closed.
    Closed(T),
}

/// `get` on a queue that is closed and drained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetError;

/// Why `try_get` got nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryGetError {
    /// Nothing is queued (Python's `queue.Empty`).
    Empty,
    /// The queue is closed and drained.
    Closed,
}

/// Why `get_timeout` got nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetTimeoutError {
    /// Nothing arrived before the timeout (Python's `queue.Empty`).
    Timeout,
    /// The queue is closed and drained.
    Closed,
}

/// `task_done` called more times than items were put:
/// `task_done() called too many times`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskDoneError;

impl<T> PutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(t) | TryPutError::Closed(t) => t,
        }
    }

    /// True for [`TryPutError::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, TryPutError::Full(_))
    }

    /// True for [`TryPutError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, TryPutError::Closed(_))
    }
}

impl<T> PutTimeoutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutTimeoutError::Timeout(t) | PutTimeoutError::Closed(t) => t,
        }
    }

    /// True for [`PutTimeoutError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, PutTimeoutError::Timeout(_))
    }

    /// True for [`PutTimeoutError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, PutTimeoutError::Closed(_))
    }
}

impl TryGetError {
    /// True for [`TryGetError::Empty`].
    pub fn is_empty(&self) -> bool {
        matches!(self, TryGetError::Empty)
    }

    /// True for [`TryGetError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, TryGetError::Closed)
    }
}

impl GetTimeoutError {
    /// True for [`GetTimeoutError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, GetTimeoutError::Timeout)
    }

    /// True for [`GetTimeoutError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, GetTimeoutError::Closed)
    }
}

// The item may not be `Debug`, so the send-side errors never print it.

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PutError(..)")
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryPutError::Full(_) => "Full(..)",
            TryPutError::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> fmt::Debug for PutTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PutTimeoutError::Timeout(_) => "Timeout(..)",
            PutTimeoutError::Closed(_) => "Closed(..)",
        })
    }
}

const CLOSED_PUT: &str = "putting on a closed queue";
const CLOSED_GET: &str = "getting from a closed and empty queue";

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CLOSED_PUT)
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryPutError::Full(_) => "putting on a full queue",
            TryPutError::Closed(_) => CLOSED_PUT,
        })
    }
}

impl<T> fmt::Display for PutTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PutTimeoutError::Timeout(_) => "timed out putting on a full queue",
            PutTimeoutError::Closed(_) => CLOSED_PUT,
        })
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CLOSED_GET)
    }
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryGetError::Empty => "getting from an empty queue",
            TryGetError::Closed => CLOSED_GET,
        })
    }
}

impl fmt::Display for GetTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GetTimeoutError::Timeout => "timed out getting from an empty queue",
            GetTimeoutError::Closed => CLOSED_GET,
        })
    }
}

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl<T> Error for PutError<T> {}
impl<T> Error for TryPutError<T> {}
impl<T> Error for PutTimeoutError<T> {}
impl Error for GetError {}
impl Error for TryGetError {}
impl Error for GetTimeoutError {}
impl Error for TaskDoneError {}

impl<T> From<PutError<T>> for TryPutError<T> {
    fn from(e: PutError<T>) -> Self {
        TryPutError::Closed(e.0)
    }
}

impl<T> From<PutError<T>> for PutTimeoutError<T> {
    fn from(e: PutError<T>) -> Self {
        PutTimeoutError::Closed(e.0)
    }
}

impl From<GetError> for TryGetError {
    fn from(_: GetError) -> Self {
        TryGetError::Closed
    }
}

impl From<GetError> for GetTimeoutError {
    fn from(_: GetError) -> Self {
        GetTimeoutError::Closed
    }
}

//! `LoopError`: why one loop of a `Loops` set did not return a value.

use std::any::Any;
use std::fmt;

use crate::runtime::RunError;

/// Why one loop of a [`Loops`](super::Loops) set failed, naming the loop.
///
/// # Examples
///
/// ```
/// let loops = weft::Loops::spawn(2, |lp: weft::Loop| {
///     if lp.index() == 1 {
///         panic!("loop one gives up");
///     }
///     lp.wait_stop(); // loop 0 is told to stop when loop 1 fails
/// })
/// .unwrap();
/// let err = loops.join().unwrap_err();
/// assert_eq!(err.index(), 1);
/// assert_eq!(err.panic_message(), Some("loop one gives up"));
/// assert_eq!(err.to_string(), "weft loop 1 of 2 panicked: loop one gives up");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum LoopError {
    /// The loop's closure panicked.
    Panicked {
        /// The loop.
        index: usize,
        /// Loops in the set.
        count: usize,
        /// The panic message (`"Box<dyn Any>"` when it was not a string).
        message: String,
    },
    /// The loop's runtime failed: a deadlock, or its poller.
    Run {
        /// The loop.
        index: usize,
        /// Loops in the set.
        count: usize,
        /// What the runtime reported.
        error: RunError,
    },
}

impl LoopError {
    pub(crate) fn panicked(index: usize, count: usize, payload: &(dyn Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "Box<dyn Any>".to_owned());
        LoopError::Panicked {
            index,
            count,
            message,
        }
    }

    /// The index of the loop that failed.
    pub fn index(&self) -> usize {
        match self {
            LoopError::Panicked { index, .. } | LoopError::Run { index, .. } => *index,
        }
    }

    /// True if the loop's closure panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, LoopError::Panicked { .. })
    }

    /// The panic message, if the closure panicked with a string.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            LoopError::Panicked { message, .. } => Some(message),
            LoopError::Run { .. } => None,
        }
    }
}

impl fmt::Display for LoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoopError::Panicked {
                index,
                count,
                message,
            } => write!(f, "weft loop {index} of {count} panicked: {message}"),
            LoopError::Run {
                index,
                count,
                error,
            } => write!(f, "weft loop {index} of {count} failed: {error}"),
        }
    }
}

impl std::error::Error for LoopError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoopError::Run { error, .. } => Some(error),
            LoopError::Panicked { .. } => None,
        }
    }
}

//! The error for releasing what the caller does not hold.

use std::error::Error;
use std::fmt;

/// A release that the seeds call an error: nothing is changed.
///
/// The `Display` text is the seed's message, so ported programs print what
/// Python would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReleaseError {
    /// [`Lock::release`](super::Lock::release) on a lock nobody holds:
    /// `release unlocked lock`.
    Unlocked,
    /// [`RLock::release`](super::RLock::release) by a task that does not own
    /// it: `cannot release un-acquired lock`.
    NotOwner,
    /// [`BoundedSemaphore::release`](super::BoundedSemaphore::release) past
    /// its initial value: `Semaphore released too many times`.
    TooManyReleases,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseError::Unlocked => "release unlocked lock",
            ReleaseError::NotOwner => "cannot release un-acquired lock",
            ReleaseError::TooManyReleases => "Semaphore released too many times",
        })
    }
}

impl Error for ReleaseError {}

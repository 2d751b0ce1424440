//! `Summary`: what a [`Server`](super::Server) did, returned by
//! [`Server::serve`](super::Server::serve) after the drain.

use std::fmt;

/// Counts of a server's connections, from
/// [`Server::serve`](super::Server::serve) once the drain is over.
///
/// Every accepted connection ends one way: `served` (its handler returned
/// `Ok`), `failed` (it returned an error; `timed_out` of those through the
/// idle timeout) or `cancelled` (still running at the drain deadline).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections whose handler returned `Ok`.
    pub served: u64,
    /// Connections whose handler returned an error, `timed_out` included.
    pub failed: u64,
    /// Connections closed by the idle timeout (no byte either way for the
    /// whole timeout).
    pub timed_out: u64,
    /// Connections the drain found idle and closed (read side shut).
    pub closed_idle: u64,
    /// Connections still running when the drain deadline passed.
    pub active_at_deadline: u64,
    /// Connections cancelled at the deadline (their destructors ran).
    pub cancelled: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted {}, served {}, failed {} ({} idle timeouts), closed idle at shutdown {}, \
             active at the drain deadline {}, cancelled {}",
            self.accepted,
            self.served,
            self.failed,
            self.timed_out,
            self.closed_idle,
            self.active_at_deadline,
            self.cancelled
        )
    }
}

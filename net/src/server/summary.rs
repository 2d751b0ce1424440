//! `Summary`: what a [`Server`](super::Server) did, returned by
//! [`Server::serve`](super::Server::serve) after the drain.

use std::fmt;

/// Counts of a server's connections, from
/// [`Server::serve`](super::Server::serve) once the drain is over.
///
/// Every accepted connection ends one way: `served` (its handler returned
/// `Ok`), `failed` (it returned an error; `timed_out` of those through the
/// idle timeout) or `cancelled` (still running at the drain deadline).
/// `Display` gives it as one line, for a log.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use weft_net::{Server, TcpStream};
///
/// let summary = weft_runtime::Runtime::new().unwrap().block_on(|| {
///     let server = Server::bind("127.0.0.1:0").unwrap();
///     let addr = server.local_addr().unwrap();
///     let stop = server.shutdown_handle();
///     weft_runtime::spawn(move || {
///         TcpStream::connect(addr).unwrap().write_all(b"bye").unwrap();
///         weft_runtime::sleep(std::time::Duration::from_millis(50));
///         stop.shutdown();
///     });
///     server.serve(|_conn| Err(std::io::Error::other("refused"))).unwrap()
/// }).unwrap();
/// assert_eq!((summary.accepted, summary.failed), (1, 1));
/// assert!(summary.to_string().starts_with("accepted 1, served 0, failed 1"));
/// ```
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

impl std::ops::AddAssign<&Summary> for Summary {
    fn add_assign(&mut self, other: &Summary) {
        self.accepted += other.accepted;
        self.served += other.served;
        self.failed += other.failed;
        self.timed_out += other.timed_out;
        self.closed_idle += other.closed_idle;
        self.active_at_deadline += other.active_at_deadline;
        self.cancelled += other.cancelled;
    }
}

/// The totals of several servers: one server run on several loops (see
/// [`ShutdownHandle`](super::ShutdownHandle)'s `FromIterator`), counted as one.
impl<'a> std::iter::Sum<&'a Summary> for Summary {
    fn sum<I: Iterator<Item = &'a Summary>>(iter: I) -> Summary {
        iter.fold(Summary::default(), |mut total, s| {
            total += s;
            total
        })
    }
}

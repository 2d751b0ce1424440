//! What `accept` does when the process runs out of file descriptors.
//!
//! EMFILE/ENFILE leave the pending connection in the kernel's queue, so the
//! listener stays readable and retrying at once would spin. Instead the
//! accepting green thread sleeps on a timer, doubling the pause up to a cap,
//! and tries again; every other green thread (the open connections) keeps
//! running meanwhile. The condition is logged at most once per interval.

use std::cell::Cell;
use std::io;
use std::time::{Duration, Instant};

use mio::event::Source;
use weft_runtime::Registration;

/// The first pause after an exhausted `accept`.
const FIRST: Duration = Duration::from_millis(1);
/// The longest pause: how late a freed descriptor can be noticed.
const CAP: Duration = Duration::from_millis(100);
/// At most one warning per this interval while exhausted.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// One listener's back-off state.
#[derive(Debug, Default)]
pub(crate) struct AcceptBackoff {
    /// The next pause; zero while accepting works.
    delay: Cell<Duration>,
    /// When the last warning was logged, to rate-limit them.
    last_log: Cell<Option<Instant>>,
    /// Failed attempts since the last warning, reported with the next one.
    failures: Cell<u64>,
}

impl AcceptBackoff {
    /// Runs `accept` on `io` until it yields a connection: parks while
    /// nothing is pending, retries `ECONNABORTED` at once and waits out
    /// descriptor exhaustion on a timer.
    ///
    /// # Errors
    ///
    /// Any other error from `accept`.
    pub(crate) fn accept<S: Source, T>(
        &self,
        io: &Registration<S>,
        mut accept: impl FnMut(&S) -> io::Result<T>,
    ) -> io::Result<T> {
        loop {
            match io.read_with(&mut accept) {
                Ok(conn) => {
                    self.reset();
                    return Ok(conn);
                }
                Err(e) if Self::is_exhaustion(&e) => self.wait(&e),
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// True for errors that mean "no descriptor or buffer to accept into
    /// right now": worth waiting out rather than returning.
    fn is_exhaustion(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        )
    }

    /// Logs `e` (rate-limited) and sleeps the calling green thread for the
    /// current pause, then doubles it.
    #[cold]
    fn wait(&self, e: &io::Error) {
        self.failures.set(self.failures.get() + 1);
        let now = Instant::now();
        let due = self
            .last_log
            .get()
            .is_none_or(|at| now.duration_since(at) >= LOG_EVERY);
        if due {
            tracing::warn!(
                error = %e,
                failed_attempts = self.failures.get(),
                "accept: out of file descriptors; backing off (open connections are still served)"
            );
            self.last_log.set(Some(now));
            self.failures.set(0);
        }
        let delay = self.delay.get().max(FIRST);
        self.delay.set((delay * 2).min(CAP));
        weft_runtime::sleep(delay);
    }

    /// Called after a successful accept: ends a back-off, if one was running.
    #[inline]
    fn reset(&self) {
        if self.delay.get() != Duration::ZERO {
            self.recovered();
        }
    }

    #[cold]
    fn recovered(&self) {
        tracing::info!("accept: file descriptors available again");
        self.delay.set(Duration::ZERO);
        self.last_log.set(None);
        self.failures.set(0);
    }
}

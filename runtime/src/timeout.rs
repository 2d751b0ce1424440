//! `weft::timeout`: gevent's `Timeout` for a block of green code.
//!
//! The running task's record holds the innermost scope's deadline (or an
//! outer one's, if that ends sooner). Every park in the scope gets that
//! deadline as well as its own; when the scope's deadline is what ends a
//! park (or has already passed when a park starts), the park unwinds with
//! an `ElapsedUnwind` carrying the scope's id, destructors run on the way
//! out, and the `timeout` call with that id turns it into `Err(Elapsed)`.
//! A scope in an outer `timeout` whose deadline passes first is not caught
//! by the inner one: it unwinds on to its own call.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::context;
use crate::scheduler::ElapsedUnwind;

/// Scope ids, unique in the process.
static NEXT_SCOPE: AtomicU64 = AtomicU64::new(1);

/// The error of [`timeout`]: the deadline passed while the code waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `f` in the calling green thread with a deadline `duration` from now,
/// like gevent's `Timeout`: if the deadline passes while `f` waits on
/// anything (a lock, a queue, a condition, a sleep, a join, socket I/O),
/// that wait unwinds, `f`'s destructors run, and `timeout` returns
/// `Err(Elapsed)`. Timeouts nest: the one whose deadline passes first is the
/// one that returns `Err`; an inner `timeout` never swallows an outer one.
///
/// Code that computes without waiting is not stopped (nothing can be, on
/// one thread); once `f` returns, its value is returned even if late.
///
/// # Errors
///
/// [`Elapsed`] when the deadline passed while `f` was waiting.
///
/// # Panics
///
/// Panics outside a green thread. A panic in `f` goes on unwinding through
/// `timeout`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// weft::Runtime::new().unwrap().block_on(|| {
///     let queue = weft::sync::Queue::<u32>::new(0);
///     let got = weft::timeout(Duration::from_millis(20), || queue.get());
///     assert_eq!(got, Err(weft::Elapsed::new()));
///     let fast = weft::timeout(Duration::from_secs(5), || 7);
///     assert_eq!(fast, Ok(7));
/// }).unwrap();
/// ```
pub fn timeout<T>(duration: Duration, f: impl FnOnce() -> T) -> Result<T, Elapsed> {
    if !context::in_green_thread() {
        context::outside_runtime("weft::timeout");
    }
    let Some(deadline) = Instant::now().checked_add(duration) else {
        return Ok(f()); // "never" is no deadline at all
    };
    let id = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed);
    let outer = context::with_core("weft::timeout", |core| core.swap_scope(None));
    let scope = match outer {
        Some((outer_deadline, _)) if outer_deadline <= deadline => outer,
        _ => Some((deadline, id)),
    };
    context::with_core("weft::timeout", |core| core.swap_scope(scope));
    struct Restore(Option<(Instant, u64)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            context::with_core("weft::timeout", |core| core.swap_scope(self.0));
        }
    }
    let restore = Restore(outer);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    drop(restore);
    match result {
        Ok(v) => Ok(v),
        Err(p) if p.downcast_ref::<ElapsedUnwind>().is_some_and(|e| e.0 == id) => Err(Elapsed(())),
        Err(p) => panic::resume_unwind(p),
    }
}

impl Elapsed {
    /// The error value (for comparisons in tests and examples).
    pub fn new() -> Elapsed {
        Elapsed(())
    }
}

impl Default for Elapsed {
    fn default() -> Self {
        Elapsed::new()
    }
}

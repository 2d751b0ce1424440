//! `spawn_blocking`: run a blocking or CPU-heavy call on a worker thread
//! while the calling green thread parks and the loop runs the others.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

use super::remote_unparker::RemoteUnparker;
use crate::context;
use crate::park::{self, Reason};
use crate::task::JoinError;

/// Runs `f` on a worker OS thread and parks the calling green thread until
/// it returns, then gives its value back. The loop keeps running every other
/// green thread meanwhile: the classic "delegate the blocking operation to a
/// separate thread".
///
/// Workers come from the runtime's pool: started on demand up to
/// [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads)
/// (64 by default), reaped after 10 s idle; calls beyond that wait in a
/// queue. The result comes back through the loop's cross-thread waker, so
/// the loop never blocks on it. Called from an OS thread (outside any green
/// thread), `f` simply runs there.
///
/// # Errors
///
/// [`JoinError::Panicked`] with the payload if `f` panicked (the worker
/// survives); [`JoinError::Cancelled`] if the runtime dropped the job before
/// it ran.
///
/// # Examples
///
/// ```
/// weft::Runtime::new().unwrap().block_on(|| {
///     let eight = weft::spawn_blocking(|| 2i32.pow(3)).unwrap();
///     assert_eq!(eight, 8);
///     assert!(weft::spawn_blocking(|| panic!("boom")).unwrap_err().is_panic());
/// }).unwrap();
/// ```
pub fn spawn_blocking<F, T>(f: F) -> Result<T, JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_blocking_until(f, None)
}

/// Like [`spawn_blocking`], but the green thread waits at most `timeout`
/// for the result. On timeout `f` keeps running on its worker (a thread
/// cannot be stopped) and its value is dropped when it returns.
///
/// # Errors
///
/// As for [`spawn_blocking`], plus [`JoinError::TimedOut`] when `timeout`
/// passed first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// weft::Runtime::new().unwrap().block_on(|| {
///     let slow = weft::bridge::spawn_blocking_timeout(Duration::from_millis(10), || {
///         std::thread::sleep(Duration::from_millis(200));
///     });
///     assert!(slow.unwrap_err().is_timeout());
/// }).unwrap();
/// ```
pub fn spawn_blocking_timeout<F, T>(timeout: std::time::Duration, f: F) -> Result<T, JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_blocking_until(f, crate::sync::deadline_after(timeout))
}

fn spawn_blocking_until<F, T>(f: F, deadline: Option<std::time::Instant>) -> Result<T, JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if !context::in_green_thread() {
        return panic::catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::Panicked);
    }
    let done = Arc::new(Completion::new());
    let mut guard = CompleteOnDrop(Some(done.clone()));
    let job = Box::new(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::Panicked);
        guard.complete(result);
    });
    let refused = context::with_core("spawn_blocking", |core| core.blocking.submit(job));
    if let Err(job) = refused {
        // No worker thread could be started: run it here rather than hang.
        job();
    }
    done.wait(deadline)
}

/// Where a job leaves its result for the green thread that waits on it.
struct Completion<T> {
    slot: Mutex<Slot<T>>,
}

struct Slot<T> {
    result: Option<Result<T, JoinError>>,
    /// The waiting green thread's park, if it has parked.
    waiter: Option<RemoteUnparker>,
}

impl<T> Completion<T> {
    fn new() -> Self {
        Completion {
            slot: Mutex::new(Slot {
                result: None,
                waiter: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Parks until the result is in. A fresh waiter is left on every park,
    /// so whatever ends a park, the job's wake always reaches the current one.
    fn wait(&self, deadline: Option<std::time::Instant>) -> Result<T, JoinError> {
        loop {
            {
                let mut slot = self.lock();
                if let Some(result) = slot.result.take() {
                    return result;
                }
                slot.waiter = Some(RemoteUnparker::current());
            }
            let wake = park::park_timed(Reason::Bridge("spawn_blocking"), deadline);
            if wake == park::Wake::TimedOut {
                let mut slot = self.lock();
                return match slot.result.take() {
                    Some(result) => result,
                    None => {
                        slot.waiter = None;
                        Err(JoinError::TimedOut)
                    }
                };
            }
        }
    }
}

/// Completes the job's `Completion` exactly once: with its result, or with
/// `Cancelled` if the job is dropped without running (so no waiter hangs).
struct CompleteOnDrop<T>(Option<Arc<Completion<T>>>);

impl<T> CompleteOnDrop<T> {
    fn complete(&mut self, result: Result<T, JoinError>) {
        if let Some(done) = self.0.take() {
            let waiter = {
                let mut slot = done.lock();
                slot.result = Some(result);
                slot.waiter.take()
            };
            if let Some(waiter) = waiter {
                waiter.unpark();
            }
        }
    }
}

impl<T> Drop for CompleteOnDrop<T> {
    fn drop(&mut self) {
        self.complete(Err(JoinError::Cancelled));
    }
}

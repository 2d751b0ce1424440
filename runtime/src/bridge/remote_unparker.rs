//! `RemoteUnparker`: wakes a parked green thread from any OS thread.
//!
//! An [`Unparker`] only means something on its runtime's thread, so it is
//! `!Send`. This pairs it with a [`Handle`] to the same runtime: `unpark`
//! sends a tiny job through the handle (the loop's cross-thread waker), and
//! the job calls the unparker on the runtime thread. Used where an OS thread
//! ends a green wait: a finished `spawn_blocking` job, room freed in a
//! bounded `PollableQueue`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::context;
use crate::handle::Handle;
use crate::park::Unparker;

/// A `Send` token that ends one particular park of one green thread.
pub(crate) struct RemoteUnparker {
    /// Reaches the loop of the runtime the unparker belongs to.
    handle: Handle,
    unparker: SendUnparker,
    /// Unique per token (a task id and park number repeat across runtimes).
    id: u64,
}

/// Hands out `RemoteUnparker` ids.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl RemoteUnparker {
    /// The token for the calling green thread's next park.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub(crate) fn current() -> Self {
        let unparker = Unparker::current();
        let handle = context::with_core("RemoteUnparker", |core| Handle::new(core.remote.clone()));
        RemoteUnparker {
            handle,
            unparker: SendUnparker(unparker),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Tells this token from every other one, across runtimes.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Wakes the park, if it is still going on, from any thread. The woken
    /// task joins the ready queue the next time the loop polls. If the
    /// runtime is gone there is nobody left to wake, and nothing happens.
    pub(crate) fn unpark(self) {
        let u = self.unparker;
        let _ = self.handle.spawn(move || u.unpark());
    }
}

impl fmt::Debug for RemoteUnparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteUnparker")
            .field("task", &self.unparker.0.task())
            .finish()
    }
}

/// An `Unparker` that may cross threads inside a `RemoteUnparker`.
struct SendUnparker(Unparker);

// SAFETY: an `Unparker` is plain data (a task id and a park number); it is
// `!Send` only because `unpark` acts on whichever runtime runs on the calling
// thread. A `SendUnparker` is only ever unparked by the job `RemoteUnparker`
// sends through a `Handle` taken from the same runtime that minted it, and
// such jobs run only on that runtime's loop thread.
unsafe impl Send for SendUnparker {}

impl SendUnparker {
    /// Takes `self` whole, so a `move` closure captures the wrapper rather
    /// than the `!Send` field.
    fn unpark(self) -> bool {
        self.0.unpark()
    }
}

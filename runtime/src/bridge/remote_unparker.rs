//! `RemoteUnparker`: wakes a parked green thread from any OS thread.
//!
//! An [`Unparker`] only acts on its runtime's thread, so it is `!Send`. This
//! carries the same (task, park number) pair together with the runtime's
//! cross-thread request queue: `unpark` queues an unpark request and the
//! loop's waker fires; the loop then unparks on its own thread. Used where
//! an OS thread ends a green wait: a finished `spawn_blocking` job, room
//! freed in a bounded `PollableQueue`.

use std::fmt;
use std::sync::Arc;

use crate::context;
use crate::handle::Remote;
use crate::park::Unparker;
use crate::task::TaskId;

/// A `Send` token that ends one particular park of one green thread.
pub(crate) struct RemoteUnparker {
    /// The loop of the runtime the park belongs to.
    remote: Arc<Remote>,
    /// The parked task.
    task: TaskId,
    /// Which of its parks.
    seq: u32,
}

impl RemoteUnparker {
    /// The token for the calling green thread's next park.
    ///
    /// # Panics
    ///
    /// Panics outside a green thread.
    pub(crate) fn current() -> Self {
        let unparker = Unparker::current();
        let remote = context::with_core("RemoteUnparker", |core| core.remote.clone());
        RemoteUnparker {
            remote,
            task: unparker.task(),
            seq: unparker.seq(),
        }
    }

    /// Wakes the park, if it is still going on, from any thread. The woken
    /// task joins the ready queue the next time the loop polls. If the
    /// runtime is gone there is nobody left to wake, and nothing happens.
    pub(crate) fn unpark(self) {
        let _ = self.remote.unpark(self.task, self.seq);
    }
}

impl fmt::Debug for RemoteUnparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteUnparker")
            .field("task", &self.task)
            .finish()
    }
}

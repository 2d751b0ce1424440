//! The registration of a queue's read end with the runtime whose green
//! threads wait on it, made on the first wait and kept for the next ones.
//!
//! A queue can be made outside any runtime and moved between OS threads, but
//! a `Registration` belongs to one runtime (it holds that runtime's reactor
//! in an `Rc`). So the cache remembers the runtime and the OS thread it was
//! made on, and touches the registration only there: waiting in another
//! runtime replaces it, and a queue dropped on another OS thread forgets it
//! (leaking that registration rather than touching the `Rc` from the wrong
//! thread).

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::thread::{self, ThreadId};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use crate::context;
use crate::io::{Reactor, Registration};

/// A borrowed descriptor as a `mio` source. The owner keeps the descriptor
/// open for as long as any registration of it lives.
#[derive(Debug)]
pub(crate) struct ReadFd(RawFd);

impl Source for ReadFd {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.0).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.0).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.0).deregister(registry)
    }
}

struct Cached {
    /// Which runtime it belongs to: compared, never dereferenced. The
    /// registration keeps that reactor alive, so no other can share the address.
    reactor: *const Reactor,
    /// The OS thread that runtime runs on: the only place `reg` is touched.
    thread: ThreadId,
    reg: Registration<ReadFd>,
}

/// A lazily made, per-runtime registration of one descriptor.
pub(crate) struct CachedRegistration {
    inner: RefCell<Option<Cached>>,
}

// SAFETY: the only `!Send` part is the `Registration` (its `Rc<Reactor>`).
// It is used and dropped only on `thread`, the OS thread whose runtime made
// it: `with` and `drop` check the reactor/thread first and, anywhere else,
// never touch it (a stale one met on another thread is forgotten, not
// dropped). The `RefCell` keeps the whole type `!Sync`.
unsafe impl Send for CachedRegistration {}

impl CachedRegistration {
    pub(crate) fn new() -> Self {
        CachedRegistration {
            inner: RefCell::new(None),
        }
    }

    /// Calls `f` with `fd`'s registration in the running runtime, making it
    /// first if this runtime has none yet.
    ///
    /// # Errors
    ///
    /// Any error registering the descriptor with the OS poller.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime.
    pub(crate) fn with<R>(
        &self,
        fd: RawFd,
        f: impl FnOnce(&Registration<ReadFd>) -> R,
    ) -> io::Result<R> {
        let here = context::with_core("PollableQueue", |core| Rc::as_ptr(&core.reactor));
        let mut inner = self.inner.borrow_mut();
        if inner.as_ref().is_none_or(|c| c.reactor != here) {
            if let Some(old) = inner.take() {
                release(old);
            }
            *inner = Some(Cached {
                reactor: here,
                thread: thread::current().id(),
                reg: Registration::new(ReadFd(fd))?,
            });
        }
        let cached = inner.as_ref().expect("registered just above");
        Ok(f(&cached.reg))
    }
}

/// Drops `old` on its own thread, forgets it anywhere else.
fn release(old: Cached) {
    if old.thread == thread::current().id() {
        drop(old.reg);
    } else {
        std::mem::forget(old.reg);
    }
}

impl Drop for CachedRegistration {
    fn drop(&mut self) {
        if let Some(old) = self.inner.get_mut().take() {
            release(old);
        }
    }
}

impl fmt::Debug for CachedRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registered = self.inner.try_borrow().map(|c| c.is_some()).ok();
        f.debug_struct("CachedRegistration")
            .field("registered", &registered)
            .finish()
    }
}

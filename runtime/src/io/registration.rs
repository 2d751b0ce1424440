//! `Registration`: a `mio::event::Source` registered with the running
//! runtime's reactor, read and written try-then-park.

use std::fmt;
use std::io;
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::time::Instant;

use mio::event::Source;

use super::reactor::{Direction, Reactor};
use crate::context;
use crate::park::{self, Reason, Unparker, Wake};

/// The token of a registration whose source `into_inner` took out. The
/// reactor's slab never hands it out (it is `WAKER_TOKEN`'s value).
const TAKEN: usize = usize::MAX;

/// Any `mio::event::Source` registered with the running runtime, with
/// try-then-park operations: the public extension point `weft-net` is built on.
///
/// One green thread may wait to read and another to write at the same time
/// (full duplex). A second green thread waiting on the same direction gets
/// `ErrorKind::ResourceBusy`.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use weft::Registration;
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
///     a.set_nonblocking(true).unwrap();
///     b.set_nonblocking(true).unwrap();
///     let a = Registration::new(mio::net::UnixStream::from_std(a)).unwrap();
///     let b = Registration::new(mio::net::UnixStream::from_std(b)).unwrap();
///     let reader = weft::spawn(move || {
///         let mut buf = [0; 5];
///         let n = a.read_with(|mut s| s.read(&mut buf)).unwrap(); // parks until b writes
///         buf[..n].to_vec()
///     });
///     weft::yield_now();
///     b.write_with(|mut s| s.write(b"hello")).unwrap();
///     assert_eq!(reader.join().unwrap(), b"hello");
/// }).unwrap();
/// ```
pub struct Registration<S: Source> {
    /// The source. `ManuallyDrop` so `into_inner` can move it out; `Drop`
    /// drops it after deregistering it.
    source: ManuallyDrop<S>,
    token: usize,
    /// Keeps the poller alive for deregistration even if this outlives a run.
    reactor: Rc<Reactor>,
}

impl<S: Source> Registration<S> {
    /// Registers `source` (already non-blocking) for read and write readiness.
    ///
    /// # Errors
    ///
    /// Any error registering it with the OS poller.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime.
    pub fn new(mut source: S) -> io::Result<Self> {
        let reactor = context::with_core("Registration::new", |core| core.reactor.clone());
        let token = reactor.register(&mut source)?;
        Ok(Registration {
            source: ManuallyDrop::new(source),
            token,
            reactor,
        })
    }

    /// The source.
    pub fn get_ref(&self) -> &S {
        &self.source
    }

    /// The source, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// Runs `op` until it does not return `WouldBlock`, parking on read
    /// readiness in between.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns; `ResourceBusy` if another green thread already
    /// waits to read this source.
    #[inline]
    pub fn read_with<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.io(Direction::Read, None, op)
    }

    /// Like [`read_with`](Self::read_with), giving up at `deadline` with
    /// `ErrorKind::TimedOut`.
    ///
    /// # Errors
    ///
    /// As for `read_with`, plus `TimedOut`.
    #[inline]
    pub fn read_with_deadline<R>(
        &self,
        deadline: Option<Instant>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io(Direction::Read, deadline, op)
    }

    /// Runs `op` until it does not return `WouldBlock`, parking on write
    /// readiness in between.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns; `ResourceBusy` if another green thread already
    /// waits to write this source.
    #[inline]
    pub fn write_with<R>(&self, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.io(Direction::Write, None, op)
    }

    /// Like [`write_with`](Self::write_with), giving up at `deadline` with
    /// `ErrorKind::TimedOut`.
    ///
    /// # Errors
    ///
    /// As for `write_with`, plus `TimedOut`.
    #[inline]
    pub fn write_with_deadline<R>(
        &self,
        deadline: Option<Instant>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io(Direction::Write, deadline, op)
    }

    /// Returns at once when a read may succeed (no `WouldBlock` since the
    /// last read readiness event), else parks until read readiness (or
    /// `deadline`). Pair it with [`try_read_with`](Self::try_read_with) to
    /// wait without holding a buffer. Spends the fairness budget like an
    /// operation, so a source that is always ready cannot starve others.
    ///
    /// # Errors
    ///
    /// `TimedOut` at the deadline; `ResourceBusy` as for `read_with`.
    pub fn readable(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.ready_or_wait(Direction::Read, deadline)
    }

    /// Returns at once when a write may succeed, else parks until write
    /// readiness (or `deadline`); see [`readable`](Self::readable).
    ///
    /// # Errors
    ///
    /// `TimedOut` at the deadline; `ResourceBusy` as for `write_with`.
    pub fn writable(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.ready_or_wait(Direction::Write, deadline)
    }

    /// Runs `op` once, without parking. A `WouldBlock` from it marks the
    /// source not readable, so the next [`readable`](Self::readable) parks.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns, `WouldBlock` included.
    pub fn try_read_with<R>(&self, op: impl FnOnce(&S) -> io::Result<R>) -> io::Result<R> {
        self.try_io(Direction::Read, op)
    }

    /// Runs `op` once, without parking. A `WouldBlock` from it marks the
    /// source not writable, so the next [`writable`](Self::writable) parks.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns, `WouldBlock` included.
    pub fn try_write_with<R>(&self, op: impl FnOnce(&S) -> io::Result<R>) -> io::Result<R> {
        self.try_io(Direction::Write, op)
    }

    fn try_io<R>(&self, dir: Direction, op: impl FnOnce(&S) -> io::Result<R>) -> io::Result<R> {
        let result = op(&*self.source);
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.set_ready(dir, false);
        }
        result
    }

    fn ready_or_wait(&self, dir: Direction, deadline: Option<Instant>) -> io::Result<()> {
        yield_if_budget_exhausted();
        if self.is_ready(dir) {
            return Ok(());
        }
        self.wait(dir, deadline)
    }

    /// Deregisters the source and gives it back.
    ///
    /// # Errors
    ///
    /// Any error deregistering it from the OS poller.
    pub fn into_inner(mut self) -> io::Result<S> {
        let result = self.deregister();
        self.token = TAKEN;
        // SAFETY: `token` is now `TAKEN`, so `Drop` neither deregisters nor
        // drops `source` again: it is taken out exactly once, here.
        let source = unsafe { ManuallyDrop::take(&mut self.source) };
        result.map(|()| source)
    }

    fn deregister(&mut self) -> io::Result<()> {
        self.reactor.deregister(&mut *self.source, self.token)
    }

    fn io<R>(
        &self,
        dir: Direction,
        deadline: Option<Instant>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        // The fairness yield comes before the operation, not after it: a
        // task cancelled at that yield then loses nothing (an accepted
        // connection, bytes already read).
        yield_if_budget_exhausted();
        let mut ready = self.is_ready(dir);
        loop {
            if !ready {
                self.wait(dir, deadline)?;
            }
            match op(&*self.source) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.set_ready(dir, false);
                    ready = false;
                }
                result => return result,
            }
        }
    }

    /// Whether an operation in `dir` is worth trying before parking.
    #[inline]
    fn is_ready(&self, dir: Direction) -> bool {
        self.reactor.is_ready(self.token, dir)
    }

    #[inline]
    fn set_ready(&self, dir: Direction, ready: bool) {
        self.reactor.set_ready(self.token, dir, ready);
    }

    /// Tells the reactor the last read drained the source (a stream read
    /// that returned fewer bytes than asked for): the next read parks until
    /// new read readiness instead of first making a syscall that would only
    /// say `WouldBlock`. Saves one syscall per request/response round trip.
    ///
    /// Only for byte streams (TCP, Unix streams), where a short read means
    /// the receive buffer was empty; never after a datagram read. End of
    /// file and errors are still seen: once the peer closes, reads stop
    /// parking.
    #[inline]
    pub fn read_drained(&self) {
        self.set_ready(Direction::Read, false);
    }

    /// Tells the reactor the last write filled the source's send buffer (a
    /// stream write that took fewer bytes than offered): the next write parks
    /// until write readiness instead of first trying.
    #[inline]
    pub fn write_filled(&self) {
        self.set_ready(Direction::Write, false);
    }

    fn wait(&self, dir: Direction, deadline: Option<Instant>) -> io::Result<()> {
        let me = Unparker::current();
        self.arm(dir, me)?;
        let reason = match dir {
            Direction::Read => Reason::Readable,
            Direction::Write => Reason::Writable,
        };
        match park::park_timed(reason, deadline) {
            Wake::Unparked => Ok(()),
            Wake::TimedOut => {
                self.disarm(dir, me);
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "timed out waiting for the socket",
                ))
            }
            Wake::Interrupted => {
                self.disarm(dir, me);
                Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "the wait was interrupted (JoinHandle::interrupt)",
                ))
            }
        }
    }

    /// Leaves `waiter` in the read slot without parking, so one green thread
    /// can wait on several sources at once (`bridge::select`). The next read
    /// readiness event unparks it.
    ///
    /// # Errors
    ///
    /// `ResourceBusy` if another green thread is parked in the read slot.
    pub(crate) fn arm_read(&self, waiter: Unparker) -> io::Result<()> {
        self.arm(Direction::Read, waiter)
    }

    /// Takes `waiter` back out of the read slot. Returns `false` when it was
    /// no longer there: a read readiness event took it.
    pub(crate) fn disarm_read(&self, waiter: Unparker) -> bool {
        self.disarm(Direction::Read, waiter)
    }

    fn arm(&self, dir: Direction, me: Unparker) -> io::Result<()> {
        self.reactor.arm(self.token, dir, me)
    }

    fn disarm(&self, dir: Direction, me: Unparker) -> bool {
        self.reactor.disarm(self.token, dir, me)
    }
}

/// Yields when the running task has spent its fairness budget, so a task
/// whose I/O always succeeds cannot starve the others. Comes before an
/// operation, never after it: a task cancelled at this yield loses nothing.
#[inline]
fn yield_if_budget_exhausted() {
    if context::with_core("Registration", |core| core.budget_exhausted()) {
        crate::yield_now();
    }
}

impl<S: Source> Drop for Registration<S> {
    fn drop(&mut self) {
        if self.token == TAKEN {
            return; // `into_inner` gave the source away
        }
        let _ = self.deregister();
        // SAFETY: `source` is still in place (only `into_inner` takes it, and
        // it sets `TAKEN`) and is never used again after this drop.
        unsafe { ManuallyDrop::drop(&mut self.source) };
    }
}

impl<S: Source + fmt::Debug> fmt::Debug for Registration<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("source", &*self.source)
            .field("token", &self.token)
            .finish()
    }
}

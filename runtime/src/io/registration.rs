//! `Registration`: a `mio::event::Source` registered with the running
//! runtime's reactor, read and written try-then-park.

use std::fmt;
use std::io;
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::time::Instant;

use mio::event::Source;

use super::reactor::{Direction, Reactor};
use super::waiters::{WaiterKey, Waiters};
use crate::context;
use crate::park::{Reason, Unparker, Wake};
use crate::scheduler::Core;

/// Any `mio::event::Source` registered with the running runtime, with
/// try-then-park operations: the public extension point `weft-net` is built on.
///
/// Any number of green threads may wait on each direction at once (full
/// duplex, an acceptor pool, several readers of one stream). They queue
/// oldest first and one is woken per readiness event; a waiter that is done
/// with the readiness without having used it up (its operation took only
/// part of the bytes, or it was cancelled, or timed out just as readiness
/// picked it) hands it on to the next one, so no wakeup is ever lost. A
/// waiter woken for nothing (`WouldBlock` on the retry) keeps its place.
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
    /// Its waiter record; `None` once `into_inner` gave the source away.
    key: Option<WaiterKey>,
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
        let key = reactor.register(&mut source)?;
        Ok(Registration {
            source: ManuallyDrop::new(source),
            key: Some(key),
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
    /// Whatever `op` returns.
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
    /// Whatever `op` returns.
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
    /// `TimedOut` at the deadline.
    #[inline(always)]
    pub fn readable(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.ready_or_wait(Direction::Read, deadline)
    }

    /// Returns at once when a write may succeed, else parks until write
    /// readiness (or `deadline`); see [`readable`](Self::readable).
    ///
    /// # Errors
    ///
    /// `TimedOut` at the deadline.
    #[inline(always)]
    pub fn writable(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.ready_or_wait(Direction::Write, deadline)
    }

    /// Runs `op` once, without parking. A `WouldBlock` from it marks the
    /// source not readable, so the next [`readable`](Self::readable) parks.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns, `WouldBlock` included.
    #[inline]
    pub fn try_read_with<R>(&self, op: impl FnOnce(&S) -> io::Result<R>) -> io::Result<R> {
        self.try_io(Direction::Read, op)
    }

    /// Runs `op` once, without parking. A `WouldBlock` from it marks the
    /// source not writable, so the next [`writable`](Self::writable) parks.
    ///
    /// # Errors
    ///
    /// Whatever `op` returns, `WouldBlock` included.
    #[inline]
    pub fn try_write_with<R>(&self, op: impl FnOnce(&S) -> io::Result<R>) -> io::Result<R> {
        self.try_io(Direction::Write, op)
    }

    #[inline]
    fn try_io<R>(&self, dir: Direction, op: impl FnOnce(&S) -> io::Result<R>) -> io::Result<R> {
        let result = op(&*self.source);
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.set_ready(dir, false);
        }
        result
    }

    /// Inlined, with the park in the same frame (see `wait`).
    #[inline(always)]
    fn ready_or_wait(&self, dir: Direction, deadline: Option<Instant>) -> io::Result<()> {
        // SAFETY: used for this wait only, not kept.
        let core = unsafe { context::current_core("Registration") };
        let waiters = self.waiters();
        if self.reactor.is_ready(waiters, dir) {
            // Only a wait that does not park counts against the budget: a
            // park ends the task's run anyway (and its resume refills it).
            if core.budget_exhausted() {
                crate::yield_now();
            }
            return Ok(());
        }
        self.park_queued(core, waiters, dir, deadline, false)?;
        // The caller's operation comes after this returns; others waiting on
        // this direction try too, in case it does not use the readiness up.
        self.reactor.hand_on(waiters, dir);
        Ok(())
    }

    /// Deregisters the source and gives it back.
    ///
    /// # Errors
    ///
    /// Any error deregistering it from the OS poller.
    pub fn into_inner(mut self) -> io::Result<S> {
        let result = self.deregister();
        // SAFETY: `deregister` took the key, so `Drop` neither deregisters
        // nor drops `source` again: it is taken out exactly once, here.
        let source = unsafe { ManuallyDrop::take(&mut self.source) };
        result.map(|()| source)
    }

    /// Takes the source out of the poller, giving its record back.
    fn deregister(&mut self) -> io::Result<()> {
        match self.key.take() {
            Some(key) => self.reactor.deregister(&mut *self.source, key),
            None => Ok(()),
        }
    }

    /// The source's waiter record.
    #[inline]
    fn waiters(&self) -> &Waiters {
        match &self.key {
            Some(key) => key.get(),
            // Only `into_inner` takes the key, and it consumes `self`.
            None => unreachable!("a Registration used after into_inner"),
        }
    }

    #[inline(always)]
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
        if self.is_ready(dir) {
            match op(&*self.source) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.set_ready(dir, false),
                result => return result,
            }
        }
        let mut woken = false;
        loop {
            self.wait(dir, deadline, woken)?;
            woken = true;
            match op(&*self.source) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.set_ready(dir, false),
                result => {
                    // This task took the readiness; others waiting on this
                    // direction get their turn if it may not be used up.
                    self.reactor.hand_on(self.waiters(), dir);
                    return result;
                }
            }
        }
    }

    /// Whether an operation in `dir` is worth trying before parking.
    #[inline]
    fn is_ready(&self, dir: Direction) -> bool {
        self.reactor.is_ready(self.waiters(), dir)
    }

    #[inline]
    fn set_ready(&self, dir: Direction, ready: bool) {
        self.reactor.set_ready(self.waiters(), dir, ready);
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

    /// Parks until readiness in `dir` (or `deadline`), queued behind the
    /// green threads already waiting on it; ahead of them if `again` (this
    /// task was woken and found nothing, so it keeps its place).
    #[inline(always)]
    fn wait(&self, dir: Direction, deadline: Option<Instant>, again: bool) -> io::Result<()> {
        // SAFETY: used for this wait only, not kept.
        let core = unsafe { context::current_core("Registration") };
        self.park_queued(core, self.waiters(), dir, deadline, again)
    }

    /// Parks the running task until readiness in `dir` (or `deadline`),
    /// queued on `dir` for the park's length: behind the green threads
    /// already waiting there, or ahead of them when `again`.
    ///
    /// The park is prepared before the task is queued, so a cancellation
    /// or an elapsed `timeout` scope that unwinds there leaves nothing
    /// behind; once queued, every way out of the park (a timeout, an
    /// interrupt, an unwind) leaves the queue first, handing on a
    /// readiness that had already picked this task.
    ///
    /// Inlined into the waits: a task resumes where it parked, and a frame
    /// between that and the socket call it made costs a mispredicted
    /// return there, and another at its next switch.
    #[inline(always)]
    fn park_queued(
        &self,
        core: &Core,
        waiters: &Waiters,
        dir: Direction,
        deadline: Option<Instant>,
        again: bool,
    ) -> io::Result<()> {
        let reason = match dir {
            Direction::Read => Reason::Readable,
            Direction::Write => Reason::Writable,
        };
        let parking = match core.before_park(reason, deadline) {
            Ok(parking) => parking,
            // Never queued: nothing to leave.
            Err(wake) => return Err(wait_error(wake)),
        };
        let me = parking.unparker();
        if again {
            self.reactor.arm_first(waiters, dir, me);
        } else {
            self.reactor.arm(waiters, dir, me);
        }
        parking.suspend();
        match core.finish_park(parking) {
            Ok(Wake::Unparked) => Ok(()),
            Ok(wake) => {
                // Readiness may have picked this task in the same turn the
                // deadline passed: then the next waiter gets it.
                self.reactor.leave(waiters, dir, me);
                Err(wait_error(wake))
            }
            Err(unwind) => {
                self.reactor.leave(waiters, dir, me);
                unwind.resume()
            }
        }
    }

    /// Leaves `waiter` in the read slot without parking, so one green thread
    /// can wait on several sources at once (`bridge::select`). The next read
    /// readiness event unparks it (after any older waiter).
    pub(crate) fn arm_read(&self, waiter: Unparker) {
        self.reactor.arm(self.waiters(), Direction::Read, waiter);
    }

    /// Takes `waiter` back out of the read slot. Returns `false` when it was
    /// no longer there: a read readiness event took it.
    pub(crate) fn disarm_read(&self, waiter: Unparker) -> bool {
        self.reactor.disarm(self.waiters(), Direction::Read, waiter)
    }
}

/// The error of a socket wait that ended with `wake` (not `Unparked`).
#[cold]
fn wait_error(wake: Wake) -> io::Error {
    match wake {
        Wake::Interrupted => io::Error::new(
            io::ErrorKind::Interrupted,
            "the wait was interrupted (JoinHandle::interrupt)",
        ),
        _ => io::Error::new(io::ErrorKind::TimedOut, "timed out waiting for the socket"),
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
        if self.key.is_none() {
            return; // `into_inner` gave the source away
        }
        let _ = self.deregister();
        // SAFETY: `source` is still in place (only `into_inner` takes it,
        // and it takes the key first) and is never used again after this
        // drop.
        unsafe { ManuallyDrop::drop(&mut self.source) };
    }
}

impl<S: Source + fmt::Debug> fmt::Debug for Registration<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("source", &*self.source)
            .field("token", &self.key.as_ref().map(|k| k.get().token()))
            .finish()
    }
}

//! The reactor: one `mio::Poll`, and per registered source a reader slot and
//! a writer slot holding the green thread parked on each direction.
//!
//! mio is edge-triggered, so every operation is try-then-park: attempt it,
//! and only on `WouldBlock` leave an `Unparker` in the slot and park; after
//! the wake, attempt it again. Readiness that arrives while nobody waits is
//! dropped on purpose: the next attempt will see the bytes.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::context;
use crate::park::{self, Reason, Unparker, Wake};

/// The token of the cross-thread waker (see `handle.rs`).
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

/// Who is parked on one registered source.
#[derive(Debug)]
struct Waiters {
    reader: Option<Unparker>,
    writer: Option<Unparker>,
    /// Whether a read might succeed: set by every read readiness event,
    /// cleared when a read hits `WouldBlock` or drains the source. While it
    /// is clear, a read parks at once instead of making a doomed syscall.
    read_ready: bool,
    /// The same for writes.
    write_ready: bool,
    /// The peer closed its side or the socket failed: reads (and writes)
    /// never park again, whatever a drain hint said, so end of file and
    /// errors are always seen.
    closed: bool,
}

impl Default for Waiters {
    fn default() -> Self {
        // Nothing is known of a new source: try before parking.
        Waiters {
            reader: None,
            writer: None,
            read_ready: true,
            write_ready: true,
            closed: false,
        }
    }
}

/// The runtime's poller and its waiter table.
pub(crate) struct Reactor {
    poll: RefCell<Poll>,
    /// Reused for every poll: no allocation per readiness event.
    events: RefCell<Events>,
    /// Indexed by token.
    waiters: RefCell<Slab<Waiters>>,
    /// Live `Registration`s: with none, polling can be skipped while tasks are ready.
    registrations: Cell<usize>,
}

impl Reactor {
    pub(crate) fn new(event_capacity: usize) -> io::Result<Self> {
        Ok(Reactor {
            poll: RefCell::new(Poll::new()?),
            events: RefCell::new(Events::with_capacity(event_capacity)),
            waiters: RefCell::new(Slab::new()),
            registrations: Cell::new(0),
        })
    }

    pub(crate) fn registry(&self) -> io::Result<mio::Registry> {
        self.poll.borrow().registry().try_clone()
    }

    pub(crate) fn registrations(&self) -> usize {
        self.registrations.get()
    }

    /// Polls the OS once and hands each woken waiter to `wake`. Returns
    /// whether the cross-thread waker fired.
    pub(crate) fn poll(
        &self,
        timeout: Option<Duration>,
        mut wake: impl FnMut(Unparker, Wake),
    ) -> io::Result<bool> {
        let mut events = self.events.borrow_mut();
        loop {
            match self.poll.borrow_mut().poll(&mut events, timeout) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    if timeout.is_none() {
                        continue;
                    }
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
        let mut remote = false;
        for event in events.iter() {
            if event.token() == WAKER_TOKEN {
                remote = true;
                continue;
            }
            let (reader, writer) = {
                let mut waiters = self.waiters.borrow_mut();
                let Some(w) = waiters.get_mut(event.token().0) else {
                    continue;
                };
                let err = event.is_error();
                w.closed |= err || event.is_read_closed() || event.is_write_closed();
                let r = if event.is_readable() || event.is_read_closed() || err {
                    w.read_ready = true;
                    w.reader.take()
                } else {
                    None
                };
                let wr = if event.is_writable() || event.is_write_closed() || err {
                    w.write_ready = true;
                    w.writer.take()
                } else {
                    None
                };
                (r, wr)
            };
            if let Some(u) = reader {
                wake(u, Wake::Unparked);
            }
            if let Some(u) = writer {
                wake(u, Wake::Unparked);
            }
        }
        Ok(remote)
    }
}

/// Which way an operation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Read,
    Write,
}

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
    source: S,
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
        let token = reactor.waiters.borrow_mut().insert(Waiters::default());
        let registered = reactor.poll.borrow().registry().register(
            &mut source,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        );
        if let Err(e) = registered {
            reactor.waiters.borrow_mut().remove(token);
            return Err(e);
        }
        reactor.registrations.set(reactor.registrations.get() + 1);
        Ok(Registration {
            source,
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
        let result = op(&self.source);
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.set_ready(dir, false);
        }
        result
    }

    fn ready_or_wait(&self, dir: Direction, deadline: Option<Instant>) -> io::Result<()> {
        if context::with_core("Registration", |core| core.consume_budget()) {
            crate::yield_now();
        }
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
        // SAFETY: `self` is forgotten right after, so `source` is read out
        // exactly once and never dropped in place; the other fields are
        // dropped here by hand because `Drop` (which would deregister
        // again) must not run.
        let source = unsafe { std::ptr::read(&self.source) };
        // SAFETY: as above, `reactor` is moved out exactly once.
        let reactor = unsafe { std::ptr::read(&self.reactor) };
        std::mem::forget(self);
        drop(reactor);
        result.map(|()| source)
    }

    fn deregister(&mut self) -> io::Result<()> {
        let result = self
            .reactor
            .poll
            .borrow()
            .registry()
            .deregister(&mut self.source);
        self.reactor.waiters.borrow_mut().try_remove(self.token);
        self.reactor
            .registrations
            .set(self.reactor.registrations.get() - 1);
        result
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
        if context::with_core("Registration", |core| core.consume_budget()) {
            crate::yield_now();
        }
        let mut ready = self.is_ready(dir);
        loop {
            if !ready {
                self.wait(dir, deadline)?;
            }
            match op(&self.source) {
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
        let waiters = self.reactor.waiters.borrow();
        let w = &waiters[self.token];
        w.closed
            || match dir {
                Direction::Read => w.read_ready,
                Direction::Write => w.write_ready,
            }
    }

    #[inline]
    fn set_ready(&self, dir: Direction, ready: bool) {
        let mut waiters = self.reactor.waiters.borrow_mut();
        let w = &mut waiters[self.token];
        match dir {
            Direction::Read => w.read_ready = ready,
            Direction::Write => w.write_ready = ready,
        }
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
        match park::park_deadline(reason, deadline) {
            Wake::Unparked => Ok(()),
            Wake::TimedOut => {
                self.disarm(dir, me);
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "timed out waiting for the socket",
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
        let mut waiters = self.reactor.waiters.borrow_mut();
        let w = &mut waiters[self.token];
        let slot = match dir {
            Direction::Read => &mut w.reader,
            Direction::Write => &mut w.writer,
        };
        if let Some(other) = *slot {
            if other != me && other.is_parked() {
                return Err(io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    format!("another green thread is already waiting to {dir:?} on this source")
                        .to_lowercase(),
                ));
            }
        }
        *slot = Some(me);
        Ok(())
    }

    fn disarm(&self, dir: Direction, me: Unparker) -> bool {
        let mut waiters = self.reactor.waiters.borrow_mut();
        let w = &mut waiters[self.token];
        let slot = match dir {
            Direction::Read => &mut w.reader,
            Direction::Write => &mut w.writer,
        };
        if *slot == Some(me) {
            *slot = None;
            true
        } else {
            false
        }
    }
}

impl<S: Source> Drop for Registration<S> {
    fn drop(&mut self) {
        let _ = self.deregister();
    }
}

impl<S: Source + fmt::Debug> fmt::Debug for Registration<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("source", &self.source)
            .field("token", &self.token)
            .finish()
    }
}

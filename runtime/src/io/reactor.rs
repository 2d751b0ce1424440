//! The reactor: one `mio::Poll`, and per registered source its readiness
//! flags and the green threads parked on each direction.
//!
//! mio is edge-triggered, so every operation is try-then-park: attempt it,
//! and only on `WouldBlock` leave an `Unparker` in the source's slot and
//! park; after the wake, attempt it again. Readiness that arrives while
//! nobody waits is remembered in a flag, so the next attempt is made at once.

use std::cell::{Cell, RefCell};
use std::io;
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::park::{Unparker, Wake};

/// The token of the cross-thread waker (see `handle.rs`).
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

/// Which way an operation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

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

impl Waiters {
    fn slot(&mut self, dir: Direction) -> &mut Option<Unparker> {
        match dir {
            Direction::Read => &mut self.reader,
            Direction::Write => &mut self.writer,
        }
    }
}

/// The runtime's poller and its waiter table.
pub(crate) struct Reactor {
    /// The OS poller (epoll on Linux), edge-triggered.
    poll: RefCell<Poll>,
    /// Reused for every poll: no allocation per readiness event.
    events: RefCell<Events>,
    /// Each registered source's waiters and readiness, indexed by token.
    waiters: RefCell<Slab<Waiters>>,
    /// Live registrations: with none, polling can be skipped while tasks
    /// are ready.
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

    /// Registers `source` for read and write readiness under a new token.
    pub(crate) fn register(&self, source: &mut impl Source) -> io::Result<usize> {
        let token = self.waiters.borrow_mut().insert(Waiters::default());
        let registered = self.poll.borrow().registry().register(
            source,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        );
        if let Err(e) = registered {
            self.waiters.borrow_mut().remove(token);
            return Err(e);
        }
        self.registrations.set(self.registrations.get() + 1);
        Ok(token)
    }

    /// Takes `source` out of the poller and forgets its waiters.
    pub(crate) fn deregister(&self, source: &mut impl Source, token: usize) -> io::Result<()> {
        let result = self.poll.borrow().registry().deregister(source);
        self.waiters.borrow_mut().try_remove(token);
        self.registrations.set(self.registrations.get() - 1);
        result
    }

    /// Whether an operation in `dir` is worth trying before parking.
    #[inline]
    pub(crate) fn is_ready(&self, token: usize, dir: Direction) -> bool {
        let waiters = self.waiters.borrow();
        let w = &waiters[token];
        w.closed
            || match dir {
                Direction::Read => w.read_ready,
                Direction::Write => w.write_ready,
            }
    }

    #[inline]
    pub(crate) fn set_ready(&self, token: usize, dir: Direction, ready: bool) {
        let mut waiters = self.waiters.borrow_mut();
        let w = &mut waiters[token];
        match dir {
            Direction::Read => w.read_ready = ready,
            Direction::Write => w.write_ready = ready,
        }
    }

    /// Leaves `me` in the `dir` slot of `token`, to be unparked by the next
    /// readiness event in that direction.
    pub(crate) fn arm(&self, token: usize, dir: Direction, me: Unparker) -> io::Result<()> {
        let mut waiters = self.waiters.borrow_mut();
        let slot = waiters[token].slot(dir);
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

    /// Takes `me` back out of the `dir` slot. Returns `false` when it was no
    /// longer there: a readiness event took it.
    pub(crate) fn disarm(&self, token: usize, dir: Direction, me: Unparker) -> bool {
        let mut waiters = self.waiters.borrow_mut();
        let slot = waiters[token].slot(dir);
        if *slot == Some(me) {
            *slot = None;
            true
        } else {
            false
        }
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

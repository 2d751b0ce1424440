//! `select`: wait on several queues (and sockets) at once, the seed's
//! `select.select(queues, [], [])`.
//!
//! Queues are level-checked before anything parks, so items put before the
//! call are seen at once. In a green thread, one `Unparker` is left
//! in the read slot of every source and the thread parks once; the first
//! readiness event wakes it, and the others find the park already over. On
//! an OS thread the descriptors go to one `poll(2)` call.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use mio::event::Source;

use super::ready_set::{ReadySet, MAX_SOURCES};
use super::wake::poll_fds;
use super::PollableQueue;
use crate::context;
use crate::io::Registration;
use crate::park::{self, Reason, Unparker};

/// A source [`select`] can wait on: a [`PollableQueue`], or a
/// [`Registration`] of anything with a descriptor (a socket, say).
///
/// Implement it for your own types by delegating to one of those.
pub trait Selectable {
    /// Whether the source is ready now. `woken` tells whether its descriptor
    /// reported readiness since the last call. A source with a level to check
    /// (a queue: an item is queued, or it is disconnected) checks it and,
    /// when not ready, makes sure its next change will be reported. An
    /// edge-triggered source (a `Registration`) returns `woken`: select on it
    /// only after its operation returned `WouldBlock`.
    fn poll_ready(&self, woken: bool) -> bool;

    /// Leaves `waiter` where the source's next readiness will unpark it.
    ///
    /// # Errors
    ///
    /// Any error registering the source with the OS poller.
    fn arm(&self, waiter: Unparker) -> io::Result<()>;

    /// Takes `waiter` back out; returns `true` if readiness took it first.
    fn disarm(&self, waiter: Unparker) -> bool;

    /// The descriptor an OS-thread `select` polls for readability.
    fn raw_fd(&self) -> RawFd;
}

impl<T> Selectable for PollableQueue<T> {
    fn poll_ready(&self, _woken: bool) -> bool {
        self.ready()
    }

    fn arm(&self, waiter: Unparker) -> io::Result<()> {
        PollableQueue::arm(self, waiter)
    }

    fn disarm(&self, waiter: Unparker) -> bool {
        PollableQueue::disarm(self, waiter)
    }

    fn raw_fd(&self) -> RawFd {
        self.as_raw_fd()
    }
}

impl<S: Source + AsRawFd> Selectable for Registration<S> {
    fn poll_ready(&self, woken: bool) -> bool {
        woken
    }

    fn arm(&self, waiter: Unparker) -> io::Result<()> {
        self.arm_read(waiter);
        Ok(())
    }

    fn disarm(&self, waiter: Unparker) -> bool {
        !self.disarm_read(waiter)
    }

    fn raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

/// Waits until at least one of `sources` is ready and returns which are, by
/// position (the seed's `select.select(queues, [], [])`). A queue is ready
/// when an item is queued or it is disconnected (a get will not wait).
///
/// Queues are checked before waiting, so the caller sees everything already
/// put. A green thread parks (`Reason::Bridge("select")`); an OS thread
/// blocks in `poll(2)`. With no sources it returns an empty set at once.
///
/// # Panics
///
/// With more than [`MAX_SOURCES`] sources; in a green thread, if another
/// green thread already waits on one of them or a source cannot be
/// registered with the OS poller.
///
/// # Examples
///
/// The seed's consumer: each round takes one item from every ready queue.
///
/// ```
/// use weft::bridge::{select, PollableQueue};
///
/// let (q1, q2, q3) = (PollableQueue::new().unwrap(), PollableQueue::new().unwrap(), PollableQueue::new().unwrap());
/// let (t1, t2, t3) = (q1.sender(), q2.sender(), q3.sender());
/// t1.put(1).unwrap();
/// t2.put(10).unwrap();
/// t3.put("hello").unwrap();
/// t2.put(15).unwrap();
/// let mut got = Vec::new();
/// while got.len() < 4 {
///     for i in select(&[&q1, &q2, &q3]) {
///         match i {
///             0 => got.push(q1.try_get().unwrap().to_string()),
///             1 => got.push(q2.try_get().unwrap().to_string()),
///             _ => got.push(q3.try_get().unwrap().to_string()),
///         }
///     }
/// }
/// assert_eq!(got, ["1", "10", "hello", "15"]);
/// # drop((t1, t2, t3));
/// ```
pub fn select(sources: &[&dyn Selectable]) -> ReadySet {
    select_deadline(sources, None)
}

/// Like [`select`], but returns an empty set if nothing is ready after `timeout`.
///
/// # Panics
///
/// As for [`select`].
pub fn select_timeout(sources: &[&dyn Selectable], timeout: Duration) -> ReadySet {
    select_deadline(sources, Instant::now().checked_add(timeout))
}

/// Checks `sources` without waiting. Edge-triggered sources (registrations)
/// are never reported here: only a waiting select sees their events.
///
/// # Panics
///
/// With more than [`MAX_SOURCES`] sources.
pub fn try_select(sources: &[&dyn Selectable]) -> ReadySet {
    select_deadline(sources, Some(Instant::now()))
}

fn select_deadline(sources: &[&dyn Selectable], deadline: Option<Instant>) -> ReadySet {
    assert!(
        sources.len() <= MAX_SOURCES,
        "weft::bridge::select: {} sources given, at most {MAX_SOURCES} supported",
        sources.len()
    );
    let mut woken = ReadySet::default();
    loop {
        let mut ready = ReadySet::default();
        for (i, s) in sources.iter().enumerate() {
            if s.poll_ready(woken.contains(i)) {
                ready.insert(i);
            }
        }
        if !ready.is_empty() || sources.is_empty() || deadline.is_some_and(|d| Instant::now() >= d)
        {
            return ready;
        }
        woken = if context::in_green_thread() {
            park_on(sources, deadline)
        } else {
            poll_on(sources, deadline)
        };
    }
}

/// Parks the calling green thread on every source at once.
fn park_on(sources: &[&dyn Selectable], deadline: Option<Instant>) -> ReadySet {
    let me = Unparker::current();
    for (i, s) in sources.iter().enumerate() {
        if let Err(e) = s.arm(me) {
            sources[..i].iter().for_each(|s| {
                s.disarm(me);
            });
            panic!("weft::bridge::select: source {i}: {e}");
        }
    }
    park::park_timed(Reason::Bridge("select"), deadline);
    let mut woken = ReadySet::default();
    for (i, s) in sources.iter().enumerate() {
        if s.disarm(me) {
            woken.insert(i);
        }
    }
    woken
}

/// Blocks the calling OS thread in one `poll(2)` over every source.
fn poll_on(sources: &[&dyn Selectable], deadline: Option<Instant>) -> ReadySet {
    let mut fds = [libc::pollfd {
        fd: -1,
        events: libc::POLLIN,
        revents: 0,
    }; MAX_SOURCES];
    for (pfd, s) in fds.iter_mut().zip(sources) {
        pfd.fd = s.raw_fd();
    }
    let fds = &mut fds[..sources.len()];
    let mut woken = ReadySet::default();
    if poll_fds(fds, deadline) > 0 {
        for (i, pfd) in fds.iter().enumerate() {
            if pfd.revents != 0 {
                woken.insert(i);
            }
        }
    }
    woken
}

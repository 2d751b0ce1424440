//! Each registered source's waiter record, at a heap address of its own
//! that is also the source's poller token.
//!
//! A registration reaches its record through the key it owns: no table
//! lookup, borrow flag or bounds check on the two or three looks at it an
//! I/O operation takes. The dispatch reaches it from a readiness event's
//! token, which is the record's address. (The records sat in a slab indexed
//! by token before: every look was a `RefCell` borrow, a bounds check and an
//! occupancy check, ~12 instructions, three times per echo round trip.)
//!
//! That token-to-record step is this file's one `unsafe` dereference, and
//! [`Records`] keeps the invariant it needs: **a record is freed only after
//! its source left the poller, and never while a dispatch is running.** So
//! a token in a polled batch always names a live record:
//!
//! - only [`Records::register`] registers sources with a record's address
//!   as their token (the cross-thread waker uses `WAKER_TOKEN`, which is no
//!   record's address: `usize::MAX` is never one);
//! - [`Records::deregister`] takes the source out of the poller first; if
//!   the OS refuses, the record is leaked (never freed), since the poller
//!   may still report it;
//! - a record deregistered while a dispatch runs (a woken task closed its
//!   socket) is kept until the dispatch ends, because events for it may be
//!   left in the batch; a batch is read once, by the dispatch, and never
//!   after the next poll.
//!
//! All fields are `Cell`s, so the registration's and the dispatch's shared
//! references may coexist (one thread: the type is `!Sync`).

use std::cell::{Cell, RefCell};
use std::io;
use std::ptr::NonNull;

use mio::event::{Event, Source};
use mio::{Events, Interest, Registry, Token};

use super::reactor::{Direction, WAKER_TOKEN};
use crate::park::Unparker;

/// One direction of one source: who waits on it, and whether an operation
/// might succeed.
#[derive(Debug)]
pub(crate) struct Slot {
    /// The oldest waiter. Nearly every source has at most one waiter per
    /// direction, so it lives here; later ones queue in `Reactor::more`.
    pub(super) first: Cell<Option<Unparker>>,
    /// Whether `Reactor::more` holds further waiters for this slot.
    pub(super) more: Cell<bool>,
    /// Whether a second waiter queued here since the slot was last empty:
    /// then a waiter done with a readiness may have to hand it on.
    pub(super) shared: Cell<bool>,
    /// Whether an operation might succeed: set by every readiness event,
    /// cleared when an operation hits `WouldBlock` (or a stream read drains
    /// the source). While it is clear, an operation parks at once instead
    /// of making a doomed syscall.
    pub(super) ready: Cell<bool>,
    /// The read slot's is the source's "closed" flag (see
    /// [`Waiters::closed`]); it sits in the slot's spare byte, which keeps
    /// the record at 40 bytes, one 48-byte heap block.
    closed: Cell<bool>,
}

impl Default for Slot {
    fn default() -> Self {
        // Nothing is known of a new source: try before parking.
        Slot {
            first: Cell::new(None),
            more: Cell::new(false),
            shared: Cell::new(false),
            ready: Cell::new(true),
            closed: Cell::new(false),
        }
    }
}

/// Who is parked on one registered source, per direction.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    pub(super) read: Slot,
    pub(super) write: Slot,
}

// One 48-byte block per registration, as its slab entry was.
const _: () = assert!(std::mem::size_of::<Waiters>() <= 40);

impl Waiters {
    /// The peer closed its side or the socket failed: operations never park
    /// again, whatever a drain hint said, so end of file and errors are
    /// always seen.
    #[inline]
    pub(super) fn closed(&self) -> bool {
        self.read.closed.get()
    }

    #[inline]
    pub(super) fn set_closed(&self) {
        self.read.closed.set(true);
    }

    #[inline]
    pub(super) fn slot(&self, dir: Direction) -> &Slot {
        match dir {
            Direction::Read => &self.read,
            Direction::Write => &self.write,
        }
    }

    /// The record's token (its address): the key of its extra waiters.
    #[inline]
    pub(super) fn token(&self) -> usize {
        (self as *const Waiters).addr()
    }
}

/// Owns one record, for the registration of its source. Not `Clone`: the
/// record lives until the key goes back through [`Records::deregister`]
/// (a key dropped otherwise leaks its record, which is safe).
#[derive(Debug)]
pub(crate) struct WaiterKey(NonNull<Waiters>);

impl WaiterKey {
    /// The record.
    #[inline]
    pub(crate) fn get(&self) -> &Waiters {
        // SAFETY: the key owns the record, which `Records` frees only once
        // the key was given back to it (consumed), so it is live for as
        // long as `self` is borrowed; all its fields are `Cell`s, so shared
        // references to it may coexist.
        unsafe { self.0.as_ref() }
    }
}

/// Makes, retires and frees the records, and reads polled batches (see the
/// module's text for the invariant this keeps).
#[derive(Default)]
pub(crate) struct Records {
    /// Set while `dispatch` runs, which may resume tasks.
    dispatching: Cell<bool>,
    /// Records deregistered during a dispatch, freed when it ends.
    retired: RefCell<Vec<WaiterKey>>,
}

impl Records {
    /// Registers `source` for read and write readiness with a new record,
    /// whose address is its token.
    pub(crate) fn register(
        &self,
        registry: &Registry,
        source: &mut impl Source,
    ) -> io::Result<WaiterKey> {
        let record = NonNull::from(Box::leak(Box::<Waiters>::default()));
        // Exposed: `dispatch` turns the token back into the pointer.
        let token = Token(record.as_ptr().expose_provenance());
        debug_assert_ne!(token, WAKER_TOKEN);
        match registry.register(source, token, Interest::READABLE | Interest::WRITABLE) {
            Ok(()) => Ok(WaiterKey(record)),
            Err(e) => {
                // Never registered: no event can name it.
                free(WaiterKey(record));
                Err(e)
            }
        }
    }

    /// Takes `source` out of the poller and frees its record (after the
    /// dispatch in progress, if any). If the OS refuses, the record is
    /// leaked: the poller may still report its token.
    pub(crate) fn deregister(
        &self,
        registry: &Registry,
        source: &mut impl Source,
        key: WaiterKey,
    ) -> io::Result<()> {
        let result = registry.deregister(source);
        // On an error the key is left to go out of scope: it has no drop
        // glue, so the record is leaked, not freed.
        if result.is_ok() {
            if self.dispatching.get() {
                self.retired.borrow_mut().push(key);
            } else {
                free(key);
            }
        }
        result
    }

    /// Calls `f` with the record of every event of `events` (just polled)
    /// but the cross-thread waker's; returns whether that one fired. `f`
    /// may resume tasks, which may register and deregister sources. Before
    /// each call, `ahead` (if any) gets the record of the event after it
    /// (to prefetch what that event's task will touch).
    #[inline]
    pub(crate) fn dispatch(
        &self,
        events: &Events,
        mut f: impl FnMut(&Waiters, &Event),
        mut ahead: Option<impl FnMut(&Waiters)>,
    ) -> bool {
        /// Ends the dispatch, even if a resumed task's unwinding reaches here.
        struct Dispatching<'a>(&'a Records);
        impl Drop for Dispatching<'_> {
            fn drop(&mut self) {
                self.0.dispatching.set(false);
                for key in self.0.retired.borrow_mut().drain(..) {
                    free(key);
                }
            }
        }
        self.dispatching.set(true);
        let _dispatching = Dispatching(self);
        let mut remote = false;
        let mut events = events.iter();
        // The next event that has a record, noting the waker's on the way.
        let mut next_event = || {
            for event in events.by_ref() {
                if event.token() == WAKER_TOKEN {
                    remote = true;
                } else {
                    return Some(event);
                }
            }
            None
        };
        let mut next = next_event();
        while let Some(event) = next {
            next = next_event();
            if let (Some(ahead), Some(after)) = (ahead.as_mut(), next) {
                ahead(record(after));
            }
            f(record(event), event);
        }
        remote
    }
}

/// The record an event (not the waker's) names.
#[inline(always)]
fn record(event: &Event) -> &Waiters {
    // SAFETY: every token in the poller but the waker's is a record's
    // address (only `register` gives them out), and the record is live: it
    // is freed only once its source left the poller and, if that happened
    // during a dispatch, only after it (`Dispatching`), while the batch is
    // read only in the dispatch, before the next poll.
    unsafe { &*std::ptr::with_exposed_provenance::<Waiters>(event.token().0) }
}

/// Frees the record of `key`.
fn free(key: WaiterKey) {
    // SAFETY: the record was made by `Box::leak` in `register`, and the key
    // that owns it is consumed here; callers free a key only when no event
    // can name it any more (see `Records`).
    drop(unsafe { Box::from_raw(key.0.as_ptr()) });
}

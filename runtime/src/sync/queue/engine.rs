//! The engine shared by `Queue`, `LifoQueue` and `PriorityQueue`: storage
//! in some order, plus FIFO lists of parked getters, putters and joiners. The
//! public API over it is written once, by `queue_api!`.
//!
//! Items are handed over directly: a `put` that finds a getter parked gives
//! the item to the oldest one, and a `get` that frees a slot in a full queue
//! moves the oldest parked putter's item in. So waiters are served strictly
//! in arrival order ([rule 5](crate#scheduling-rules)), and no task can take an item or a slot that a
//! woken waiter was promised before it runs ([rule 7](crate#scheduling-rules), applied to queues).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use super::error::{GetTimeoutError, PutTimeoutError, TaskDoneError, TryGetError, TryPutError};
use crate::sync::wait_list::WaitList;

/// The order a queue gives its items back in.
pub(crate) trait Order<T> {
    fn push(&mut self, item: T);
    fn pop(&mut self) -> Option<T>;
    fn len(&self) -> usize;
    /// Puts back an item that was taken out first (it comes out next among equals).
    fn restore(&mut self, item: T);
}

impl<T> Order<T> for VecDeque<T> {
    fn push(&mut self, item: T) {
        self.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
    fn restore(&mut self, item: T) {
        self.push_front(item);
    }
}

impl<T> Order<T> for Vec<T> {
    fn push(&mut self, item: T) {
        Vec::push(self, item);
    }
    fn pop(&mut self) -> Option<T> {
        Vec::pop(self)
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn restore(&mut self, item: T) {
        Vec::push(self, item);
    }
}

/// What each kind of queue parks with, for deadlock reports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Names {
    pub(crate) get: &'static str,
    pub(crate) put: &'static str,
    pub(crate) join: &'static str,
}

pub(crate) struct QueueEngine<T, O> {
    /// The queued items.
    items: RefCell<O>,
    /// At most this many queued items; 0 means no limit.
    maxsize: usize,
    /// Items put and not yet marked done with `task_done`.
    unfinished: Cell<usize>,
    /// Set by `close`: no more puts; gets fail once drained.
    closed: Cell<bool>,
    /// Parked `get`s; a `put` leaves its item in the oldest one's slot.
    getters: WaitList<T>,
    /// Parked `put`s, each with its item in its slot.
    putters: WaitList<T>,
    /// Parked `join`s.
    joiners: WaitList,
    names: Names,
}

impl<T, O: Order<T>> QueueEngine<T, O> {
    pub(crate) const fn new(items: O, maxsize: usize, names: Names) -> Self {
        QueueEngine {
            items: RefCell::new(items),
            maxsize,
            unfinished: Cell::new(0),
            closed: Cell::new(false),
            getters: WaitList::new(),
            putters: WaitList::new(),
            joiners: WaitList::new(),
            names,
        }
    }

    pub(crate) fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        if self.closed.get() {
            return Err(TryPutError::Closed(item));
        }
        let mut item = Some(item);
        if !self.getters.is_empty() {
            self.getters.notify_one(|_, slot| *slot = item.take());
        }
        match item {
            None => {}
            Some(item) if self.full() => return Err(TryPutError::Full(item)),
            Some(item) => self.items.borrow_mut().push(item),
        }
        self.unfinished.set(self.unfinished.get() + 1);
        Ok(())
    }

    #[inline]
    pub(crate) fn put_until(
        &self,
        item: T,
        deadline: Option<Instant>,
    ) -> Result<(), PutTimeoutError<T>> {
        let item = match self.try_put(item) {
            Ok(()) => return Ok(()),
            Err(TryPutError::Closed(item)) => return Err(PutTimeoutError::Closed(item)),
            Err(TryPutError::Full(item)) => item,
        };
        let waited = self
            .putters
            .wait(self.names.put, deadline, Some(item), |_, _| ());
        match (waited.notified, waited.value) {
            // A get moved the item in.
            (true, None) => Ok(()),
            // `close` woke us with the item still here.
            (true, Some(item)) => Err(PutTimeoutError::Closed(item)),
            (false, Some(item)) => Err(PutTimeoutError::Timeout(item)),
            (false, None) => unreachable!("a put that timed out still holds its item"),
        }
    }

    pub(crate) fn try_get(&self) -> Result<T, TryGetError> {
        let item = self.items.borrow_mut().pop();
        match item {
            Some(item) => {
                self.refill();
                Ok(item)
            }
            None if self.closed.get() => Err(TryGetError::Closed),
            None => Err(TryGetError::Empty),
        }
    }

    #[inline]
    pub(crate) fn get_until(&self, deadline: Option<Instant>) -> Result<T, GetTimeoutError> {
        match self.try_get() {
            Ok(item) => return Ok(item),
            Err(TryGetError::Closed) => return Err(GetTimeoutError::Closed),
            Err(TryGetError::Empty) => {}
        }
        // A getter that unwinds after an item was handed to it puts it back.
        let on_unwind = |_, handed: Option<T>| {
            if let Some(item) = handed {
                self.restore(item);
            }
        };
        let waited = self.getters.wait(self.names.get, deadline, None, on_unwind);
        match (waited.notified, waited.value) {
            (true, Some(item)) => Ok(item),
            (true, None) => Err(GetTimeoutError::Closed),
            (false, _) => Err(GetTimeoutError::Timeout),
        }
    }

    /// A slot was freed: the oldest parked putter's item moves in.
    fn refill(&self) {
        let mut moved = None;
        if !self.putters.is_empty() {
            self.putters.notify_one(|_, slot| moved = slot.take());
        }
        if let Some(item) = moved {
            self.items.borrow_mut().push(item);
            self.unfinished.set(self.unfinished.get() + 1);
        }
    }

    /// Gives back an item a cancelled getter was handed: to the next getter,
    /// else to the front of the queue (it may briefly exceed `maxsize`
    /// rather than lose the item).
    fn restore(&self, item: T) {
        let mut item = Some(item);
        self.getters.notify_one(|_, slot| *slot = item.take());
        if let Some(item) = item {
            self.items.borrow_mut().restore(item);
        }
    }

    pub(crate) fn task_done(&self) -> Result<(), TaskDoneError> {
        match self.unfinished.get() {
            0 => Err(TaskDoneError),
            n => {
                self.unfinished.set(n - 1);
                if n == 1 {
                    self.joiners.notify_all();
                }
                Ok(())
            }
        }
    }

    pub(crate) fn join(&self) {
        self.join_until(None);
    }

    /// Parks until nothing is unfinished or `deadline` passes; returns
    /// whether nothing is unfinished.
    pub(crate) fn join_until(&self, deadline: Option<Instant>) -> bool {
        while self.unfinished.get() > 0 {
            let waited = self
                .joiners
                .wait(self.names.join, deadline, None, |_, _| ());
            if !waited.notified && deadline.is_some() {
                return self.unfinished.get() == 0;
            }
        }
        true
    }

    pub(crate) fn unfinished(&self) -> usize {
        self.unfinished.get()
    }

    pub(crate) fn qsize(&self) -> usize {
        self.items.borrow().len()
    }

    pub(crate) fn full(&self) -> bool {
        self.maxsize > 0 && self.qsize() >= self.maxsize
    }

    pub(crate) fn maxsize(&self) -> usize {
        self.maxsize
    }

    pub(crate) fn close(&self) {
        self.closed.set(true);
        // Parked getters wake empty-handed, parked putters with their items.
        self.getters.notify_all();
        self.putters.notify_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }
}

impl<T, O: Order<T>> QueueEngine<T, O> {
    /// Writes the queue's state under the public type's `name`.
    pub(super) fn debug_as(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("qsize", &self.qsize())
            .field("maxsize", &self.maxsize)
            .field("unfinished", &self.unfinished.get())
            .field("closed", &self.closed.get())
            .finish()
    }
}

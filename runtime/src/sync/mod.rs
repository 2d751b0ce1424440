//! Green synchronisation: locks, conditions, semaphores, events, barriers
//! and queues whose waiting parks the green thread, never the OS thread.
//!
//! Everything here is for green threads of one runtime: the types are
//! `!Send`, so they cannot leak to another OS thread (share them between
//! tasks with an `Rc`; to talk to OS threads, use the bridge). Code between
//! two suspension points runs atomically with respect to other green
//! threads, so a plain `Cell` is enough for state that never needs to be
//! held across a suspension point; these primitives are for the rest.
//!
//! # Guarantees
//!
//! These hold for every primitive and make the seed programs deterministic
//! (the numbers are those of the crate's
//! [scheduling rules](crate#scheduling-rules)):
//!
//! - **FIFO waits (rule 5).** Waiters are served in arrival order: lock,
//!   semaphore and queue waiters one by one, `Condition::notify(n)` the `n`
//!   oldest, `notify_all` and `Event::set` all of them, oldest first.
//! - **Handoff (rule 7).** Releasing a lock, a permit, an item or a queue slot
//!   with waiters present hands it straight to the oldest one: no task can
//!   barge in between, so a task that releases and re-acquires in a loop
//!   cannot starve the others.
//! - **Waking never preempts (rule 4).** A woken task goes to the tail of the
//!   ready queue; the waker runs on until its own next suspension point.
//! - **No needless suspension (rule 6).** Taking a free lock, a free permit, an
//!   item from a non-empty queue or a slot in a non-full queue never parks.
//! - **Exactly once.** A timeout racing a notification is resolved once:
//!   the waiter either got it (and reports success) or timed out, and then
//!   the notification goes to the next waiter.
//! - **Cancellation.** Waits unwind when their task is cancelled
//!   (`JoinHandle::cancel`), and keep unwinding if the task catches it. A
//!   cancelled waiter passes on whatever was handed to it (a lock, a
//!   permit, an item, a notification).
//! - **Interrupts and timeouts.** [`JoinHandle::interrupt`](crate::JoinHandle::interrupt)
//!   ends a timed wait (`acquire_timeout`, `wait_timeout`, `get_timeout`,
//!   ...) as its timeout would; untimed waits are uninterruptible and keep
//!   the interrupt pending for the task's next interruptible wait.
//!   [`weft::timeout`](crate::timeout) bounds any of them, untimed ones
//!   included: the wait unwinds out to the `timeout` call.
//! - **Lock cycles are caught when they close.** `Lock`, `RLock` and `Mutex`
//!   know the task that holds them; a task about to wait for one whose
//!   holder waits (through a chain) for a lock it holds is reported at once,
//!   naming each task and lock (see [`LockCycleAction`](crate::LockCycleAction)
//!   for making the closing acquire fail instead).
//! - **Deadlocks are reported.** Every wait parks with the primitive's name
//!   (`Lock`, `Semaphore`, `Queue::get`, ...), so when nothing can wake the
//!   blocked tasks, `Runtime::run` returns `RunError::Deadlock` naming what
//!   each task waits on, instead of hanging.
//! - **No poisoning.** A task that panics while holding a guard releases it
//!   as it unwinds.
//!
//! Misuse that the seeds call an error returns one with the seed's message:
//! [`ReleaseError`] (`release unlocked lock`, `cannot release un-acquired
//! lock`, `Semaphore released too many times`), [`TaskDoneError`]
//! (`task_done() called too many times`), [`LockOrderViolation`]
//! (`Lock Order Violation`). Waiting on or notifying a [`Condition`] without
//! holding its lock does not compile: both take the lock's guard.
//!
//! # Coming from Python `threading` / gevent
//!
//! | Python (`threading`, `queue`, gevent) or seed recipe | weft |
//! |---|---|
//! | `Thread(target=f).start()`, `gevent.spawn(f)` | [`spawn`](crate::spawn), [`task::Builder`](crate::task::Builder) |
//! | `t.join()`, `t.join(timeout)`, `gevent.joinall` | [`JoinHandle::join`](crate::JoinHandle::join), [`join_timeout`](crate::JoinHandle::join_timeout) |
//! | `daemon = True` | [`task::Builder::daemon`](crate::task::Builder::daemon) |
//! | `greenlet.kill()`, `Future.cancel()` | [`JoinHandle::cancel`](crate::JoinHandle::cancel) |
//! | `time.sleep(s)`, `gevent.sleep(s)` / `gevent.sleep(0)` | [`sleep`](crate::sleep) / [`yield_now`](crate::yield_now) |
//! | `threading.local()` (seed 003's `LazyConnection`) | [`task_local!`](crate::task_local) |
//! | `Lock()`; `with lock:` | [`Lock`]; [`Lock::lock`] (guard) |
//! | `lock.acquire()`, `acquire(False)`, `acquire(timeout=t)`, `release()`, `locked()` | [`Lock::acquire`], [`try_acquire`](Lock::try_acquire), [`acquire_timeout`](Lock::acquire_timeout), [`release`](Lock::release), [`is_locked`](Lock::is_locked) |
//! | `RLock()` | [`RLock`] |
//! | a lock around shared data (`synchronized`) | [`Mutex<T>`](Mutex) |
//! | `Condition()`, `Condition(lock)` | [`Condition::new`], [`Condition::with_lock`] |
//! | `cv.wait()`, `wait(t)`, `wait_for(pred)` | [`Condition::wait`], [`wait_timeout`](Condition::wait_timeout), [`wait_for`](Condition::wait_for) |
//! | `cv.notify(n)`, `notify_all()` | [`Condition::notify`], [`notify_all`](Condition::notify_all) |
//! | `Semaphore(n)`, `gevent.lock.Semaphore`; `with sema:` | [`Semaphore`]; [`Semaphore::permit`] |
//! | `BoundedSemaphore(n)` (seed 004's candy machine) | [`BoundedSemaphore`] |
//! | `Event()`, `set`/`clear`/`is_set`/`wait(t)`, `gevent.event.Event` | [`Event`]: [`set`](Event::set), [`clear`](Event::clear), [`is_set`](Event::is_set), [`wait_timeout`](Event::wait_timeout) |
//! | `Barrier(n)` | [`Barrier`] |
//! | `queue.Queue(maxsize)`, `gevent.queue.Queue` | [`Queue`] |
//! | `put`/`get` (blocking, `timeout=`), `put_nowait`/`get_nowait` | [`Queue::put`]/[`get`](Queue::get), [`put_timeout`](Queue::put_timeout)/[`get_timeout`](Queue::get_timeout), [`try_put`](Queue::try_put)/[`try_get`](Queue::try_get) |
//! | `queue.Full`, `queue.Empty` | [`TryPutError::Full`], [`TryGetError::Empty`] (and the `Timeout` variants) |
//! | `task_done()`, `join()`, `qsize()`, `empty()`, `full()` | [`Queue::task_done`], [`join`](Queue::join), [`qsize`](Queue::qsize), [`empty`](Queue::empty), [`full`](Queue::full) |
//! | a sentinel / poison pill to stop consumers | [`Queue::close`] (or an enum message) |
//! | seed 003's `PriorityQueue` (`heapq`, highest first) | [`PriorityQueue`] |
//! | `queue.LifoQueue` | [`LifoQueue`] |
//! | seed 003's `acquire(*locks)` ordered locking | [`acquire_ordered`] |
//! | `Semaphore(0)` worker pool (seed 003) | [`Semaphore::new(0)`](Semaphore::new) and [`release`](Semaphore::release) |
//! | producer/consumer with a `Condition`, an `Event`, a `Queue` (seed 001) | [`Condition`], [`Event`], [`Queue`] |
//! | `PeriodicTimer` (flag toggle + `notify_all`, seed 003) | a daemon task with a [`Condition`] |
//! | actors with a mailbox, `close()`, `join()` (seed 003) | a task reading a [`Queue`]; [`Queue::close`]; [`JoinHandle::join`](crate::JoinHandle::join) |
//! | `Worker.submit` / `Result`, `AsyncResult`, futures | [`JoinHandle`](crate::JoinHandle) |
//! | `CompletionService`: results in completion order (seed 000) | tasks putting results on one [`Queue`] |
//! | pub/sub `Exchange` (seed 003) | tasks, each with a [`Queue`] |
//! | deadlock watchdog / `ThreadMXBean` (seed 000) | [`RunError::Deadlock`](crate::RunError::Deadlock) |
//!
//! # Implementation
//!
//! Every primitive is a little state in `Cell`s plus FIFO wait lists of
//! [`Unparker`](crate::park::Unparker)s, built on [`park`](crate::park).
//! A wait list is a slab threaded into a linked list: once it has grown to
//! the largest number of simultaneous waiters, waiting allocates nothing.
//! A waker pops the oldest entry and unparks it; an unpark that finds the
//! park already over (the waiter timed out or was cancelled) fails, and the
//! waker moves on to the next entry, which is what makes timeouts and
//! notifications resolve exactly once.

mod acquire_ordered;
mod barrier;
mod bounded_semaphore;
mod condition;
mod event;
mod lock;
mod mutex;
mod queue;
mod release_error;
mod rlock;
mod semaphore;
mod wait_list;

use std::time::{Duration, Instant};

pub use acquire_ordered::{acquire_ordered, LockOrderViolation, OrderedGuard};
pub use barrier::{Barrier, BarrierWaitResult};
pub use bounded_semaphore::BoundedSemaphore;
pub use condition::{Condition, ConditionLock};
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use mutex::{Mutex, MutexGuard};
pub use queue::{
    GetError, GetTimeoutError, LifoQueue, PriorityQueue, PutError, PutTimeoutError, Queue,
    TaskDoneError, TryGetError, TryPutError,
};
pub use release_error::ReleaseError;
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{Semaphore, SemaphorePermit};

/// The deadline `timeout` from now; `None` (wait forever) if it overflows.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

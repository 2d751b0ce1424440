//! The bridge between OS threads and green threads.
//!
//! - [`PollableQueue`] and its [`Sender`]s: OS threads (or green threads)
//!   feed a consumer without ever blocking the loop; the consumer parks on a
//!   socketpair's readiness, and the read end is a plain descriptor that
//!   `poll(2)` can wait on too (the seed's "Polling Multiple Thread Queues").
//! - [`select`] waits on several queues (and sockets) at once.
//! - [`spawn_blocking`] hands a blocking or CPU-heavy call to a worker
//!   thread and parks the caller until it is done.
//! - [`Handle`](crate::Handle) (from [`Runtime::handle`](crate::Runtime::handle))
//!   lets OS threads spawn green threads into a runtime.
//!
//! # Examples
//!
//! An OS thread feeds a green consumer; the loop sleeps in `epoll` between
//! items, and dropping the last sender ends the stream.
//!
//! ```
//! use weft::bridge::PollableQueue;
//!
//! let q = PollableQueue::new().unwrap();
//! let tx = q.sender();
//! let producer = std::thread::spawn(move || {
//!     for word in ["green", "threads"] {
//!         tx.put(word).unwrap();
//!         std::thread::sleep(std::time::Duration::from_millis(5));
//!     }
//! });
//! let words = weft::Runtime::new().unwrap().block_on(move || {
//!     std::iter::from_fn(|| q.get().ok()).collect::<Vec<_>>()
//! }).unwrap();
//! producer.join().unwrap();
//! assert_eq!(words, ["green", "threads"]);
//! ```
//!
//! # Implementation
//!
//! Each queue is a mutex-guarded `VecDeque` plus a non-blocking Unix
//! socketpair. A put rings one wake byte only when the consumer has cleared
//! the `signalled` flag, so floods coalesce and a full socket buffer
//! (`WouldBlock`) just means "already signalled". The consumer drains the
//! bytes to `WouldBlock` and re-checks the queue before it parks, as
//! edge-triggered readiness requires. Its read end is registered with the
//! runtime the first time a green thread waits on it. Wakes that start on
//! an OS thread but must reach a green thread (a finished worker job, room
//! in a bounded queue) travel through the runtime's cross-thread waker.
//!
//! # Caveats
//!
//! A green thread parked on a queue, a `select` or a worker job is never
//! reported as deadlocked: an OS thread may still wake it. If its
//! producers are in fact other green threads that are all stuck, the loop
//! waits in `epoll` instead of reporting it.

mod blocking_pool;
mod cached_registration;
mod chan;
mod pollable_queue;
mod ready_set;
mod remote_unparker;
mod room_waiters;
mod select;
mod sender;
mod spawn_blocking;
mod wake;

pub(crate) use blocking_pool::BlockingPool;
// The errors are the queue family's, shared with `sync::Queue`.
pub use crate::sync::{
    GetError, GetTimeoutError, PutError, PutTimeoutError, TryGetError, TryPutError,
};
pub use pollable_queue::PollableQueue;
pub use ready_set::{ReadyIter, ReadySet, MAX_SOURCES};
pub use select::{select, select_timeout, try_select, Selectable};
pub use sender::Sender;
pub use spawn_blocking::{spawn_blocking, spawn_blocking_timeout};

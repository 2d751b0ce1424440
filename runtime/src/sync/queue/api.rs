//! `queue_api!`: the public API that `Queue`, `LifoQueue` and
//! `PriorityQueue` share, written once. Each type is a struct with its own
//! docs around a [`QueueEngine`](super::engine::QueueEngine); only the storage
//! order differs, so everything else (the `put`/`get` families,
//! `task_done`/`join`, `close`, the sizes) is generated here, docs included.

/// Implements the queue API for `$queue<T>`, a struct whose one field is
/// `inner: QueueEngine<T, S>`: `new`, the `put`/`try_put`/`put_timeout` and
/// `get`/`try_get`/`get_timeout` families, `task_done`, `join`, the sizes,
/// `close`, `Default` (unbounded) and `Debug`.
///
/// `$store` makes the empty storage (in a `const fn`); `put $at` says where
/// `put` adds an item (`" at the back"`, or `""`) and `get $next` which item
/// `get` takes (`"front"`); waits park as `"$queue::get"` and so on.
macro_rules! queue_api {
    ($queue:ident<T $(: $bound:path)?>, $store:expr, put $at:literal, get $next:literal) => {
        impl<T $(: $bound)?> $queue<T> {
            /// A queue holding at most `maxsize` items (0: no limit).
            pub const fn new(maxsize: usize) -> Self {
                const NAMES: $crate::sync::queue::engine::Names = $crate::sync::queue::engine::Names {
                    get: concat!(stringify!($queue), "::get"),
                    put: concat!(stringify!($queue), "::put"),
                    join: concat!(stringify!($queue), "::join"),
                };
                $queue {
                    inner: $crate::sync::queue::engine::QueueEngine::new($store, maxsize, NAMES),
                }
            }

            #[doc = concat!("Adds `item`", $at, ", parking while the queue is full.")]
            ///
            /// # Errors
            ///
            /// [`PutError`](crate::sync::PutError) with the item if the queue
            /// is (or gets) closed.
            ///
            /// # Panics
            ///
            /// Panics when it has to wait outside a green thread.
            pub fn put(&self, item: T) -> Result<(), $crate::sync::PutError<T>> {
                self.inner
                    .put_until(item, None)
                    .map_err(|e| $crate::sync::PutError(e.into_inner()))
            }

            /// Adds `item` if there is room now (Python's `put_nowait`).
            ///
            /// # Errors
            ///
            /// [`TryPutError::Full`](crate::sync::TryPutError::Full) or
            /// [`TryPutError::Closed`](crate::sync::TryPutError::Closed), with the item.
            pub fn try_put(&self, item: T) -> Result<(), $crate::sync::TryPutError<T>> {
                self.inner.try_put(item)
            }

            /// Adds `item`, waiting at most `timeout` for room.
            ///
            /// # Errors
            ///
            /// [`PutTimeoutError::Timeout`](crate::sync::PutTimeoutError::Timeout) or
            /// [`PutTimeoutError::Closed`](crate::sync::PutTimeoutError::Closed), with the item.
            ///
            /// # Panics
            ///
            /// Panics when it has to wait outside a green thread.
            pub fn put_timeout(
                &self,
                item: T,
                timeout: ::std::time::Duration,
            ) -> Result<(), $crate::sync::PutTimeoutError<T>> {
                self.inner
                    .put_until(item, $crate::sync::deadline_after(timeout))
            }

            #[doc = concat!("Takes the ", $next, " item, parking while the queue is empty.")]
            ///
            /// # Errors
            ///
            /// [`GetError`](crate::sync::GetError) once the queue is closed and drained.
            ///
            /// # Panics
            ///
            /// Panics when it has to wait outside a green thread.
            pub fn get(&self) -> Result<T, $crate::sync::GetError> {
                self.inner
                    .get_until(None)
                    .map_err(|_| $crate::sync::GetError)
            }

            #[doc = concat!("Takes the ", $next, " item if there is one (Python's `get_nowait`).")]
            ///
            /// # Errors
            ///
            /// [`TryGetError::Empty`](crate::sync::TryGetError::Empty), or
            /// [`TryGetError::Closed`](crate::sync::TryGetError::Closed) once closed and drained.
            pub fn try_get(&self) -> Result<T, $crate::sync::TryGetError> {
                self.inner.try_get()
            }

            #[doc = concat!("Takes the ", $next, " item, waiting at most `timeout` for one.")]
            ///
            /// # Errors
            ///
            /// [`GetTimeoutError::Timeout`](crate::sync::GetTimeoutError::Timeout), or
            /// [`GetTimeoutError::Closed`](crate::sync::GetTimeoutError::Closed) once
            /// closed and drained.
            ///
            /// # Panics
            ///
            /// Panics when it has to wait outside a green thread.
            pub fn get_timeout(
                &self,
                timeout: ::std::time::Duration,
            ) -> Result<T, $crate::sync::GetTimeoutError> {
                self.inner.get_until($crate::sync::deadline_after(timeout))
            }

            /// Marks one item taken from the queue as processed; when every item put
            /// so far is processed, [`join`](Self::join)ers wake.
            ///
            /// # Errors
            ///
            /// [`TaskDoneError`](crate::sync::TaskDoneError) (`task_done() called
            /// too many times`) when no item is unfinished; nothing changes.
            pub fn task_done(&self) -> Result<(), $crate::sync::TaskDoneError> {
                self.inner.task_done()
            }

            /// Parks until every item put so far has been marked with
            /// [`task_done`](Self::task_done); returns at once if none is unfinished.
            ///
            /// # Panics
            ///
            /// Panics when it has to wait outside a green thread.
            pub fn join(&self) {
                self.inner.join();
            }

            /// Like [`join`](Self::join), but gives up after `timeout`.
            /// Returns whether every item was marked done in time.
            ///
            /// # Panics
            ///
            /// Panics when it has to wait outside a green thread.
            pub fn join_timeout(&self, timeout: std::time::Duration) -> bool {
                self.inner.join_until($crate::sync::deadline_after(timeout))
            }

            /// Items put and not yet marked done.
            pub fn unfinished(&self) -> usize {
                self.inner.unfinished()
            }

            /// Items waiting in the queue.
            pub fn qsize(&self) -> usize {
                self.inner.qsize()
            }

            /// True when no item waits in the queue.
            pub fn empty(&self) -> bool {
                self.qsize() == 0
            }

            /// True when the queue is at its `maxsize` (never for an unbounded one).
            pub fn full(&self) -> bool {
                self.inner.full()
            }

            /// The bound given to [`new`](Self::new) (0: none).
            pub fn maxsize(&self) -> usize {
                self.inner.maxsize()
            }

            /// Closes the queue: puts fail from now on (parked putters get their
            /// items back), and gets fail once the items already queued are taken.
            pub fn close(&self) {
                self.inner.close();
            }

            /// True once [`close`](Self::close) was called.
            pub fn is_closed(&self) -> bool {
                self.inner.is_closed()
            }
        }

        impl<T $(: $bound)?> Default for $queue<T> {
            /// An unbounded queue.
            fn default() -> Self {
                $queue::new(0)
            }
        }

        impl<T $(: $bound)?> ::std::fmt::Debug for $queue<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.inner.debug_as(stringify!($queue), f)
            }
        }
    };
}

pub(super) use queue_api;

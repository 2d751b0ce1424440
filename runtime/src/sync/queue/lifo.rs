//! `LifoQueue<T>`: a last-in, first-out queue for green threads.

use super::api::queue_api;
use super::engine::QueueEngine;

/// A last-in, first-out queue between green threads (a stack), like
/// Python's `queue.LifoQueue`.
///
/// Everything but the order is as for [`Queue`](crate::sync::Queue): bounded or
/// not, FIFO service of parked getters and putters, `task_done`/`join`,
/// `close`, and errors that give the item back.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::LifoQueue<u32>>();
/// ```
///
/// # Examples
///
/// ```
/// use weft::sync::LifoQueue;
///
/// let q = LifoQueue::new(0);
/// for i in 1..=3 {
///     q.try_put(i).unwrap();
/// }
/// let order: Vec<_> = std::iter::from_fn(|| q.try_get().ok()).collect();
/// assert_eq!(order, [3, 2, 1]);
/// ```
pub struct LifoQueue<T> {
    inner: QueueEngine<T, Vec<T>>,
}

queue_api!(LifoQueue<T>, Vec::new(), put " on top", get "top");

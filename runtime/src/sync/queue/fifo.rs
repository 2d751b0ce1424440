//! `Queue<T>`: the seed's FIFO queue for green threads.

use std::collections::VecDeque;

use super::api::queue_api;
use super::engine::QueueEngine;

/// A FIFO queue between green threads, like Python's `queue.Queue`.
///
/// `maxsize` bounds it (0 means unbounded). [`get`](Queue::get) parks while
/// it is empty and [`put`](Queue::put) while it is full; neither suspends
/// when it does not have to ([rule 6](crate#scheduling-rules)). Parked getters and putters are served
/// first come, first served: an item put while getters wait goes straight to
/// the oldest one, and a slot freed in a full queue goes to the oldest
/// parked putter (rules [5](crate#scheduling-rules) and [7](crate#scheduling-rules)). Waking never switches tasks ([rule 4](crate#scheduling-rules)).
///
/// [`task_done`](Queue::task_done) and [`join`](Queue::join) track work as in
/// Python. [`close`](Queue::close) ends the stream: puts fail, giving the
/// item back, and gets fail once the queue is drained; use it (or an enum
/// message) instead of a sentinel value.
///
/// [`qsize`](Queue::qsize), [`empty`](Queue::empty) and [`full`](Queue::full)
/// are exact, not Python's "approximate": only green threads of this runtime
/// touch the queue. An item handed straight to a parked getter is never
/// counted in `qsize`. Items are moved, not shared.
///
/// Waits are interruptible by cancellation. A cancelled getter that had an
/// item handed to it gives it back (to the next getter, or the front of the
/// queue), so no item is lost.
///
/// ```compile_fail
/// fn is_send<T: Send>() {}
/// is_send::<weft::sync::Queue<u32>>();
/// ```
///
/// # Examples
///
/// A producer and a consumer (seed 001):
///
/// ```
/// use std::rc::Rc;
/// use weft::sync::Queue;
///
/// weft::Runtime::new().unwrap().block_on(|| {
///     let q = Rc::new(Queue::new(2));
///     let consumer = {
///         let q = q.clone();
///         weft::spawn(move || {
///             let mut got = Vec::new();
///             while let Ok(item) = q.get() {
///                 got.push(item);
///                 q.task_done().unwrap();
///             }
///             got
///         })
///     };
///     for i in 0..5 {
///         q.put(i).unwrap(); // parks while 2 items wait
///     }
///     q.join(); // every item was marked done
///     q.close();
///     assert_eq!(consumer.join().unwrap(), [0, 1, 2, 3, 4]);
/// }).unwrap();
/// ```
pub struct Queue<T> {
    inner: QueueEngine<T, VecDeque<T>>,
}

queue_api!(Queue<T>, VecDeque::new(), put " at the back", get "front");

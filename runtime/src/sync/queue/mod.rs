//! The queue family: [`Queue`] (FIFO), [`LifoQueue`] and [`PriorityQueue`],
//! one engine under all three (`engine`: storage in some order plus FIFO
//! lists of parked getters, putters and joiners), one public API written
//! over it once (`api`), and the errors they share (`error`).
//!
//! These are queues between green threads of one runtime. The queue that
//! crosses OS threads is the bridge's `PollableQueue`.

mod api;
pub(crate) mod engine;
mod error;
mod fifo;
mod lifo;
mod priority;

pub use error::{
    GetError, GetTimeoutError, PutError, PutTimeoutError, TaskDoneError, TryGetError, TryPutError,
};
pub use fifo::Queue;
pub use lifo::LifoQueue;
pub use priority::PriorityQueue;

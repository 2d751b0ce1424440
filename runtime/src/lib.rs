//! The weft runtime: green threads (stackful corosensei coroutines) run
//! round-robin on one OS thread, parked on mio readiness, timers and each
//! other. Most users depend on the `weft` facade crate, which re-exports
//! everything here.
//!
//! See the `weft` crate documentation for the quick start and the caveats.
//!
//! # Faults
//!
//! Faults are contained and said out loud:
//!
//! - a stack overflow fails only its task ([`JoinError::StackOverflow`];
//!   a signal handler on an alternate stack returns the coroutine to the
//!   loop through corosensei's trap support);
//! - a panic names its green thread (`task 'worker' (#3) panicked at ...`);
//! - a watchdog thread names a task that holds the loop past
//!   [`Builder::stall_threshold`], and again when it lets go;
//! - a cycle of `Lock`/`RLock`/`Mutex` waits is reported the moment it
//!   closes ([`LockCycleAction`]);
//! - [`Runtime::metrics`] and [`Handle::metrics`] read cheap counters;
//!   [`Runtime::dump`] and [`Handle::dump`] (from any thread, e.g. on
//!   `SIGUSR1`) list every task and what it waits on;
//! - [`JoinHandle::interrupt`] ends a task's wait with an error, and
//!   [`timeout`] bounds any block of green code.
//!
#![doc = include_str!("docs/scheduling_rules.md")]
#![warn(missing_docs, missing_debug_implementations)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod bridge;
mod context;
mod deadlock;
mod dump;
mod fiber;
mod handle;
pub mod io;
mod local;
mod lock_cycle;
mod loops;
mod metrics;
mod panic_hook;
pub mod park;
mod prefetch;
mod report;
mod runtime;
mod scheduler;
mod stack;
mod stall;
pub mod sync;
pub mod task;
mod task_id;
mod time;
mod timeout;
mod trap;
mod watch;

pub use bridge::{select, spawn_blocking, PollableQueue, Sender};
pub use dump::{DumpedTask, TaskDump, TaskState};
pub use handle::{Handle, RemoteJoinHandle};
pub use io::Registration;
pub use local::LocalKey;
pub use lock_cycle::{CycleLink, LockCycle, LockCycleAction};
pub use loops::{Loop, LoopError, Loops, LoopsBuilder};
pub use metrics::{Metrics, Parks};
pub use runtime::{Builder, RunError, Runtime, DEFAULT_STALL_THRESHOLD};
pub use scheduler::{BlockedTask, DeadlockReport};
pub use stack::{
    page_size, validate_stack_size, DEFAULT_STACK_SIZE, MAX_STACK_SIZE, MIN_STACK_SIZE,
};
pub use task::{current, spawn, yield_now, JoinError, JoinHandle, Task, TaskId};
pub use time::{sleep, sleep_until};
pub use timeout::{timeout, Elapsed};

/// True when called from inside a green thread of a running weft runtime.
pub fn in_green_thread() -> bool {
    context::in_green_thread()
}
